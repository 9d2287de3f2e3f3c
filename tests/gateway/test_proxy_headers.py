"""``milesgate serve`` behind a proxy: the per-IP limits count the client named by ``X-Forwarded-For`` when the
connection comes from a trusted proxy (``--forwarded-allow-ips`` / ``MILESGATE_FORWARDED_ALLOW_IPS``, handed
to uvicorn's proxy headers support), and ignore the header from any other address.

The served process runs embedded on the test's own data directory; the test connects from 127.0.0.1, which
is the trusted proxy in one case and not in the other.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest

from tests.factories import TEST_SECRET
from tests.support import deadline_s, seed_embedded_db, wait_for_sync

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0
PER_IP = 2
QUERY = {"query": "{ __typename }"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _served(data_dir: Path, log: Path, *, option: list[str], variables: dict[str, str]) -> Iterator[str]:
    """``milesgate serve`` on a loopback port with a per-IP limit of ``PER_IP``; yields its base URL."""
    seed_embedded_db(data_dir)
    port = _free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("MILESGATE_")}
    env.pop("FORWARDED_ALLOW_IPS", None)  # uvicorn's own variable: only ours counts here
    env |= {
        "PYTHONPATH": str(ROOT),
        "MILESGATE_DATA_DIR": str(data_dir),
        "MILESGATE_SECRET_KEY": TEST_SECRET,
        "MILESGATE_RATE_LIMIT_PER_IP": str(PER_IP),
        **variables,
    }
    command = [sys.executable, "-m", "gateway.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as output:
        process = subprocess.Popen([*command, *option], cwd=ROOT, env=env, stdout=output, stderr=output)
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            pytest.fail(f"serve exited: {log.read_text()[-3000:]}")
        try:
            return httpx2.get(f"{base}/healthz", timeout=deadline_s(2)).status_code == 200
        except httpx2.TransportError:
            return False

    try:
        wait_for_sync(ready, timeout_s=START_TIMEOUT_S, interval_s=0.2, what=f"serve at {base} starts")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=deadline_s(15))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _statuses(base: str, clients: list[str]) -> list[int]:
    with httpx2.Client(base_url=base, timeout=deadline_s(10)) as http:
        return [
            http.post("/graphql", json=QUERY, headers={"x-forwarded-for": client}).status_code
            for client in clients
        ]


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(tmp_path: Path) -> None:
    # given: this test's address is the trusted proxy, named on the command line
    with _served(
        tmp_path / "data", tmp_path / "serve.log", option=["--forwarded-allow-ips", "127.0.0.1"], variables={}
    ) as base:
        # when: one client uses up its limit, then another comes through the same proxy
        statuses = _statuses(base, ["203.0.113.7"] * (PER_IP + 1) + ["203.0.113.8"])

    # then
    assert statuses == [200] * PER_IP + [429, 200]


def test_from_an_untrusted_address_the_forwarded_header_is_ignored(tmp_path: Path) -> None:
    # given: only another address is a trusted proxy (from the setting)
    variables = {"MILESGATE_FORWARDED_ALLOW_IPS": "192.0.2.10"}
    with _served(tmp_path / "data", tmp_path / "serve.log", option=[], variables=variables) as base:
        # when: every request claims to be another client
        statuses = _statuses(base, [f"203.0.113.{n}" for n in range(PER_IP + 1)])

    # then: all count against the connection's own address
    assert statuses == [200] * PER_IP + [429]
