"""`wallet keys rotate`: every encrypted field ends up under the new current key."""

import base64
from datetime import date

import pytest

from tests.factories import make_user
from wallet.db.engine import connection
from wallet.kyc import service as kyc
from wallet.kyc.identity import DocumentDetails, PersonDetails, SandboxIdentityProvider
from wallet.security import rotation, totp
from wallet.security.crypto import DecryptionError, Keyring
from wallet.security.keys import keyring

pytestmark = pytest.mark.usefixtures("database_url")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x07" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x08" * 32


async def encrypted_values() -> list[str]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT secret AS v FROM user_totp UNION ALL "
            "SELECT unnest(ARRAY[legal_name, date_of_birth, address, document_number]) "
            "FROM kyc_profile UNION ALL SELECT content FROM kyc_document"
        )
    return [r["v"] for r in rows]


async def test_rotation_re_encrypts_everything_once_and_keeps_the_plaintext() -> None:
    user = await make_user()
    await totp.start_enrolment(user.id, user.email)
    provider = SandboxIdentityProvider()
    person = PersonDetails("Grace Hopper", date(1986, 12, 9), "1 Navy Way, Arlington", "US")
    await kyc.submit_identity(user.id, person, provider, date(2026, 1, 1))
    await kyc.submit_documents(
        user.id,
        DocumentDetails("passport", "P7654321", ""),
        kyc.UploadedFile("image/png", PNG),
        kyc.UploadedFile("image/jpeg", JPEG),
        provider,
    )
    before = await encrypted_values()
    assert len(before) == 7 and all(v.startswith(f"v1.{keyring().current}.") for v in before)

    old = keyring()
    new_entry = Keyring.new_key_entry("k2")
    old_entries = ",".join(
        f"{k}:{base64.urlsafe_b64encode(v).decode()}" for k, v in old.keys.items()
    )
    rotated = Keyring.parse(f"{new_entry},{old_entries}")
    counts = await rotation.rotate(batch=2, ring=rotated)
    assert counts["kyc_profile.legal_name"] == 1 and counts["kyc_document.content"] == 2
    assert sum(counts.values()) == 7
    after = await encrypted_values()
    assert all(v.startswith("v1.k2.") for v in after)
    assert sum((await rotation.rotate(ring=rotated)).values()) == 0  # nothing left to do

    async with connection() as conn:
        name = await conn.fetchval("SELECT legal_name FROM kyc_profile WHERE user_id = $1", user.id)
        document = await conn.fetchrow(
            "SELECT review_id, content FROM kyc_document WHERE kind = 'id_document'"
        )
    assert rotated.decrypt(name, f"kyc:{user.id}:legal_name") == "Grace Hopper"
    context = f"kyc:{user.id}:document:{document['review_id']}:id_document"
    assert base64.b64decode(rotated.decrypt(document["content"], context)) == PNG
    with pytest.raises(DecryptionError):
        old.decrypt(name, f"kyc:{user.id}:legal_name")  # the old key alone no longer reads it
