"""``milesgate status expire`` and ``milesgate status show`` on an embedded SQLite data directory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from gateway.cli.status import status_app
from loyalty.crediting import post
from loyalty.ledger.models import Currency, PostingSource, YearCounter
from loyalty.members.models import Member, Tier
from loyalty.rules import current_rules
from tests.factories import make_member
from tests.support import collapse, in_embedded_db, seed_embedded_db

runner = CliRunner()
app = typer.Typer()
app.add_typer(status_app, name="status")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    seed_embedded_db(tmp_path)  # a migrated copy: migrating anew takes seconds a test
    return {"MILESGATE_DATA_DIR": str(tmp_path), "COLUMNS": "200"}


def milesgate(args: list[str], env: dict[str, str]) -> Result:
    return runner.invoke(app, args, env=env)


async def _senator_of_2025() -> str:
    member = (await make_member()).member
    await post(
        account_id=member.id,
        amounts={Currency.POINTS: 2000, Currency.QUALIFYING_POINTS: 1000},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key="senator",
        activity_date=dt.date(2025, 4, 1),
        rule_version="test",
        rules=current_rules(),
        today=dt.date(2025, 4, 1),
    )
    return str(member.account_number)


async def _tier(account_number: str) -> Tier:
    return (await Member.get(account_number=account_number)).tier


def test_status_expire_downgrades_once(env: dict[str, str], tmp_path: Path) -> None:
    account_number = in_embedded_db(tmp_path, _senator_of_2025)

    first = milesgate(["status", "expire", "--as-of", "2027-03-01"], env)
    assert first.exit_code == 0, first.output
    assert "1 statuses downgraded one tier, 0 back to base" in collapse(first.output)
    assert in_embedded_db(tmp_path, lambda: _tier(account_number)) is Tier.FTL

    again = milesgate(["status", "expire", "--as-of", "2027-03-01"], env)
    assert "0 statuses downgraded one tier, 0 back to base" in collapse(again.output)


def test_status_show(env: dict[str, str], tmp_path: Path) -> None:
    account_number = in_embedded_db(tmp_path, _senator_of_2025)
    result = milesgate(["status", "show", account_number], env)
    assert result.exit_code == 0, result.output
    text = collapse(result.output)
    assert "│ tier │ SEN │" in text
    assert "│ valid until │ 2027-02-28 │" in text
    assert "│ next: HON │ HON_CIRCLE_POINTS 6000 │" in text
    assert in_embedded_db(tmp_path, lambda: YearCounter.filter(year=2025).count()) == 2


def test_status_show_unknown_member_exits_1(env: dict[str, str], tmp_path: Path) -> None:
    in_embedded_db(tmp_path, _senator_of_2025)
    result = milesgate(["status", "show", "000000000"], env)
    assert result.exit_code == 1
    assert "MEMBER_NOT_FOUND: No member has account number 000000000." in collapse(result.output)


@pytest.mark.parametrize("number", ["abc", "12345", "1234567890"])
def test_status_show_refuses_what_is_not_an_account_number(
    env: dict[str, str], tmp_path: Path, number: str
) -> None:
    in_embedded_db(tmp_path, _senator_of_2025)
    result = milesgate(["status", "show", number], env)
    assert result.exit_code == 1
    assert "ACCOUNT_NUMBER_INVALID: An account number has 9 digits." in collapse(result.output)
