"""Fixtures: a settings object per test on the chosen stack, the app with its lifespan, a client.

``MILESGATE_TEST_STACK=embedded`` (default) runs the app on a fresh SQLite file with in-process
backends; ``production`` runs it on PostgreSQL and Redis, with tables emptied before each test.
Tests that must have PostgreSQL whatever the stack use the ``postgres_settings`` fixture.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from asgi_lifespan import LifespanManager
from httpx2 import ASGITransport, AsyncClient
from redis.asyncio import Redis
from starlette.applications import Starlette
from tortoise.backends.base.executor import EXECUTOR_CACHE

from gateway.db import apply_migrations, close_database, open_database
from gateway.settings import Settings
from tests.factories import TEST_SECRET
from tests.support import APP_REDIS_URL, POSTGRES_URL, STACK, require_service, seed_embedded_db

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


async def _foreign_migrations(url: str) -> set[str]:
    """Migrations recorded in the database that this checkout does not have."""
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=5)
    try:
        if not await connection.fetchval("SELECT to_regclass('tortoise_migrations') IS NOT NULL"):
            return set()
        applied = {str(row[0]) for row in await connection.fetch("SELECT name FROM tortoise_migrations")}
    finally:
        await connection.close()
    return applied - {path.stem for path in MIGRATIONS_DIR.glob("0*.py")}


async def _prepare_postgres(url: str) -> None:
    """Create the test database if needed and bring its schema up to date."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    connection = await asyncpg.connect(admin.replace("postgres://", "postgresql://", 1), timeout=5)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and await _foreign_migrations(url):
            # Left by a branch with other migrations: start from scratch rather than fail on its tables.
            await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    settings = Settings(database_url=url, secret_key=TEST_SECRET)
    await apply_migrations(settings)


@pytest.fixture(scope="session")
def postgres_ready() -> str:
    # A thread of its own: this session fixture may first be asked for inside a running event loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            pool.submit(asyncio.run, _prepare_postgres(POSTGRES_URL)).result()
        except (OSError, asyncpg.PostgresError) as exc:
            require_service("PostgreSQL", exc)
    return POSTGRES_URL


async def _truncate_all(url: str) -> None:
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=5)
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


async def _flush_redis(url: str) -> None:
    client = Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


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
        await _flush_redis(APP_REDIS_URL)
    except OSError as exc:
        require_service("Redis", exc)
    return Settings(
        database_url=url,
        redis_url=APP_REDIS_URL,
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
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


@pytest.fixture(autouse=True)
def _fresh_executor_cache() -> None:
    """Tortoise caches insert SQL per connection name, not per dialect; tests switch SQLite/PostgreSQL."""
    EXECUTOR_CACHE.clear()


@pytest.fixture(autouse=True)
def _no_env_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings in tests come from fixtures, never from the developer's shell."""
    for name in ("MILESGATE_DATABASE_URL", "MILESGATE_REDIS_URL", "MILESGATE_ENV", "MILESGATE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
