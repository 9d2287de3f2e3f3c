"""``milesgate demo`` (issue 21): sample data, a showcase member to sign in as (history, a status, a pool)
and the demo partner's code and secret; a second run adds nothing and says so. On the test's stack."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.partner_secrets import partner_secret_box
from gateway.settings import Settings
from loyalty.ledger.models import Posting
from loyalty.members.models import CardState, Member, ServiceCard, Tier
from loyalty.members.pins import verify_secret
from loyalty.pooling.models import MembershipState, PoolMembership
from partners.models import Partner
from partners.signing import usable_secrets
from tests.gateway.cli.stacks import SECRET_KEY, in_stack_db, milesgate, stack_env
from tests.support import collapse


@pytest.fixture
def env(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    return stack_env(tmp_path, request)


def way_in(output: str) -> dict[str, str]:
    """The identity and partner the demo printed."""
    patterns = {
        "card": r"service card number\s+([0-9 ]+[0-9])\s*$",
        "email": r"e-mail\s+(\S+@\S+)\s*$",
        "pin": r"PIN\s+([0-9]+)\s*$",
        "partner": r"^\s*code\s+(\S+)\s*$",
        "secret": r"secret\s+(whsec_\S+)\s*$",
    }
    found = {key: re.search(pattern, output, re.M) for key, pattern in patterns.items()}
    missing = [key for key, match in found.items() if match is None]
    assert not missing, f"{missing} not in:\n{output}"
    return {key: match.group(1) for key, match in found.items() if match is not None}


def test_demo_prints_a_way_in_to_a_member_with_history_a_status_and_a_pool(
    env: dict[str, str], tmp_path: Path
) -> None:
    # when
    result = milesgate(["demo", "--members", "3"], env)

    # then
    assert result.exit_code == 0, result.output
    assert "Added 5 members" in collapse(
        result.stdout
    )  # 3 sample members, the showcase and their pool partner
    shown = way_in(result.stdout)
    settings = Settings(data_dir=tmp_path, secret_key=SECRET_KEY)

    async def check() -> None:
        member = await Member.get(email=shown["email"])
        card = await ServiceCard.get(account_id=member.id, state=CardState.ACTIVE)
        assert card.number == shown["card"].replace(" ", "")
        assert await verify_secret(member.pin_hash, shown["pin"])
        assert member.tier is not Tier.BASE
        joined = (MembershipState.ACCEPTED, MembershipState.COMBINED)
        membership = await PoolMembership.get(account_id=member.id, state__in=joined)
        assert await PoolMembership.filter(pool_id=membership.pool_id, state__in=joined).count() == 2
        history = await Posting.filter(account_id=member.id).exclude(description="").count()
        assert history >= 4
        partner = await Partner.get(code=shown["partner"])
        assert shown["secret"] in await usable_secrets(partner.id, partner_secret_box(settings))
        assert await Member.all().count() == 5

    in_stack_db(env, check)


def test_demo_twice_adds_nothing_says_so_and_shows_the_same_way_in(env: dict[str, str]) -> None:
    # given
    first = milesgate(["demo", "--members", "3", "--seed", "7"], env)
    assert first.exit_code == 0, first.output

    async def counts() -> tuple[int, int, int, int]:
        return (
            await Member.all().count(),
            await Posting.all().count(),
            await Partner.all().count(),
            await PoolMembership.all().count(),
        )

    before = in_stack_db(env, counts)

    # when
    again = milesgate(["demo", "--members", "3", "--seed", "7"], env)

    # then
    assert again.exit_code == 0, again.output
    assert "nothing added" in collapse(again.stdout)
    assert "Added" not in again.stdout
    assert way_in(again.stdout) == way_in(first.stdout)
    assert in_stack_db(env, counts) == before
