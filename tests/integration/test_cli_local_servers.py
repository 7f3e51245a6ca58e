"""Issue 18, item 4: every `wallet` command works against the embedded servers that
`make dev` started, from a second shell while it runs, and on its own without it (it
then starts them on the data dir itself). Before, `wallet ledger check` said
"DATABASE_URL and REDIS_URL must be set"."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx

from tests.graphql_client import LOG_IN, gql
from wallet.config import REPO_ROOT
from wallet.db.embedded import ENDPOINTS_FILE
from wallet.seed import DEMO_PASSWORD


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shell_env(data_dir: Path, anchors: Path) -> dict[str, str]:
    """A developer's shell: no server URLs, only the data dir (and free ports)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "WALLET_MIGRATION_DATABASE_URL"}
    }
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        WALLET_DATA_DIR=str(data_dir),
        WALLET_AUDIT_ANCHOR_DIR=str(anchors),
        WALLET_GATEWAY_TOKENIZE_URL=f"http://127.0.0.1:{free_port()}/v1/tokens",
        WALLET_SMTP_PORT=str(free_port()),
    )
    return env


async def wallet(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wallet.cli",
        *args,
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=240)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def test_every_command_works_beside_a_running_wallet_dev_and_without_it(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    env = shell_env(data_dir, tmp_path / "anchors")
    port = free_port()
    dev = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wallet.cli",
        "dev",
        "--no-seed",
        "--port",
        str(port),
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    banner: list[str] = []
    try:
        assert dev.stdout is not None
        while not any("Ctrl-C stops everything" in line for line in banner):
            line = await asyncio.wait_for(dev.stdout.readline(), timeout=240)
            assert line, "wallet dev exited:\n" + "".join(banner)
            banner.append(line.decode(errors="replace"))
        drain = asyncio.create_task(dev.stdout.read())
        # Item 6 too: the address to open is localhost (passkeys refuse an IP address).
        assert f"Wallet is running at http://localhost:{port}/" in "".join(banner)
        assert (data_dir / ENDPOINTS_FILE).exists()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            for _ in range(300):
                try:
                    if (await http.get("/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)

            # A second shell, while `wallet dev` runs.
            for args, said in (
                (("ledger", "check"), "ledger OK"),
                (("audit", "verify"), "audit chain intact"),
                (("keys", "rotate"), ""),
                (("migrate",), "migrations applied"),
                (("seed",), "demo data present"),
            ):
                code, output = await wallet(env, *args)
                assert code == 0 and said in output, (args, output)
            # `wallet seed` wrote to the database the running API uses.
            signed_in = await gql(
                http, LOG_IN, {"input": {"login": "alice", "password": DEMO_PASSWORD}}
            )
            assert signed_in["data"]["logIn"]["__typename"] == "AuthPayload", signed_in
    finally:
        if dev.returncode is None:
            dev.send_signal(signal.SIGINT)
        await asyncio.wait_for(dev.wait(), timeout=60)
    await drain
    assert not (data_dir / ENDPOINTS_FILE).exists()
    assert not (data_dir / "postgres" / "postmaster.pid").exists()

    # No `wallet dev`: the command starts the embedded servers, and stops them after.
    code, output = await wallet(env, "ledger", "check")
    assert code == 0 and "ledger OK" in output, output
    code, output = await wallet(env, "audit", "verify")
    assert code == 0 and "audit chain intact" in output, output
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
