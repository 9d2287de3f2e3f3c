"""``milesgate pools expire-invitations`` (issue 19) on the test's stack."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from loyalty.pooling.models import MembershipState, PoolMembership
from loyalty.rules import current_rules
from tests.gateway.cli.stacks import in_stack_db, milesgate, stack_env
from tests.loyalty.pooling_helpers import invite, person
from tests.support import collapse


@pytest.fixture
def env(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    return stack_env(tmp_path, request)


async def _invitations() -> None:
    """One invitation older than the validity, one just sent."""
    days = current_rules().pooling.invitation_valid_days
    now = dt.datetime.now(dt.UTC)
    await invite(await person(40), await person(9), now - dt.timedelta(days=days, minutes=1))
    await invite(await person(41), await person(8), now)


async def _states() -> list[MembershipState]:
    return [row.state for row in await PoolMembership.all().order_by("id")]


def test_expire_invitations_marks_the_old_ones_and_is_idempotent(env: dict[str, str]) -> None:
    milesgate(["pools", "combine"], env)  # the database exists (and is migrated) for the set-up
    in_stack_db(env, _invitations)
    first = milesgate(["pools", "expire-invitations"], env)
    assert first.exit_code == 0, first.output
    assert "expired 1 pool invitations" in collapse(first.output)
    # the founder left alone by it was released: the pool dissolved
    assert in_stack_db(env, _states) == [
        MembershipState.DISSOLVED,
        MembershipState.EXPIRED,
        MembershipState.COMBINED,
        MembershipState.INVITED,
    ]
    again = milesgate(["pools", "expire-invitations"], env)
    assert "expired 0 pool invitations" in collapse(again.output)
