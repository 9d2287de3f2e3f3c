"""Pooled redemption (DOMAIN.md 7): an adult of a working pool spends the members' combined award miles.

One transaction: the redeemer's row, the pool row, every contributing member's award-miles balance
row (in account-id order) and their lots are locked; the reward's miles are allocated across the
lots in expiry order, unprotected lots first (a member's status or credit-card protection covers
only that member's own lots); one REDEMPTION posting per contributing member is written, each
balanced against the REDEMPTION counter account. The redemption is the redeemer's (rewards module),
with one ``PooledRedemptionPosting`` row per posting, so ``cancel_redemption`` gives every member's
miles back to the lots they came from, with their original expiry.

The client's request id makes a retry return the first redemption: the first posting carries the key
``pooled-redemption:{redeemer}:{request id}``, the others ``pooled-share:{member}:{redeemer}:{request id}``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from loyalty.errors import Conflict, NotFound, ValidationFailed
from loyalty.events.models import EventType
from loyalty.events.service import record
from loyalty.ledger.expiry import protection_periods
from loyalty.ledger.lots import take_from_lot
from loyalty.ledger.models import Balance, CounterAccount, Currency, Lot, Posting, PostingSource
from loyalty.ledger.quarters import is_protected
from loyalty.ledger.service import PostingSpec, lock_balances, run_once, write_posting
from loyalty.members.models import Member
from loyalty.pooling.models import HOLDING_A_PLACE, PoolMembership, PoolRole
from loyalty.pooling.rules import LotView, allocate, is_working
from loyalty.pooling.state import combine_pool, is_combined, lock_member, lock_pool, place_of
from loyalty.rewards.catalogue import Catalogue, Reward
from loyalty.rewards.models import PooledRedemptionPosting, Redemption, RedemptionState
from loyalty.rewards.service import MAX_REQUEST_ID_LENGTH, InsufficientMiles, find_reward
from loyalty.rules import PoolingRules, ProgrammeRules

MILES = Currency.AWARD_MILES


@dataclass(frozen=True, slots=True)
class PoolShare:
    """What one member contributed to a pooled redemption."""

    account_id: int
    given_name: str
    miles: int
    posting_id: int


@dataclass(frozen=True, slots=True)
class PooledRedemption:
    redemption: Redemption
    shares: list[PoolShare]
    """One per contributing member, in account-id order."""


class _Repeated(Exception):
    """The request's key was posted by a concurrent retry while this one waited for the locks."""


def pooled_key(account_id: int, request_id: str) -> str:
    if not request_id.strip() or len(request_id) > MAX_REQUEST_ID_LENGTH:
        raise ValidationFailed(
            f"The request id is 1 to {MAX_REQUEST_ID_LENGTH} characters.",
            field="requestId",
            code="REQUEST_ID_INVALID",
        )
    return f"pooled-redemption:{account_id}:{request_id}"


async def redeem_from_pool(
    *,
    account_id: int,
    reward_code: str,
    request_id: str,
    rules: ProgrammeRules,
    now: dt.datetime,
    catalogue: Catalogue | None = None,
) -> PooledRedemption:
    """Spend the reward's miles from the pool once per request id; INSUFFICIENT_MILES changes nothing."""
    reward = find_reward(reward_code, catalogue)
    if reward.miles < rules.redemption.minimum_miles:  # the catalogue loader refuses this already
        raise ValidationFailed("This reward is below the minimum redemption.", code="BELOW_MINIMUM")
    key = pooled_key(account_id, request_id)

    async def body() -> Posting:
        await lock_member(account_id)
        if await Posting.filter(idempotency_key=key).exists():  # a concurrent retry won meanwhile
            raise _Repeated
        contributors = await _contributors(account_id, now.date(), rules.pooling)
        return await _debit(account_id, contributors, reward, request_id, rules, now)

    try:
        result = await run_once(key, body)
        assert result is not None  # body always writes or raises
        posting_id = result.posting_id
    except _Repeated:
        posting_id = (await Posting.get(idempotency_key=key)).id
    redemption = await Redemption.get(posting_id=posting_id)
    if redemption.reward_code != reward.code:
        raise Conflict(
            "This request id was used for another reward.", field="requestId", code="REQUEST_ID_REUSED"
        )
    rows = await PooledRedemptionPosting.filter(redemption_id=redemption.id).order_by("account_id")
    names = {m.id: m.given_name for m in await Member.filter(id__in=[row.account_id for row in rows])}
    shares = [
        PoolShare(
            account_id=row.account_id,
            given_name=names[row.account_id],
            miles=row.miles,
            posting_id=row.posting_id,
        )
        for row in rows
    ]
    return PooledRedemption(redemption=redemption, shares=shares)


async def _contributors(account_id: int, today: dt.date, rules: PoolingRules) -> list[PoolMembership]:
    """Lock the pool (the redeemer's row is locked), check the redeemer may spend it: the combined members."""
    place = await place_of(account_id)
    if place is None:
        raise NotFound("You are not in a pool.", code="NOT_IN_POOL")
    pool = await lock_pool(place.pool_id)
    await combine_pool(pool, today)
    await place.refresh_from_db()
    if place.state not in HOLDING_A_PLACE:  # left, or the pool dissolved, while this waited for the lock
        raise NotFound("You are not in a pool.", code="NOT_IN_POOL")
    if place.role is not PoolRole.ADULT:
        raise ValidationFailed(
            "Only the pool's adults redeem pooled miles; your own miles you can redeem yourself.",
            code="ONLY_ADULTS_REDEEM",
        )
    if not is_combined(place, today):
        raise ValidationFailed(
            f"Your miles join the pool on {place.combines_on}; pooled redemption starts then.",
            code="NOT_COMBINED_YET",
        )
    rows = await PoolMembership.filter(pool_id=pool.id, seat_account_id__isnull=False)
    combined = sorted((row for row in rows if is_combined(row, today)), key=lambda row: row.account_id)
    if not is_working([row.role for row in combined], rules):
        raise ValidationFailed(
            "The pool needs at least two combined members, one of them an adult.", code="POOL_NOT_WORKING"
        )
    return combined


async def _debit(
    account_id: int,
    contributors: list[PoolMembership],
    reward: Reward,
    request_id: str,
    rules: ProgrammeRules,
    now: dt.datetime,
) -> Posting:
    """Allocate the reward's miles, write one posting per contributing member, then the redemption."""
    lots, plan = await _plan([row.account_id for row in contributors], reward.miles, now.date())
    by_member: dict[int, list[tuple[LotView, int]]] = defaultdict(list)
    for view, taken in plan:
        by_member[view.account_id].append((view, taken))
    pool_id = contributors[0].pool_id
    shares: list[tuple[Posting, int]] = []
    for member_id in sorted(by_member):
        miles = sum(taken for _, taken in by_member[member_id])
        key = (
            f"pooled-share:{member_id}:{account_id}:{request_id}"
            if shares
            else pooled_key(account_id, request_id)
        )
        spec = PostingSpec(
            account_id=member_id,
            amounts={MILES: -miles},
            source=PostingSource.REDEMPTION,
            idempotency_key=key,
            activity_date=now.date(),
            rule_version=rules.version,
            counter_account=CounterAccount.REDEMPTION,
            description=f"Pooled redemption {reward.code}"[:200],
        )
        posting = await write_posting(spec)
        for view, taken in by_member[member_id]:
            await take_from_lot(lot=lots[view.lot_id], posting_id=posting.id, amount=taken)
        shares.append((posting, miles))
    await _record_redemption(account_id, pool_id, reward, shares, now)
    return shares[0][0]  # the plan covers the reward's miles, so someone contributed


async def _plan(
    ids: list[int], amount: int, today: dt.date
) -> tuple[dict[int, Lot], list[tuple[LotView, int]]]:
    """Lock the members' balances (account order) and lots; which lot gives how many miles."""
    balances: list[Balance] = [(await lock_balances(member_id, {MILES: 0}))[MILES] for member_id in ids]
    lots = {
        lot.id: lot
        for lot in await Lot.filter(account_id__in=ids, remaining__gt=0).order_by("id").select_for_update()
    }
    periods = await protection_periods(account_ids=ids)
    views = [
        LotView(
            lot_id=lot.id,
            account_id=lot.account_id,
            remaining=lot.remaining,
            expires_on=lot.expires_on,
            protected=is_protected(lot.expires_on, today, periods[lot.account_id]),
        )
        for lot in lots.values()
    ]
    plan = allocate(views, amount)
    if sum(taken for _, taken in plan) < amount:
        raise InsufficientMiles(required=amount, balance=sum(balance.amount for balance in balances))
    return lots, plan


async def _record_redemption(
    account_id: int, pool_id: int, reward: Reward, shares: list[tuple[Posting, int]], now: dt.datetime
) -> None:
    """The redeemer's redemption (its posting: the first share's), the share rows and the event."""
    redemption = await Redemption.create(
        account_id=account_id,
        reward_code=reward.code,
        miles=reward.miles,
        posting_id=shares[0][0].id,
        state=RedemptionState.REDEEMED,
        created_at=now,
    )
    await PooledRedemptionPosting.bulk_create(
        [
            PooledRedemptionPosting(
                redemption_id=redemption.id,
                pool_id=pool_id,
                posting_id=posting.id,
                account_id=posting.account_id,
                miles=miles,
            )
            for posting, miles in shares
        ]
    )
    await record(
        account_id=account_id,
        type=EventType.REDEMPTION_CREATED,
        posting_id=redemption.posting_id,
        payload={
            "redemptionId": redemption.id,
            "rewardCode": reward.code,
            "miles": reward.miles,
            "state": redemption.state.value,
            "poolId": pool_id,
            "shares": {str(posting.account_id): miles for posting, miles in shares},
        },
    )
