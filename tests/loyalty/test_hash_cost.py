"""The cost of PIN and password hashes is a setting; a hash verifies whatever cost it was made under."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import argon2
import pytest

from gateway.db import apply_migrations, close_database, open_database
from gateway.settings import Settings
from loyalty.members.pins import HashCost, hash_cost, hash_secret, use_hash_cost, verify_secret


@pytest.fixture
def restore_cost() -> Iterator[None]:
    previous = hash_cost()
    yield
    use_hash_cost(previous)


def _parameters(encoded: str) -> argon2.Parameters:
    return argon2.extract_parameters(encoded)


@pytest.mark.usefixtures("restore_cost")
async def test_new_hashes_follow_the_configured_cost_and_old_ones_still_verify() -> None:
    use_hash_cost(HashCost(time_cost=1, memory_kib=8, parallelism=1))
    cheap = await hash_secret("739152")
    use_hash_cost(HashCost(time_cost=2, memory_kib=1024, parallelism=2))
    dearer = await hash_secret("739152")

    assert (_parameters(cheap).time_cost, _parameters(cheap).memory_cost) == (1, 8)
    assert (
        _parameters(dearer).time_cost,
        _parameters(dearer).memory_cost,
        _parameters(dearer).parallelism,
    ) == (
        2,
        1024,
        2,
    )
    assert await verify_secret(cheap, "739152") and await verify_secret(dearer, "739152")
    assert not await verify_secret(cheap, "739153")
    assert not await verify_secret(None, "739152")


def test_without_settings_the_cost_is_owasps_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TIME_COST", "MEMORY_KIB", "PARALLELISM"):
        monkeypatch.delenv(f"MILESGATE_SECRET_HASH_{name}", raising=False)
    settings = Settings()
    configured = (
        settings.secret_hash_time_cost,
        settings.secret_hash_memory_kib,
        settings.secret_hash_parallelism,
    )
    defaults = (5, 7 * 1024, 1)  # OWASP's Password Storage Cheat Sheet: argon2id, 7 MiB, t=5, p=1
    assert configured == defaults
    assert HashCost() == HashCost(*defaults)


@pytest.mark.usefixtures("restore_cost")
async def test_opening_the_database_applies_the_configured_cost(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, secret_hash_time_cost=2, secret_hash_memory_kib=64, secret_hash_parallelism=1
    )
    await apply_migrations(settings)
    await open_database(settings)
    try:
        assert hash_cost() == HashCost(time_cost=2, memory_kib=64, parallelism=1)
        assert _parameters(await hash_secret("739152")).memory_cost == 64
    finally:
        await close_database()
