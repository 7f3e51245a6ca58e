"""The SSRF guard's address rules: what counts as a public internet address."""

import ipaddress

import pytest

from wallet.security.egress import EgressPolicy, TargetRefused, is_public

NOT_PUBLIC = [
    "127.0.0.1",  # loopback
    "127.9.9.9",
    "::1",
    "0.0.0.0",  # unspecified
    "::",
    "10.1.2.3",  # RFC 1918
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.10",
    "169.254.169.254",  # link-local; cloud metadata
    "169.254.1.1",
    "fe80::1",
    "100.64.0.1",  # CGNAT
    "100.100.100.200",  # Alibaba metadata, inside CGNAT
    "fc00::1",  # unique local (ULA)
    "fd00:ec2::254",  # AWS metadata over IPv6
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "ff02::1",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.0.192",  # IETF protocol assignments; Oracle metadata
    "198.18.0.1",  # benchmarking
    "192.0.2.1",  # documentation
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
]
PUBLIC = ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001::200e"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))
    assert not EgressPolicy().allows(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_an_ipv4_mapped_address_is_refused_even_for_a_public_ipv4() -> None:
    # No real host publishes one in DNS; refusing them all is simpler than trusting any.
    assert not is_public(ipaddress.ip_address("::ffff:8.8.8.8"))


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254", "100.100.100.200"]
)
def test_metadata_stays_refused_when_private_targets_are_allowed(address: str) -> None:
    policy = EgressPolicy(allow_private=True)
    assert policy.allows(ipaddress.ip_address("127.0.0.1"))
    assert not policy.allows(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://shop.example/hooks", "HTTPS_REQUIRED"),
        ("file:///etc/passwd", "HTTPS_REQUIRED"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "HTTPS_REQUIRED"),
        ("https://", "INVALID"),
        ("https://shop.example:99999/", "INVALID"),
        ("https://shop.example/" + "a" * 500, "INVALID"),
    ],
)
def test_urls_that_are_not_http_are_refused(url: str, code: str) -> None:
    with pytest.raises(TargetRefused) as refused:
        EgressPolicy().split(url)
    assert refused.value.code == code


def test_production_refuses_plain_http() -> None:
    with pytest.raises(TargetRefused) as refused:
        EgressPolicy(require_https=True).split("http://shop.example/hooks")
    assert refused.value.code == "HTTPS_REQUIRED"
    assert EgressPolicy(require_https=True).split("https://shop.example/hooks") == (
        "shop.example",
        443,
    )
