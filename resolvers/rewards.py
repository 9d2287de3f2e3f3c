"""Reward resolvers: the catalogue, redeeming and cancelling (AUTHENTICATED only), the reward goal."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from loyalty.errors import NotFound
from loyalty.ledger.models import Currency
from loyalty.ledger.service import balances_of
from loyalty.paging import Page, PageRequest
from loyalty.rewards import service
from loyalty.rewards.catalogue import Reward, current_catalogue
from loyalty.rewards.models import Redemption
from loyalty.rules import ProgrammeRules


@dataclass(frozen=True, slots=True)
class ListedRedemption:
    """A redemption with its reward as the catalogue lists it now (None once it left the catalogue)."""

    redemption: Redemption
    reward: Reward | None


@dataclass(frozen=True, slots=True)
class RedemptionChange:
    """A redemption made or cancelled, and the member's award miles afterwards."""

    redemption: ListedRedemption
    award_miles: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _listed(row: Redemption) -> ListedRedemption:
    return ListedRedemption(redemption=row, reward=current_catalogue().get(row.reward_code))


async def _award_miles(account_id: int) -> int:
    return (await balances_of(account_id=account_id))[Currency.AWARD_MILES]


def rewards() -> list[Reward]:
    return list(current_catalogue())


async def member_reward_goal(*, account_id: int) -> service.GoalProgress | None:
    return await service.reward_goal_progress(account_id=account_id)


async def member_redemptions(*, account_id: int) -> list[ListedRedemption]:
    return [_listed(row) for row in await service.redemptions_of(account_id=account_id)]


async def member_redemption_page(*, account_id: int, request: PageRequest) -> Page[ListedRedemption]:
    page = await service.redemption_page(account_id=account_id, request=request)
    return page.map(_listed)


async def redeem(
    *, account_id: int, reward_code: str, request_id: str, rules: ProgrammeRules
) -> RedemptionChange:
    row = await service.redeem(
        account_id=account_id, reward_code=reward_code, idempotency_key=request_id, rules=rules, now=_now()
    )
    return RedemptionChange(redemption=_listed(row), award_miles=await _award_miles(account_id))


async def cancel_redemption(
    *, account_id: int, redemption_id: str, rules: ProgrammeRules
) -> RedemptionChange:
    if not redemption_id.isdigit():
        raise NotFound("No such redemption.", field="id", code="NOT_FOUND")
    row = await service.cancel_redemption(
        account_id=account_id, redemption_id=int(redemption_id), now=_now(), rules=rules
    )
    return RedemptionChange(redemption=_listed(row), award_miles=await _award_miles(account_id))


async def set_reward_goal(*, account_id: int, reward_code: str) -> service.GoalProgress:
    await service.set_reward_goal(account_id=account_id, reward_code=reward_code, now=_now())
    goal = await member_reward_goal(account_id=account_id)
    if goal is None:  # the reward was checked above; only a catalogue swap mid-request gets here
        raise NotFound("No such reward.", field="rewardCode", code="REWARD_NOT_FOUND")
    return goal
