"""`wallet serve` with several uvicorn processes: /metrics adds up what every process
counted (prometheus-client's multiprocess mode), whichever process answers the scrape."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from wallet.config import REPO_ROOT

TOKEN = "multiprocess-test-token"
REQUESTS = 24


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _count(page: str, series: str) -> float:
    for line in page.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def test_metrics_add_up_across_the_servers_processes(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_99999.db").write_bytes(b"stale file from an earlier run")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WEB_CONCURRENCY": "2",
        "WALLET_DATA_DIR": str(tmp_path),
        "WALLET_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "WALLET_FRONTEND_DIST": str(tmp_path / "no-web-app"),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "wallet.cli", "serve", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, server)
        for _ in range(REQUESTS):
            # A new connection each: the kernel hands them to either process.
            with httpx.Client(base_url=url) as http:
                answer = http.post("/graphql", json={"query": "{ __typename }"})
                assert answer.json() == {"data": {"__typename": "Query"}}
        with httpx.Client(base_url=url) as http:
            pages = [
                http.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"}).text
                for _ in range(4)
            ]
        writers = {f.stem.rsplit("_", 1)[-1] for f in metrics_dir.glob("gauge_livesum_*.db")}
    finally:
        server.terminate()
        server.wait(timeout=20)
    series = 'wallet_graphql_operation_seconds_count{operation="unknown",type="query"}'
    # Every scrape sees all the requests, whichever process served them or the scrape.
    assert [_count(page, series) for page in pages] == [REQUESTS] * 4
    # Each serving process writes its own pool gauge (at least one connection each):
    # the scrape sums them, so it reads at least two. A serving process that stops takes
    # its live gauges out of the sum (uvicorn's supervisor writes a file too: it imported
    # the app, and serves nothing).
    assert len(writers) >= 2, writers
    assert all(_count(page, 'wallet_db_pool_connections{state="size"}') >= 2 for page in pages)
    left = {f.stem.rsplit("_", 1)[-1] for f in metrics_dir.glob("gauge_livesum_*.db")}
    assert len(writers - left) >= 2, (writers, left)


def _wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(server.stderr.read().decode()[-3000:] if server.stderr else "")
        try:
            if httpx.get(f"{url}/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("wallet serve did not become ready")
