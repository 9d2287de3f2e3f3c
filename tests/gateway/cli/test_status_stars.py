"""``milesgate status import-stars FILE --operator NAME`` on the test's stack (embedded or PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loyalty.ledger.models import Currency
from loyalty.ledger.service import balances_of
from loyalty.members.models import Member, Tier
from tests.factories import make_member
from tests.gateway.cli.stacks import in_stack_db, milesgate, stack_env
from tests.support import collapse


@pytest.fixture
def env(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    return stack_env(tmp_path, request)


async def _member() -> str:
    return str((await make_member()).member.account_number)


async def _state(number: str) -> tuple[Tier, int]:
    member = await Member.get(account_number=number)
    return member.tier, (await balances_of(account_id=member.id))[Currency.LIFETIME_QUALIFYING_POINTS]


def test_import_stars_gives_senator_lifetime_once(env: dict[str, str], tmp_path: Path) -> None:
    number = in_stack_db(env, _member)
    path = tmp_path / "stars.csv"
    path.write_text(f"account_number,status_star_points,stars\n{number},7000,4\n")

    first = milesgate(["status", "import-stars", str(path), "--operator", "ops"], env)
    second = milesgate(["status", "import-stars", str(path), "--operator", "ops"], env)

    assert first.exit_code == 0, first.output
    assert (
        "1 members imported, 0 imported before (unchanged), 1 lifetime statuses given by stars"
        in collapse(first.output)
    )
    assert second.exit_code == 0, second.output
    assert "0 members imported, 1 imported before (unchanged), 0 lifetime" in collapse(second.output)
    assert in_stack_db(env, lambda: _state(number)) == (Tier.SEN, 14_000)


def test_a_wrong_file_is_one_line_and_exit_1(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "stars.csv"
    path.write_text("account,points\n1,2\n")

    result = milesgate(["status", "import-stars", str(path), "--operator", "ops"], env)

    assert result.exit_code == 1
    assert "FILE_INVALID" in collapse(result.output)
