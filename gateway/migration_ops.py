"""Migration operations of our own, for the migrations in ``migrations/``."""

from __future__ import annotations

from typing import Any

from tortoise.migrations import operations as ops


class StateOnlyAlterField(ops.AlterField):
    """Record a field change in the migration state without touching the database.

    For changes that alter no column, such as a new value of a text enum that still fits its max_length:
    Tortoise's AlterField makes SQLite rebuild the whole table, and the rebuild drops the table's indexes
    and unique constraints (the ones that make partner redeliveries duplicates, say)."""

    async def database_forward(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def database_backward(self, *args: Any, **kwargs: Any) -> None:
        return None
