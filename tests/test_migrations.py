"""The committed migrations describe the models exactly: a model change without a migration fails here."""

from __future__ import annotations

from pathlib import Path

from tortoise.context import TortoiseContext
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
