"""Test helpers shared by every test package: service checks, stacks, signed deliveries."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import hashlib
import inspect
import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import httpx2
import orjson
import pytest
from redis.asyncio import Redis, RedisCluster
from svix.webhooks import Webhook

from gateway.db import apply_migrations, close_database, open_database
from gateway.settings import Settings

T = TypeVar("T")

STACK = os.environ.get("MILESGATE_TEST_STACK", "embedded")
if STACK not in {"embedded", "production"}:
    raise RuntimeError("MILESGATE_TEST_STACK is 'embedded' or 'production'")

# One test database and one Redis key prefix per checkout, per stack and per xdist worker, so two
# checkouts on one machine (worktrees, CI clones), the two stacks' suites running side by side (.ci/run)
# and the workers of one run never empty or rebuild each other's data in the middle of a run.
_CHECKOUT = hashlib.sha256(str(Path(__file__).resolve().parent.parent).encode()).hexdigest()[:8]
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
RUN_ID = f"{_CHECKOUT}_{STACK}_{_WORKER}"
POSTGRES_URL = os.environ.get(
    "MILESGATE_TEST_POSTGRES_URL", f"postgres://postgres@127.0.0.1:5432/milesgate_test_{RUN_ID}"
)
# The migrated database each worker's database is copied from (CREATE DATABASE ... TEMPLATE).
POSTGRES_TEMPLATE = f"milesgate_test_{_CHECKOUT}_template"
REDIS_URL = os.environ.get("MILESGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
APP_REDIS_URL = os.environ.get("MILESGATE_TEST_APP_REDIS_URL", "redis://127.0.0.1:6379/14")
# Every key, stream and channel the app under test uses in Redis starts with this (MILESGATE_REDIS_PREFIX).
REDIS_PREFIX = f"mgtest:{RUN_ID}:"
# MILESGATE_TEST_REDIS_CLUSTER=1: both URLs name a Redis Cluster that tests/conftest.py started, and
# MILESGATE_REDIS_CLUSTER=true is set for the app under test and every process the tests start.
REDIS_CLUSTER = os.environ.get("MILESGATE_TEST_REDIS_CLUSTER") == "1"


def redis_client(url: str, **options: Any) -> Redis | RedisCluster:
    """A client of the tests' Redis, or of their Redis Cluster in cluster mode (keys routed by slot)."""
    if REDIS_CLUSTER:
        return RedisCluster.from_url(url, **options)
    return Redis.from_url(url, **options)


async def clear_redis(url: str = APP_REDIS_URL, prefix: str = REDIS_PREFIX) -> None:
    """Remove this run's keys from Redis (what FLUSHDB did, without touching other runs' keys); on a
    cluster, from every master."""
    client = redis_client(url)
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                await client.unlink(*batch)
                batch.clear()
        if batch:
            await client.unlink(*batch)
    finally:
        await client.aclose()


PRODUCTION_MAIL_ENV = {
    "MILESGATE_SMTP_HOST": "127.0.0.1",
    "MILESGATE_SMTP_PORT": "9",
    "MILESGATE_SMTP_TLS": "none",
    "MILESGATE_SMTP_FROM": "no-reply@example.com",
}
"""Production refuses the development file sink: its tests name a mail server (nothing listens on that
port, so a message they make waits for its retries; tests of e-mail start their own server)."""
PRODUCTION_MAIL: dict[str, Any] = {
    name.removeprefix("MILESGATE_").lower(): value for name, value in PRODUCTION_MAIL_ENV.items()
}
"""The same, as ``Settings`` keyword arguments."""


# Deadlines of tests that wait for another task or process, stretched on a slow or loaded machine
# (MILESGATE_TEST_TIMEOUT_SCALE=3 makes every such deadline three times as long). A deadline only bounds
# how long a failing test takes to fail: a passing one goes on as soon as its condition holds.
TIMEOUT_SCALE = float(os.environ.get("MILESGATE_TEST_TIMEOUT_SCALE", "1") or "1")


def deadline_s(seconds: float) -> float:
    """``seconds`` stretched by ``MILESGATE_TEST_TIMEOUT_SCALE``."""
    return seconds * max(TIMEOUT_SCALE, 1.0)


async def wait_for(
    condition: Callable[[], Awaitable[object] | object],
    *,
    timeout_s: float = 10.0,
    interval_s: float = 0.05,
    what: str = "the condition",
) -> None:
    """Poll ``condition`` (sync or async) until it is truthy; fail after the stretched deadline."""
    loop = asyncio.get_running_loop()
    limit = deadline_s(timeout_s)
    deadline = loop.time() + limit
    while True:
        outcome = condition()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if loop.time() > deadline:
            pytest.fail(f"{what}: not reached within {limit:.0f} s")
        await asyncio.sleep(interval_s)


def wait_for_sync(
    condition: Callable[[], object],
    *,
    timeout_s: float = 10.0,
    interval_s: float = 0.05,
    what: str = "the condition",
) -> None:
    """``wait_for`` for code outside an event loop (threads, subprocess tests)."""
    limit = deadline_s(timeout_s)
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached within {limit:.0f} s")
        time.sleep(interval_s)


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def require_service(name: str, exc: BaseException) -> NoReturn:
    """A missing service fails the run in CI and skips the test on a developer's machine."""
    message = f"{name} is unreachable ({type(exc).__name__}: {exc})"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def signed_delivery(
    secret: str,
    event: dict[str, object],
    *,
    webhook_id: str | None = None,
    timestamp: dt.datetime | None = None,
    svix_names: bool = False,
) -> tuple[bytes, dict[str, str]]:
    """A Standard Webhooks delivery signed with ``secret``, as a partner would send it."""
    body = orjson.dumps(event)
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    timestamp = timestamp or dt.datetime.now(dt.UTC)
    signature = Webhook(secret).sign(webhook_id, timestamp, body.decode())
    prefix = "svix" if svix_names else "webhook"
    headers = {
        f"{prefix}-id": webhook_id,
        f"{prefix}-timestamp": str(int(timestamp.timestamp())),
        f"{prefix}-signature": signature,
        "content-type": "application/json",
    }
    return body, headers


def collapse(output: str) -> str:
    """CLI output with whitespace runs collapsed (Rich may wrap or pad)."""
    return " ".join(output.split())


_TEMPLATE: list[Path] = []
_TEMPLATE_LOCK = threading.Lock()
SQLITE_FILE = "milesgate.sqlite3"


def _template() -> Path:
    """A SQLite file with every migration applied, made once per test process."""
    with _TEMPLATE_LOCK:
        if not _TEMPLATE:
            folder = Path(tempfile.mkdtemp(prefix="milesgate-template-"))
            settings = Settings(data_dir=folder, secret_key="template-" + "x" * 56)
            # A thread of its own: this may be asked for inside a running event loop.
            with ThreadPoolExecutor(max_workers=1) as pool:
                pool.submit(asyncio.run, apply_migrations(settings)).result()
            _TEMPLATE.append(folder / SQLITE_FILE)
        return _TEMPLATE[0]


def seed_embedded_db(data_dir: Path) -> None:
    """Give ``data_dir`` a migrated SQLite database by copying the template (migrating anew takes
    seconds a test; the migrations themselves are tested in ``tests/test_migrations.py``)."""
    target = data_dir / SQLITE_FILE
    if not target.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_template(), target)


def in_embedded_db(data_dir: Path, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` against the SQLite database of a CLI run in ``data_dir`` (migrated if new)."""
    seed_embedded_db(data_dir)

    async def _run() -> T:
        settings = Settings(data_dir=data_dir)
        await apply_migrations(settings)
        await open_database(settings)
        try:
            return await work()
        finally:
            await close_database()

    return asyncio.run(_run())


_counting: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("counting", default=None)


class _StatementLog(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        seen = _counting.get()
        if seen is not None:
            seen.append(record.getMessage())


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements the database client sends inside the block (this task and its children)."""
    logger = logging.getLogger("tortoise.db_client")
    handler, level = _StatementLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    seen: list[str] = []
    token = _counting.set(seen)
    try:
        yield seen
    finally:
        _counting.reset(token)
        logger.removeHandler(handler)
        logger.setLevel(level)


_SELECTED_FROM_MEMBERS = re.compile(r'SELECT (?P<columns>.*?) FROM "members"')


def _is_session_check(statement: str) -> bool:
    """Whether ``statement`` selects exactly a member's id and session generation (in either order: the
    ORM's column order may follow a set's, which changes with the process's hash seed)."""
    selected = _SELECTED_FROM_MEMBERS.match(statement)
    return selected is not None and set(re.findall(r'"(\w+)"', selected["columns"])) == {
        "id",
        "session_generation",
    }


def without_session_check(statements: list[str]) -> list[str]:
    """A request's SQL statements but the session check's: ``gateway/session_generations.py`` reads the
    member's session generation when its caches (together at most 1 s, the revocation delay) have run
    out. One such statement at most per request; it is the gateway's, not the fields'."""
    session = [statement for statement in statements if _is_session_check(statement)]
    assert len(session) <= 1, session
    return [statement for statement in statements if statement not in session]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def served_process(
    command: list[str], *, port: int, env: dict[str, str], log: Path, ready_path: str, cwd: Path
) -> Iterator[str]:
    """A server process started with ``command`` (its output in ``log``), waited for until ``ready_path``
    answers 200 on ``port``; yields its base URL and stops it afterwards."""
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=output)
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            pytest.fail(f"{command[2:4]} exited: {log.read_text()[-3000:]}")
        try:
            return httpx2.get(f"{base}{ready_path}", timeout=deadline_s(2)).status_code == 200
        except httpx2.TransportError:
            return False

    try:
        wait_for_sync(ready, timeout_s=SERVER_START_TIMEOUT_S, interval_s=0.2, what=f"{base} starts")
        yield base
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[Any], *, timeout_s: float = 15) -> None:
    """SIGTERM, then SIGKILL if it has not ended within ``timeout_s`` (scaled); nothing if it has ended."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=deadline_s(timeout_s))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


SERVER_START_TIMEOUT_S = 30.0
