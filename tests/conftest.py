"""Fixtures: a settings object per test on the chosen stack, the app with its lifespan, a client.

``MILESGATE_TEST_STACK=embedded`` (default) runs the app on a fresh SQLite file with in-process
backends; ``production`` runs it on PostgreSQL and Redis, with tables emptied before each test.
Tests that must have PostgreSQL whatever the stack use the ``postgres_settings`` fixture.
"""

from __future__ import annotations

import os

# pytest-xdist's workers start with COLUMNS=80 in their environment, and a rich Console fixes its width from
# COLUMNS when it is built (at import). Without it, the CLI's consoles read COLUMNS when they print, so the
# CLI tests' own COLUMNS (CliRunner's env) applies on one process and on many alike.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

# The suite hashes thousands of PINs and passwords and proves nothing about argon2's cost: it hashes at
# argon2's cheapest cost (MILESGATE_SECRET_HASH_*, read by every process it starts, served ones included).
# A test of the production cost asks for the ``production_hash_cost`` fixture.
os.environ["MILESGATE_SECRET_HASH_TIME_COST"] = "1"
os.environ["MILESGATE_SECRET_HASH_MEMORY_KIB"] = "8"
os.environ["MILESGATE_SECRET_HASH_PARALLELISM"] = "1"

# MILESGATE_TEST_REDIS_CLUSTER=1 (.ci/run's Redis Cluster part): this process starts a Redis Cluster of three
# masters on free loopback ports and runs the Redis tests on it; every Redis URL of the tests names it, and
# MILESGATE_REDIS_CLUSTER=true reaches the app under test and every process the tests start.
if os.environ.get("MILESGATE_TEST_REDIS_CLUSTER") == "1":
    import atexit

    from tests.redis_cluster import RedisClusterServers

    _cluster = RedisClusterServers().start()
    atexit.register(_cluster.stop)
    os.environ["MILESGATE_TEST_REDIS_URL"] = os.environ["MILESGATE_TEST_APP_REDIS_URL"] = _cluster.url
    os.environ["MILESGATE_REDIS_CLUSTER"] = "true"

import asyncio
import datetime as dt
import functools
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import argon2
import asyncpg
import pytest
from asgi_lifespan import LifespanManager
from httpx2 import ASGITransport, AsyncClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from starlette.applications import Starlette
from tortoise.backends.base.executor import EXECUTOR_CACHE

from gateway.db import apply_migrations, close_database, open_database
from gateway.settings import Settings
from loyalty.members.pins import HashCost, hash_cost, use_hash_cost
from tests.factories import TEST_SECRET
from tests.support import (
    APP_REDIS_URL,
    POSTGRES_TEMPLATE,
    POSTGRES_URL,
    REDIS_PREFIX,
    STACK,
    clear_redis,
    deadline_s,
    require_service,
    seed_embedded_db,
)

# Property tests judge their examples, not the machine's speed: no per-example deadline and no "too slow"
# health check, which a loaded CI machine (or a second suite beside this one) would trip.
hypothesis_settings.register_profile("milesgate", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("milesgate")

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _asyncpg_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


async def _foreign_migrations(url: str) -> set[str]:
    """Migrations recorded in the database that this checkout does not have."""
    connection = await asyncpg.connect(_asyncpg_url(url), timeout=5)
    try:
        if not await connection.fetchval("SELECT to_regclass('tortoise_migrations') IS NOT NULL"):
            return set()
        applied = {str(row[0]) for row in await connection.fetch("SELECT name FROM tortoise_migrations")}
    finally:
        await connection.close()
    return applied - {path.stem for path in MIGRATIONS_DIR.glob("0*.py")}


async def _prepare_postgres(url: str) -> None:
    """Give this worker a fresh database copied from the checkout's migrated template.

    The template is migrated once (under an advisory lock: xdist workers start together) and copied with
    ``CREATE DATABASE ... TEMPLATE``, which takes a fraction of a second where migrating takes seconds.
    """
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    template_url = urlunsplit((parts.scheme, parts.netloc, f"/{POSTGRES_TEMPLATE}", "", ""))
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    connection = await asyncpg.connect(_asyncpg_url(admin), timeout=5)
    try:
        await connection.execute("SELECT pg_advisory_lock(hashtext($1))", POSTGRES_TEMPLATE)
        try:
            exists = await connection.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", POSTGRES_TEMPLATE
            )
            if exists and await _foreign_migrations(template_url):
                # Left by a branch with other migrations: start from scratch rather than fail on its tables.
                await connection.execute(f'DROP DATABASE "{POSTGRES_TEMPLATE}" WITH (FORCE)')
                exists = None
            if not exists:
                await connection.execute(f'CREATE DATABASE "{POSTGRES_TEMPLATE}"')
            await apply_migrations(Settings(database_url=template_url, secret_key=TEST_SECRET))
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{POSTGRES_TEMPLATE}"')
        finally:
            await connection.execute("SELECT pg_advisory_unlock(hashtext($1))", POSTGRES_TEMPLATE)
    finally:
        await connection.close()


async def _drop_database(url: str) -> None:
    parts = urlsplit(url)
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    connection = await asyncpg.connect(_asyncpg_url(admin), timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
    finally:
        await connection.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked slow run first (the sort is stable: the rest keep their order). With xdist's worksteal
    a worker that runs dry takes short tests from the other's queue; a long test left for the end could
    not be shared, and the run would wait on it alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def postgres_ready() -> Iterator[str]:
    # A thread of its own: this session fixture may first be asked for inside a running event loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            pool.submit(asyncio.run, _prepare_postgres(POSTGRES_URL)).result()
        except (OSError, asyncpg.PostgresError) as exc:
            require_service("PostgreSQL", exc)
    yield POSTGRES_URL
    # The worker's copy goes with the run (the template stays for the next one).
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _drop_database(POSTGRES_URL)).result()


async def _truncate_all(url: str) -> None:
    connection = await asyncpg.connect(_asyncpg_url(url), timeout=5)
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename <> 'tortoise_migrations'"
        )
        if tables:
            names = ", ".join(f'"{row["tablename"]}"' for row in tables)
            await connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()


@pytest.fixture
def now() -> dt.datetime:
    """The test's own time, taken when it starts: a module constant taken at import goes stale when the suite
    runs long or crosses midnight UTC. Pass it as ``now=`` where the code under test takes a clock."""
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def today(now: dt.datetime) -> dt.date:
    """The test's own date (UTC), for data the running application compares with its own clock."""
    return now.date()


@pytest.fixture
async def postgres_settings(postgres_ready: str, tmp_path: Path) -> Settings:
    """Settings on PostgreSQL, whatever the stack: for tests of locking and concurrency."""
    await _truncate_all(postgres_ready)
    return Settings(database_url=postgres_ready, data_dir=tmp_path, secret_key=TEST_SECRET)


@pytest.fixture
async def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if STACK == "embedded":
        seed_embedded_db(tmp_path)
        return Settings(data_dir=tmp_path, secret_key=TEST_SECRET)
    url: str = request.getfixturevalue("postgres_ready")
    await _truncate_all(url)
    try:
        await clear_redis()
    except OSError as exc:
        require_service("Redis", exc)
    return Settings(
        database_url=url,
        redis_url=APP_REDIS_URL,
        redis_prefix=REDIS_PREFIX,
        data_dir=tmp_path,
        secret_key=TEST_SECRET,
        run_worker_in_process=True,
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Settings]:
    """The ORM open on the stack's database, for service-level tests without HTTP."""
    if settings.database_url is None:
        await apply_migrations(settings)
    await open_database(settings)
    try:
        yield settings
    finally:
        await close_database()


@pytest.fixture
async def pg_db(postgres_settings: Settings) -> AsyncIterator[Settings]:
    await open_database(postgres_settings)
    try:
        yield postgres_settings
    finally:
        await close_database()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    from gateway.app import create_app

    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


def _never_on_the_loop(method: Callable[..., object]) -> Callable[..., object]:
    """``method`` of argon2's ``PasswordHasher``, failing when the service's code calls it on a thread that
    runs an event loop: hashing blocks for tens of milliseconds, during which the loop would answer nobody.
    Test code may hash on the loop (to make fixtures); the service's code goes through
    ``loyalty.members.pins.off_the_loop``."""

    @functools.wraps(method)
    def guarded(self: argon2.PasswordHasher, *args: object, **kwargs: object) -> object:
        caller = str(sys._getframe(1).f_globals.get("__name__", ""))
        if not caller.startswith("tests"):
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                pass  # a hashing thread, or synchronous code without a loop
            else:
                raise AssertionError(f"argon2 {method.__name__} ran on the event loop, called from {caller}")
        return method(self, *args, **kwargs)

    return guarded


@pytest.fixture(autouse=True, scope="session")
def _argon2_never_on_the_loop() -> Iterator[None]:
    """Every hash and verification the suite makes (sign-in, enrolment, resets, PIN and password changes,
    recovery codes) is checked to run off the event loop."""
    originals = {name: getattr(argon2.PasswordHasher, name) for name in ("hash", "verify")}
    for name, method in originals.items():
        setattr(argon2.PasswordHasher, name, _never_on_the_loop(method))
    yield
    for name, method in originals.items():
        setattr(argon2.PasswordHasher, name, method)


@pytest.fixture(params=[True, False], ids=["fast-path", "stock"])
def graphql_fast_path(request: pytest.FixtureRequest) -> bool:
    """Both ways of serving GraphQL: through ``gateway/graphql/engine`` and with Strawberry's stock
    execution (``MILESGATE_GRAPHQL_FAST_PATH``). A test module runs both ways by overriding its
    ``settings`` fixture with one that asks for this one."""
    return bool(request.param)


@pytest.fixture
def production_hash_cost(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The default cost (OWASP's), as a process without MILESGATE_SECRET_HASH_* runs: tests of hash time."""
    for name in ("TIME_COST", "MEMORY_KIB", "PARALLELISM"):
        monkeypatch.delenv(f"MILESGATE_SECRET_HASH_{name}")
    previous = hash_cost()
    use_hash_cost(HashCost())
    yield
    use_hash_cost(previous)


@pytest.fixture(autouse=True)
def _fresh_executor_cache() -> None:
    """Tortoise caches insert SQL per connection name, not per dialect; tests switch SQLite/PostgreSQL."""
    EXECUTOR_CACHE.clear()


@pytest.fixture(autouse=True)
def _no_env_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings in tests come from fixtures, never from the developer's shell."""
    for name in (
        "MILESGATE_DATABASE_URL",
        "MILESGATE_REDIS_URL",
        "MILESGATE_REDIS_PREFIX",
        "MILESGATE_ENV",
        "MILESGATE_SECRET_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
