"""The committed migrations describe the models exactly: a model change without a migration fails here."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from tortoise import Tortoise
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate
from tortoise.migrations.autodetector import MigrationAutodetector

from gateway.db import APP_LABEL, tortoise_config
from gateway.settings import Settings
from tests.support import RUN_ID


async def test_models_and_migrations_agree(tmp_path: Path) -> None:
    config = tortoise_config(Settings(data_dir=tmp_path))
    async with TortoiseContext() as ctx:
        await ctx.init(config=config, init_connections=False)
        assert ctx.apps is not None
        autodetector = MigrationAutodetector(ctx.apps, {APP_LABEL: config["apps"][APP_LABEL]})
        pending = await autodetector.changes()
    assert [writer.name for writer in pending] == []


@pytest.mark.postgres
@pytest.mark.slow
async def test_upgrading_a_database_with_members_keeps_them(postgres_ready: str) -> None:
    """Each migration applies to a database holding data (NOT NULL columns need database defaults)."""
    # A database of this checkout and worker's own: clones running side by side never share it.
    name = f"milesgate_upgrade_{RUN_ID}"
    url = postgres_ready.rsplit("/", 1)[0] + f"/{name}"
    admin = await asyncpg.connect(
        postgres_ready.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    config = tortoise_config(Settings(database_url=url, secret_key="u" * 48))
    await migrate(config=config, target=f"{APP_LABEL}.0001_initial")
    await Tortoise.close_connections()
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        await connection.execute(
            "INSERT INTO members (account_number, given_name, family_name, date_of_birth, country, language,"
            " pin_hash, tier, advertising_consent, created_at)"
            " VALUES ('123456789', 'Ada', 'Lovelace', '1990-12-10', 'DE', 'en', 'x', 'BASE', false, now())"
        )
        await migrate(config=config)
        await Tortoise.close_connections()
        rows = await connection.fetch("SELECT account_number, failed_sign_ins FROM members")
    finally:
        await connection.close()
    assert [tuple(row) for row in rows] == [("123456789", 0)]


def _sqlite_indexes(path: Path) -> dict[str, set[tuple[tuple[str, ...], int]]]:
    """Per table, the column lists of its indexes and whether each is unique."""
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        found: dict[str, set[tuple[tuple[str, ...], int]]] = {}
        for table in tables:
            found[table] = {
                (
                    tuple(row[2] for row in connection.execute(f"PRAGMA index_info('{index[1]}')")),
                    int(index[2]),
                )
                for index in connection.execute(f"PRAGMA index_list('{table}')")
            }
        return found
    finally:
        connection.close()


@pytest.mark.slow
async def test_migrated_sqlite_has_every_index_and_unique_constraint_of_the_models(tmp_path: Path) -> None:
    """SQLite rebuilds a table to alter a column, and the rebuild can drop indexes and unique constraints
    (the ones that make partner redeliveries duplicates): the migrated schema must still have them all."""
    from gateway.db import MODEL_MODULES, apply_migrations

    migrated, fresh = tmp_path / "migrated", tmp_path / "fresh"
    await apply_migrations(Settings(data_dir=migrated, secret_key="m" * 48))
    fresh.mkdir()
    async with TortoiseContext() as ctx:
        await ctx.init(db_url=f"sqlite://{fresh / 'models.sqlite3'}", modules={APP_LABEL: MODEL_MODULES})
        await Tortoise.generate_schemas()
    have = _sqlite_indexes(migrated / "milesgate.sqlite3")
    want = _sqlite_indexes(fresh / "models.sqlite3")
    missing = {
        table: sorted(want[table] - have.get(table, set()))
        for table in want
        if want[table] - have.get(table, set())
    }
    assert missing == {}
