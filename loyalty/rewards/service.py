"""Redeeming award miles for catalogue rewards, cancelling a redemption, and the member's reward goal.

A redemption is one REDEMPTION debit through the posting path (``loyalty.crediting``) and one
redemption row, written in the same transaction: the balance rows are locked while the debit is
checked, so concurrent redemptions never overdraw. The client's request id is the idempotency key, so a retried request
returns the first redemption instead of redeeming twice. Cancelling reverses the debit: the miles go
back to the lots they came from, with their original expiry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from loyalty.crediting import post
from loyalty.errors import Conflict, NotFound, ValidationFailed
from loyalty.events.models import EventType
from loyalty.events.service import record
from loyalty.ledger.models import CounterAccount, Currency, PostingSource
from loyalty.ledger.reversal import reverse_posting
from loyalty.ledger.service import InsufficientBalance, balances_of
from loyalty.paging import Page, PageRequest, newest_first
from loyalty.rewards.catalogue import Catalogue, Reward, current_catalogue
from loyalty.rewards.models import PooledRedemptionPosting, Redemption, RedemptionState, RewardGoal
from loyalty.rules import ProgrammeRules

MAX_REQUEST_ID_LENGTH = 100


class InsufficientMiles(ValidationFailed):
    """The award-miles balance does not cover the reward; ``missing`` says by how much."""

    code = "INSUFFICIENT_MILES"

    def __init__(self, *, required: int, balance: int) -> None:
        self.required = required
        self.balance = balance
        self.missing = max(required - balance, 0)
        super().__init__(
            f"This reward costs {required} miles; {self.missing} more are needed.", field="rewardCode"
        )


@dataclass(frozen=True, slots=True)
class GoalProgress:
    """How far the member is from their reward goal."""

    reward: Reward
    balance: int
    missing: int
    set_at: dt.datetime


def find_reward(code: str, catalogue: Catalogue | None = None) -> Reward:
    reward = (catalogue or current_catalogue()).get(code)
    if reward is None:
        raise NotFound(f"No reward {code!r} in the catalogue.", field="rewardCode", code="REWARD_NOT_FOUND")
    return reward


def _idempotency_key(account_id: int, request_id: str) -> str:
    if not request_id.strip() or len(request_id) > MAX_REQUEST_ID_LENGTH:
        raise ValidationFailed(
            f"The request id is 1 to {MAX_REQUEST_ID_LENGTH} characters.",
            field="requestId",
            code="REQUEST_ID_INVALID",
        )
    return f"redemption:{account_id}:{request_id}"


async def redeem(
    *,
    account_id: int,
    reward_code: str,
    idempotency_key: str,
    rules: ProgrammeRules,
    now: dt.datetime,
    catalogue: Catalogue | None = None,
) -> Redemption:
    """Spend the reward's miles once per ``idempotency_key`` (the client's request id).

    A repeat of the key returns the first redemption (whatever its state now); the same key for another
    reward is a REQUEST_ID_REUSED conflict. Not enough miles: INSUFFICIENT_MILES, nothing changed.
    """
    reward = find_reward(reward_code, catalogue)
    if reward.miles < rules.redemption.minimum_miles:  # the catalogue loader refuses this already
        raise ValidationFailed("This reward is below the minimum redemption.", code="BELOW_MINIMUM")
    key = _idempotency_key(account_id, idempotency_key)
    try:
        async with in_transaction():
            result = await post(
                account_id=account_id,
                amounts={Currency.AWARD_MILES: -reward.miles},
                source=PostingSource.REDEMPTION,
                idempotency_key=key,
                activity_date=now.date(),
                rule_version=rules.version,
                rules=rules,
                description=f"Redemption {reward.code}"[:200],
                counter_account=CounterAccount.REDEMPTION,
            )
            redemption = await Redemption.get_or_none(posting_id=result.posting_id)
            if redemption is None:
                redemption = await Redemption.create(
                    account_id=account_id,
                    reward_code=reward.code,
                    miles=reward.miles,
                    posting_id=result.posting_id,
                    state=RedemptionState.REDEEMED,
                    created_at=now,
                )
                await _announce(redemption, EventType.REDEMPTION_CREATED)
    except InsufficientBalance:
        balance = (await balances_of(account_id=account_id))[Currency.AWARD_MILES]
        raise InsufficientMiles(required=reward.miles, balance=balance) from None
    if redemption.reward_code != reward.code:
        raise Conflict(
            "This request id was used for another reward.", field="requestId", code="REQUEST_ID_REUSED"
        )
    return redemption


async def cancel_redemption(
    *, account_id: int, redemption_id: int, now: dt.datetime, rules: ProgrammeRules
) -> Redemption:
    """Give the miles back (to their original lots and expiry) and mark the redemption CANCELLED, once."""
    async with in_transaction():
        redemption = (
            await Redemption.filter(id=redemption_id, account_id=account_id).select_for_update().first()
        )
        if redemption is None:
            raise NotFound("No such redemption.", field="id", code="NOT_FOUND")
        if redemption.state == RedemptionState.CANCELLED:
            raise Conflict("This redemption was cancelled already.", field="id", code="ALREADY_CANCELLED")
        for posting_id in await _debits_of(redemption):
            await reverse_posting(
                posting_id=posting_id,
                activity_date=now.date(),
                rule_version=rules.version,
                rules=rules,
                description=f"Cancelled redemption {redemption.id} ({redemption.reward_code})"[:200],
            )
        redemption.state = RedemptionState.CANCELLED
        redemption.cancelled_at = now
        await redemption.save(update_fields=["state", "cancelled_at"])
        await _announce(redemption, EventType.REDEMPTION_CANCELLED)
    return redemption


async def _debits_of(redemption: Redemption) -> list[int]:
    """The postings a cancellation reverses: the redemption's own, or for a pooled redemption one per
    contributing member (in account-id order, the order balances are locked in)."""
    rows = await PooledRedemptionPosting.filter(redemption_id=redemption.id).order_by("account_id")
    return [row.posting_id for row in rows] or [redemption.posting_id]


async def _announce(redemption: Redemption, type: EventType) -> None:
    """The redemption's domain event, in the transaction that creates or cancels it."""
    await record(
        account_id=redemption.account_id,
        type=type,
        posting_id=redemption.posting_id,
        payload={
            "redemptionId": redemption.id,
            "rewardCode": redemption.reward_code,
            "miles": redemption.miles,
            "state": redemption.state.value,
        },
    )


async def redemptions_of(*, account_id: int) -> list[Redemption]:
    """The member's redemptions, newest first."""
    return await Redemption.filter(account_id=account_id).order_by("-created_at", "-id")


async def redemption_page(*, account_id: int, request: PageRequest) -> Page[Redemption]:
    """One keyset page of ``redemptions_of`` (newest first, by when they were made)."""
    return await newest_first(Redemption.filter(account_id=account_id), request, time_field="created_at")


async def set_reward_goal(
    *, account_id: int, reward_code: str, now: dt.datetime, catalogue: Catalogue | None = None
) -> RewardGoal:
    """Pick (or replace) the one reward the member saves towards."""
    reward = find_reward(reward_code, catalogue)
    async with in_transaction():
        goal = await RewardGoal.filter(account_id=account_id).select_for_update().first()
        if goal is None:
            return await RewardGoal.create(account_id=account_id, reward_code=reward.code, set_at=now)
        goal.reward_code = reward.code
        goal.set_at = now
        await goal.save(update_fields=["reward_code", "set_at"])
    return goal


async def reward_goal_progress(*, account_id: int, catalogue: Catalogue | None = None) -> GoalProgress | None:
    """The goal with the award-miles balance and the miles still missing; None without a goal.

    A goal whose reward has left the catalogue counts as no goal.
    """
    goal = await RewardGoal.get_or_none(account_id=account_id)
    if goal is None:
        return None
    reward = (catalogue or current_catalogue()).get(goal.reward_code)
    if reward is None:
        return None
    balance = (await balances_of(account_id=account_id))[Currency.AWARD_MILES]
    return GoalProgress(
        reward=reward, balance=balance, missing=max(reward.miles - balance, 0), set_at=goal.set_at
    )
