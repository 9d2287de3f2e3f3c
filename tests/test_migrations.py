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


async def test_models_and_migrations_agree(tmp_path: Path) -> None:
    config = tortoise_config(Settings(data_dir=tmp_path))
    async with TortoiseContext() as ctx:
        await ctx.init(config=config, init_connections=False)
        assert ctx.apps is not None
        autodetector = MigrationAutodetector(ctx.apps, {APP_LABEL: config["apps"][APP_LABEL]})
        pending = await autodetector.changes()
    assert [writer.name for writer in pending] == []


@pytest.mark.postgres
async def test_upgrading_a_database_with_members_keeps_them(postgres_ready: str) -> None:
    """Each migration applies to a database holding data (NOT NULL columns need database defaults)."""
    url = postgres_ready.rsplit("/", 1)[0] + "/milesgate_upgrade_test"
    admin = await asyncpg.connect(
        postgres_ready.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    )
    try:
        await admin.execute("DROP DATABASE IF EXISTS milesgate_upgrade_test")
        await admin.execute("CREATE DATABASE milesgate_upgrade_test")
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
