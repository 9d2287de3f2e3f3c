"""``milesgate ledger verify`` and ``milesgate expire`` on an embedded SQLite data directory (CliRunner)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TypeVar

import pytest
import typer
from tortoise import connections
from typer.testing import CliRunner, Result

from gateway.cli.ledger import expire_command, ledger_app
from loyalty.crediting import post
from loyalty.ledger.models import Currency, PostingSource
from loyalty.rules import current_rules
from tests.factories import make_member
from tests.support import collapse, in_embedded_db, seed_embedded_db

T = TypeVar("T")
runner = CliRunner()
# The same wiring gateway/cli/__init__.py uses.
app = typer.Typer()
app.add_typer(ledger_app, name="ledger")
app.command("expire")(expire_command)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    seed_embedded_db(tmp_path)  # a migrated copy: migrating anew takes seconds a test
    return {"MILESGATE_DATA_DIR": str(tmp_path), "COLUMNS": "200"}


def milesgate(args: list[str], env: dict[str, str]) -> Result:
    return runner.invoke(app, args, env=env)


async def _member_with_miles() -> int:
    member = (await make_member()).member
    for key, miles, day in [("old", 1000, dt.date(2016, 12, 12)), ("new", 500, dt.date(2025, 2, 10))]:
        await post(
            account_id=member.id,
            amounts={Currency.AWARD_MILES: miles},
            source=PostingSource.PARTNER_ACCRUAL,
            idempotency_key=key,
            activity_date=day,
            rule_version="test",
            rules=current_rules(),
        )
    return int(member.id)


def test_verify_a_clean_ledger_exits_0(env: dict[str, str], tmp_path: Path) -> None:
    in_embedded_db(tmp_path, _member_with_miles)
    result = milesgate(["ledger", "verify", "--batch", "1"], env)
    assert result.exit_code == 0, result.output
    assert "ledger clean: 1 members" in collapse(result.output)


def test_verify_shows_a_corrupted_balance_and_exits_1(env: dict[str, str], tmp_path: Path) -> None:
    # given a balance row changed behind the ledger's back
    account_id = in_embedded_db(tmp_path, _member_with_miles)

    async def corrupt() -> None:
        await connections.get("default").execute_query(
            "UPDATE balances SET amount = 9999 WHERE account_id = ? AND currency = 'AWARD_MILES'",
            [account_id],
        )

    in_embedded_db(tmp_path, corrupt)

    # when verified
    result = milesgate(["ledger", "verify"], env)

    # then the drift row is shown and the exit code is 1
    assert result.exit_code == 1, result.output
    cells = [cell.strip() for cell in result.output.replace("│", "\n").splitlines() if cell.strip()]
    assert ["balance", str(account_id), "AWARD_MILES", "1500", "9999"] == cells[cells.index("balance", 1) :][
        :5
    ]
    assert "1 drift rows over 1 members" in collapse(result.output)


def test_expire_twice_expires_nothing_more(env: dict[str, str], tmp_path: Path) -> None:
    in_embedded_db(tmp_path, _member_with_miles)
    first = milesgate(["expire", "--as-of", "2020-01-01"], env)
    assert first.exit_code == 0, first.output
    assert "expired 1000 miles in 1 lots of 1 members" in collapse(first.output)
    again = milesgate(["expire", "--as-of", "2020-01-01"], env)
    assert again.exit_code == 0, again.output
    assert "expired 0 miles in 0 lots" in collapse(again.output)
    assert milesgate(["ledger", "verify"], env).exit_code == 0


def test_expire_needs_a_date(env: dict[str, str]) -> None:
    result = milesgate(["expire", "--as-of", "20.01.2020"], env)
    assert result.exit_code == 2
