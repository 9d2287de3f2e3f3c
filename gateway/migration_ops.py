"""Migration operations of our own, for the migrations in ``migrations/``, and the check that the database
has every migration the code needs (``migration_state``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.migrations import operations as ops
from tortoise.migrations.executor import MigrationExecutor

from gateway.db import APP_LABEL, tortoise_config
from gateway.settings import Settings


class StateOnlyAlterField(ops.AlterField):
    """Record a field change in the migration state without touching the database.

    For changes that alter no column, such as a new value of a text enum that still fits its max_length:
    Tortoise's AlterField makes SQLite rebuild the whole table, and the rebuild drops the table's indexes
    and unique constraints (the ones that make partner redeliveries duplicates, say)."""

    async def database_forward(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def database_backward(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True)
class MigrationState:
    """Where the database's schema stands against the migrations in ``migrations/``."""

    applied: str | None  # the newest migration of ours the database has; None: none at all
    latest: str  # the newest migration the code has
    pending: tuple[str, ...]  # what `milesgate migrate` would apply, in order

    @property
    def behind(self) -> bool:
        return bool(self.pending)

    def describe(self) -> str:
        return f"database at migration {self.applied or 'none'}, code needs {self.latest}: run `milesgate migrate`"


async def migration_state(settings: Settings) -> MigrationState:
    """Compare the migrations the database recorded with the code's; the ORM must be open."""
    apps = {APP_LABEL: tortoise_config(settings)["apps"][APP_LABEL]}
    executor = MigrationExecutor(connections.get("default"), apps)
    plan = await executor.plan()
    graph = executor.loader.graph
    latest = graph.leaf_nodes(APP_LABEL)[-1]
    applied = set(await executor.recorder.applied_migrations())
    in_order = graph.forwards_plan(latest)
    newest_applied = next((key.name for key in reversed(in_order) if key in applied), None)
    pending = tuple(step.migration.name for step in plan if step.migration.app_label == APP_LABEL)
    return MigrationState(applied=newest_applied, latest=latest.name, pending=pending)
