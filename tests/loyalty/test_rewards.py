"""Rewards and redemption (issue 4): the catalogue, atomic redemptions, cancelling, the reward goal.

The proof of atomicity runs on PostgreSQL: 20 concurrent redemptions of 3,000 miles from 10,000 give
exactly 3 successes. The GraphQL rule (redeeming needs an AUTHENTICATED session) is checked on a small
schema exposing this module's mutations, with a context as the gateway builds it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, cast

import pytest
from strawberry.federation import Schema

from gateway.settings import Settings
from loyalty.crediting import post
from loyalty.errors import Conflict, DomainError, NotFound
from loyalty.ledger.models import (
    CounterAccount,
    CounterEntry,
    Currency,
    Lot,
    LotAllocation,
    Posting,
    PostingSource,
)
from loyalty.ledger.service import balances_of
from loyalty.ledger.verify import verify_ledger
from loyalty.members.models import SessionLevel
from loyalty.members.sessions import Principal
from loyalty.rewards import service
from loyalty.rewards.catalogue import (
    CatalogueInvalid,
    RewardKind,
    current_catalogue,
    parse_catalogue,
)
from loyalty.rewards.models import Redemption, RedemptionState, RewardGoal
from loyalty.rules import RedemptionRules, current_rules
from resolvers import rewards as reward_resolvers
from schema.context import Context
from schema.rewards.mutations import RewardMutations
from schema.rewards.queries import RewardQueries
from schema.rewards.types import RewardGoalProgress
from tests.factories import make_member

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
TAG = "SHOP-LUGGAGE-TAG"  # 3,000 miles: the minimum redemption
UPGRADE = "UPGRADE-FRA-LAX-ECO-BUS"  # 35,000 miles


async def _credit(account_id: int, miles: int, key: str, earned_on: dt.date = NOW.date()) -> None:
    await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: miles},
        source=PostingSource.TEST,
        idempotency_key=key,
        activity_date=earned_on,
        rule_version="test",
        rules=current_rules(),
    )


async def _miles(account_id: int) -> int:
    return (await balances_of(account_id=account_id))[Currency.AWARD_MILES]


async def _redeem(account_id: int, code: str, request_id: str) -> Redemption:
    return await service.redeem(
        account_id=account_id, reward_code=code, idempotency_key=request_id, rules=current_rules(), now=NOW
    )


# --- catalogue -------------------------------------------------------------------------------------


def test_the_shipped_catalogue_has_every_kind_and_respects_the_minimum() -> None:
    catalogue = current_catalogue()
    minimum = current_rules().redemption.minimum_miles
    assert minimum == 3000 and len(catalogue) >= 12
    assert {reward.kind for reward in catalogue} == set(RewardKind)
    assert all(reward.miles >= minimum for reward in catalogue)
    upgrade = catalogue.get(UPGRADE)
    assert upgrade is not None and upgrade.miles == 35000 and upgrade.kind is RewardKind.UPGRADE
    assert all((r.cash_eur is not None) == (r.kind is RewardKind.CASH_AND_MILES) for r in catalogue)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"code": "X", "kind": "SHOP", "title": "Pen", "miles": 2999}, "below the minimum"),
        ({"code": "X", "kind": "CAR", "title": "Car", "miles": 5000}, "kind"),
        ({"code": "X", "kind": "SHOP", "title": "Pen", "miles": 5000, "cash_eur": "5"}, "only Cash"),
        ({"code": "X", "kind": "CASH_AND_MILES", "title": "Voucher", "miles": 5000}, "needs cash_eur"),
        ({"code": "X", "kind": "SHOP", "title": "Pen", "miles": 5000, "colour": "red"}, "unknown keys"),
    ],
)
def test_a_broken_catalogue_is_refused_at_load(row: dict[str, Any], reason: str) -> None:
    with pytest.raises(CatalogueInvalid, match=reason):
        parse_catalogue({"rewards": [row]}, rules=RedemptionRules(minimum_miles=3000))


def test_a_code_listed_twice_is_refused() -> None:
    row = {"code": "X", "kind": "SHOP", "title": "Pen", "miles": 5000}
    with pytest.raises(CatalogueInvalid, match="twice"):
        parse_catalogue({"rewards": [row, row]}, rules=RedemptionRules(minimum_miles=3000))


# --- redeeming -------------------------------------------------------------------------------------


async def test_redeeming_debits_the_miles_and_records_the_redemption(db: Settings) -> None:
    member = (await make_member()).member
    await _credit(member.id, 40000, "earn")
    redemption = await _redeem(member.id, UPGRADE, "req-1")
    assert (redemption.reward_code, redemption.miles, redemption.state) == (
        UPGRADE,
        35000,
        RedemptionState.REDEEMED,
    )
    assert await _miles(member.id) == 5000
    posting = await Posting.get(id=redemption.posting_id)
    assert posting.source == "REDEMPTION" and posting.account_id == member.id
    counter = await CounterEntry.get(posting_id=posting.id)
    assert (counter.counter_account, counter.amount) == (CounterAccount.REDEMPTION, 35000)
    assert (await verify_ledger()).clean


async def test_a_retried_request_id_redeems_once(db: Settings) -> None:
    member = (await make_member()).member
    await _credit(member.id, 10000, "earn")
    first = await _redeem(member.id, TAG, "req-1")
    again = await _redeem(member.id, TAG, "req-1")
    assert again.id == first.id and await _miles(member.id) == 7000
    assert await Redemption.filter(account_id=member.id).count() == 1
    with pytest.raises(Conflict) as reused:
        await _redeem(member.id, "SHOP-AMENITY-KIT", "req-1")
    assert reused.value.code == "REQUEST_ID_REUSED" and await _miles(member.id) == 7000
    # Request ids are per member: another member's "req-1" is a redemption of its own.
    other = (await make_member("other@example.com")).member
    await _credit(other.id, 3000, "earn-other")
    assert (await _redeem(other.id, TAG, "req-1")).id != first.id


async def test_insufficient_miles_changes_nothing_and_says_what_is_missing(db: Settings) -> None:
    member = (await make_member()).member
    await _credit(member.id, 30000, "earn")
    with pytest.raises(service.InsufficientMiles) as short:
        await _redeem(member.id, UPGRADE, "req-1")
    assert short.value.code == "INSUFFICIENT_MILES"
    assert (short.value.required, short.value.balance, short.value.missing) == (35000, 30000, 5000)
    assert await _miles(member.id) == 30000
    assert await Redemption.filter(account_id=member.id).count() == 0
    assert await Posting.filter(account_id=member.id, source="REDEMPTION").count() == 0
    # The same request id works once the miles are there: the failed try left no trace.
    await _credit(member.id, 5000, "earn-more")
    assert (await _redeem(member.id, UPGRADE, "req-1")).miles == 35000
    assert await _miles(member.id) == 0


async def test_unknown_rewards_and_bad_request_ids_are_refused(db: Settings) -> None:
    member = (await make_member()).member
    await _credit(member.id, 10000, "earn")
    with pytest.raises(NotFound) as unknown:
        await _redeem(member.id, "NO-SUCH-REWARD", "req-1")
    assert (unknown.value.code, unknown.value.field) == ("REWARD_NOT_FOUND", "rewardCode")
    for bad in ("", "   ", "x" * 101):
        with pytest.raises(DomainError) as invalid:
            await _redeem(member.id, TAG, bad)
        assert invalid.value.code == "REQUEST_ID_INVALID"
    assert await _miles(member.id) == 10000


# --- cancelling ------------------------------------------------------------------------------------


async def test_cancelling_gives_the_miles_back_with_their_original_expiry(db: Settings) -> None:
    member = (await make_member()).member
    await _credit(member.id, 4000, "old", earned_on=dt.date(2024, 1, 10))
    await _credit(member.id, 6000, "new", earned_on=dt.date(2026, 10, 1))
    old_lot = await Lot.get(account_id=member.id, earned_on=dt.date(2024, 1, 10))
    new_lot = await Lot.get(account_id=member.id, earned_on=dt.date(2026, 10, 1))
    expiries = (old_lot.expires_on, new_lot.expires_on)
    assert expiries == (dt.date(2027, 3, 31), dt.date(2029, 12, 31))

    redemption = await _redeem(member.id, "SHOP-AMENITY-KIT", "req-1")  # 6,500: 4,000 old + 2,500 new
    await old_lot.refresh_from_db()
    await new_lot.refresh_from_db()
    assert (old_lot.remaining, new_lot.remaining) == (0, 3500)

    later = NOW + dt.timedelta(days=40)
    cancelled = await service.cancel_redemption(
        account_id=member.id, redemption_id=redemption.id, now=later, rules=current_rules()
    )
    assert cancelled.state == RedemptionState.CANCELLED and cancelled.cancelled_at == later
    await old_lot.refresh_from_db()
    await new_lot.refresh_from_db()
    assert (old_lot.remaining, new_lot.remaining) == (4000, 6000)
    assert (old_lot.expires_on, new_lot.expires_on) == expiries
    assert await Lot.filter(account_id=member.id).count() == 2  # no fresh lot with a new expiry
    assert await _miles(member.id) == 10000
    stored = await Redemption.get(id=redemption.id)
    assert stored.state == RedemptionState.CANCELLED
    assert (await verify_ledger()).clean

    with pytest.raises(Conflict) as twice:
        await service.cancel_redemption(
            account_id=member.id, redemption_id=redemption.id, now=later, rules=current_rules()
        )
    assert twice.value.code == "ALREADY_CANCELLED" and await _miles(member.id) == 10000
    # Retrying the original request id returns the (now cancelled) redemption and spends nothing.
    assert (await _redeem(member.id, "SHOP-AMENITY-KIT", "req-1")).state == RedemptionState.CANCELLED
    assert await _miles(member.id) == 10000


async def test_another_members_redemption_is_not_found(db: Settings) -> None:
    owner = (await make_member()).member
    stranger = (await make_member("stranger@example.com")).member
    await _credit(owner.id, 3000, "earn")
    redemption = await _redeem(owner.id, TAG, "req-1")
    for account_id, redemption_id in ((stranger.id, redemption.id), (owner.id, redemption.id + 999)):
        with pytest.raises(NotFound) as missing:
            await service.cancel_redemption(
                account_id=account_id, redemption_id=redemption_id, now=NOW, rules=current_rules()
            )
        assert missing.value.code == "NOT_FOUND"
    assert (await Redemption.get(id=redemption.id)).state == RedemptionState.REDEEMED
    assert await _miles(owner.id) == 0


# --- reward goal -----------------------------------------------------------------------------------


async def test_reward_goal_shows_progress_and_missing_miles(db: Settings) -> None:
    member = (await make_member()).member
    assert await service.reward_goal_progress(account_id=member.id) is None
    await _credit(member.id, 20000, "earn")
    await service.set_reward_goal(account_id=member.id, reward_code=UPGRADE, now=NOW)
    progress = await service.reward_goal_progress(account_id=member.id)
    assert progress is not None
    assert (progress.reward.code, progress.balance, progress.missing) == (UPGRADE, 20000, 15000)

    await service.set_reward_goal(account_id=member.id, reward_code="SHOP-AMENITY-KIT", now=NOW)
    progress = await service.reward_goal_progress(account_id=member.id)
    assert progress is not None and (progress.reward.code, progress.missing) == ("SHOP-AMENITY-KIT", 0)
    assert await RewardGoal.filter(account_id=member.id).count() == 1
    with pytest.raises(NotFound):
        await service.set_reward_goal(account_id=member.id, reward_code="NOPE", now=NOW)

    shown = await reward_resolvers.member_reward_goal(account_id=member.id)
    assert shown is not None
    assert (shown.missing, RewardGoalProgress.from_domain(shown).percent()) == (0, 100)


# --- GraphQL: the step-up rule and typed results ---------------------------------------------------


SCHEMA = Schema(query=RewardQueries, mutation=RewardMutations)
REDEEM = """
mutation R($code: String!, $req: String!) {
  redeem(rewardCode: $code, requestId: $req) {
    __typename
    ... on Redeemed { awardMiles redemption { id rewardCode miles state reward { kind title } } }
    ... on InsufficientMiles { code required balance missing }
    ... on StepUpRequired { requiredLevel }
    ... on InputError { code field }
  }
}
"""
CANCEL = """
mutation C($id: ID!) {
  cancelRedemption(id: $id) {
    __typename
    ... on RedemptionCancelled { awardMiles redemption { state cancelledAt } }
    ... on StepUpRequired { requiredLevel }
    ... on InputError { code field }
  }
}
"""
GOAL = """
mutation G($code: String!) {
  setRewardGoal(rewardCode: $code) {
    __typename
    ... on RewardGoalSet { goal { reward { code } balance missing percent } }
    ... on InputError { code field }
  }
}
"""


async def _run(document: str, variables: dict[str, Any], account_id: int, level: SessionLevel) -> Any:
    context = Context(
        request=None,
        rules=current_rules(),
        tokens=cast(Any, None),
        backends=cast(Any, None),
        loaders=cast(Any, None),
        sessions=cast(Any, None),
        principal=Principal(account_id=account_id, level=level, token_id="test", generation=0),
    )
    result = await SCHEMA.execute(document, variable_values=variables, context_value=context)
    assert result.errors is None, result.errors
    assert result.data is not None
    return next(iter(result.data.values()))


async def test_redeeming_and_cancelling_need_an_authenticated_session(db: Settings) -> None:
    member = (await make_member()).member
    await _credit(member.id, 10000, "earn")
    identified, fresh = SessionLevel.IDENTIFIED, SessionLevel.AUTHENTICATED

    refused = await _run(REDEEM, {"code": TAG, "req": "r1"}, member.id, identified)
    assert refused == {"__typename": "StepUpRequired", "requiredLevel": "AUTHENTICATED"}
    assert await _miles(member.id) == 10000 and await Redemption.all().count() == 0

    done = await _run(REDEEM, {"code": TAG, "req": "r1"}, member.id, fresh)
    assert done["__typename"] == "Redeemed" and done["awardMiles"] == 7000
    assert done["redemption"]["reward"] == {"kind": "SHOP", "title": "WorldShop leather luggage tag"}
    redemption_id = done["redemption"]["id"]

    refused = await _run(CANCEL, {"id": redemption_id}, member.id, identified)
    assert refused["__typename"] == "StepUpRequired" and await _miles(member.id) == 7000

    cancelled = await _run(CANCEL, {"id": redemption_id}, member.id, fresh)
    assert cancelled["__typename"] == "RedemptionCancelled" and cancelled["awardMiles"] == 10000
    assert cancelled["redemption"]["state"] == "CANCELLED"
    again = await _run(CANCEL, {"id": redemption_id}, member.id, fresh)
    assert again == {"__typename": "InputError", "code": "ALREADY_CANCELLED", "field": "id"}
    bogus = await _run(CANCEL, {"id": "abc"}, member.id, fresh)
    assert bogus == {"__typename": "InputError", "code": "NOT_FOUND", "field": "id"}


async def test_graphql_results_for_short_balances_unknown_rewards_and_goals(db: Settings) -> None:
    member = (await make_member()).member
    await _credit(member.id, 20000, "earn")
    level = SessionLevel.AUTHENTICATED
    short = await _run(REDEEM, {"code": UPGRADE, "req": "r1"}, member.id, level)
    assert short == {
        "__typename": "InsufficientMiles",
        "code": "INSUFFICIENT_MILES",
        "required": 35000,
        "balance": 20000,
        "missing": 15000,
    }
    unknown = await _run(REDEEM, {"code": "NOPE", "req": "r2"}, member.id, level)
    assert unknown == {"__typename": "InputError", "code": "REWARD_NOT_FOUND", "field": "rewardCode"}
    # Setting a goal needs no step-up: it spends nothing.
    goal = await _run(GOAL, {"code": UPGRADE}, member.id, SessionLevel.IDENTIFIED)
    assert goal["goal"] == {"reward": {"code": UPGRADE}, "balance": 20000, "missing": 15000, "percent": 57}
    catalogue = await SCHEMA.execute("{ rewards { code miles cashEur } }")
    assert catalogue.data is not None and len(catalogue.data["rewards"]) == len(current_catalogue())
    listed = await reward_resolvers.member_redemptions(account_id=member.id)
    assert listed == []


# --- the proof on PostgreSQL -----------------------------------------------------------------------


@pytest.mark.postgres
async def test_twenty_concurrent_redemptions_of_3000_from_10000_give_exactly_three(pg_db: Settings) -> None:
    member = (await make_member()).member
    await _credit(member.id, 10000, "earn")

    async def attempt(i: int) -> str:
        try:
            await _redeem(member.id, TAG, f"req-{i}")
        except service.InsufficientMiles:
            return "short"
        return "redeemed"

    outcomes = await asyncio.gather(*[attempt(i) for i in range(20)])
    assert outcomes.count("redeemed") == 3 and outcomes.count("short") == 17
    assert await _miles(member.id) == 1000
    assert await Redemption.filter(account_id=member.id).count() == 3
    assert await Posting.filter(account_id=member.id, source="REDEMPTION").count() == 3
    taken = sum(a.amount for a in await LotAllocation.filter(account_id=member.id))
    assert taken == 9000
    report = await verify_ledger()
    assert report.clean, report.drifts


@pytest.mark.postgres
async def test_concurrent_retries_of_one_request_redeem_once(pg_db: Settings) -> None:
    member = (await make_member()).member
    await _credit(member.id, 10000, "earn")
    redemptions = await asyncio.gather(*[_redeem(member.id, TAG, "same-request") for _ in range(10)])
    assert len({r.id for r in redemptions}) == 1
    assert await _miles(member.id) == 7000
    assert await Redemption.filter(account_id=member.id).count() == 1
    assert (await verify_ledger()).clean
