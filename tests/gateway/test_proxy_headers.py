"""``milesgate serve`` behind a proxy: the per-IP limits count the client named by ``X-Forwarded-For`` when the
connection comes from a trusted proxy (``--forwarded-allow-ips`` / ``MILESGATE_FORWARDED_ALLOW_IPS``, handed
to uvicorn's proxy headers support), and ignore the header from any other address.

The served process runs embedded on the test's own data directory; the test connects from 127.0.0.1, which
is the trusted proxy in one case and not in the other.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

from tests.factories import TEST_SECRET
from tests.support import deadline_s, free_port, seed_embedded_db, served_process

ROOT = Path(__file__).resolve().parents[2]
PER_IP = 2
QUERY = {"query": "{ __typename }"}


@contextmanager
def _served(data_dir: Path, log: Path, *, option: list[str], variables: dict[str, str]) -> Iterator[str]:
    """``milesgate serve`` on a loopback port with a per-IP limit of ``PER_IP``; yields its base URL."""
    seed_embedded_db(data_dir)
    port = free_port()
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
    with served_process(
        [*command, *option], port=port, env=env, log=log, ready_path="/healthz", cwd=ROOT
    ) as base:
        yield base


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
