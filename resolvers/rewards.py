"""Reward resolvers: the catalogue, redeeming and cancelling (AUTHENTICATED only), the reward goal."""

from __future__ import annotations

import datetime as dt

from loyalty.errors import DomainError
from loyalty.ledger.models import Currency
from loyalty.ledger.service import balances_of
from loyalty.rewards import service
from loyalty.rewards.catalogue import current_catalogue
from loyalty.rewards.models import Redemption as RedemptionRow
from resolvers.auth import require_member, step_up_needed
from schema.context import Info
from schema.errors import InputError
from schema.rewards import (
    CancelRedemptionResult,
    InsufficientMiles,
    Redeemed,
    RedeemResult,
    Redemption,
    RedemptionCancelled,
    Reward,
    RewardGoalProgress,
    RewardGoalSet,
    SetRewardGoalResult,
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _redemption(row: RedemptionRow) -> Redemption:
    return Redemption.from_model(row, current_catalogue().get(row.reward_code))


async def _award_miles(account_id: int) -> int:
    return (await balances_of(account_id=account_id))[Currency.AWARD_MILES]


def rewards() -> list[Reward]:
    return [Reward.from_domain(reward) for reward in current_catalogue()]


async def member_reward_goal(*, account_id: int) -> RewardGoalProgress | None:
    progress = await service.reward_goal_progress(account_id=account_id)
    if progress is None:
        return None
    return RewardGoalProgress(
        reward=Reward.from_domain(progress.reward),
        balance=progress.balance,
        missing=progress.missing,
        set_at=progress.set_at,
    )


async def member_redemptions(*, account_id: int) -> list[Redemption]:
    return [_redemption(row) for row in await service.redemptions_of(account_id=account_id)]


async def redeem(info: Info, reward_code: str, request_id: str) -> RedeemResult:
    principal = require_member(info)
    if (refused := step_up_needed(info)) is not None:
        return refused
    try:
        row = await service.redeem(
            account_id=principal.account_id,
            reward_code=reward_code,
            idempotency_key=request_id,
            rules=info.context.rules,
            now=_now(),
        )
    except service.InsufficientMiles as short:
        return InsufficientMiles(
            code=short.code,
            message=short.message,
            required=short.required,
            balance=short.balance,
            missing=short.missing,
        )
    except DomainError as error:
        return InputError.from_domain(error)
    return Redeemed(redemption=_redemption(row), award_miles=await _award_miles(principal.account_id))


async def cancel_redemption(info: Info, redemption_id: str) -> CancelRedemptionResult:
    principal = require_member(info)
    if (refused := step_up_needed(info)) is not None:
        return refused
    if not redemption_id.isdigit():
        return InputError(code="NOT_FOUND", field="id", message="No such redemption.")
    try:
        row = await service.cancel_redemption(
            account_id=principal.account_id,
            redemption_id=int(redemption_id),
            now=_now(),
            rules=info.context.rules,
        )
    except DomainError as error:
        return InputError.from_domain(error)
    return RedemptionCancelled(
        redemption=_redemption(row), award_miles=await _award_miles(principal.account_id)
    )


async def set_reward_goal(info: Info, reward_code: str) -> SetRewardGoalResult:
    principal = require_member(info)
    try:
        await service.set_reward_goal(account_id=principal.account_id, reward_code=reward_code, now=_now())
    except DomainError as error:
        return InputError.from_domain(error)
    goal = await member_reward_goal(account_id=principal.account_id)
    if goal is None:  # the reward was checked above; only a catalogue swap mid-request gets here
        return InputError(code="REWARD_NOT_FOUND", field="rewardCode", message="No such reward.")
    return RewardGoalSet(goal=goal)
