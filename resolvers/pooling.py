"""Pooling resolvers: the member's pool and invitations; invite, accept, decline, leave, remove and
pooled redemption, each needing an AUTHENTICATED session (DOMAIN.md 2; the schema checks the level)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from loyalty.errors import NotFound
from loyalty.pooling import redemption as pooled
from loyalty.pooling import service, views
from loyalty.pooling.views import InvitationView, PoolView
from loyalty.rewards.catalogue import Reward, current_catalogue
from loyalty.rewards.models import Redemption
from loyalty.rules import ProgrammeRules


@dataclass(frozen=True, slots=True)
class PoolUpdated:
    pool: PoolView | None
    """The pool as the member sees it now; None when it dissolved."""
    dissolved: bool = False


@dataclass(frozen=True, slots=True)
class RedeemedFromPool:
    redemption: Redemption
    reward: Reward | None
    shares: list[pooled.PoolShare]
    pool_miles: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _id(raw: str, field: str) -> int:
    if not raw.isdigit():
        raise NotFound("No such id.", field=field, code="NOT_FOUND")
    return int(raw)


async def member_pool(*, account_id: int, rules: ProgrammeRules) -> PoolView | None:
    now = _now()
    return await views.pool_of(account_id=account_id, today=now.date(), rules=rules.pooling, now=now)


async def member_invitations(*, account_id: int, rules: ProgrammeRules) -> list[InvitationView]:
    return await views.invitations_of(account_id=account_id, now=_now(), rules=rules.pooling)


async def _updated(account_id: int, rules: ProgrammeRules, *, dissolved: bool = False) -> PoolUpdated:
    return PoolUpdated(pool=await member_pool(account_id=account_id, rules=rules), dissolved=dissolved)


async def invite(*, account_id: int, service_card_number: str, rules: ProgrammeRules) -> PoolUpdated:
    await service.invite(
        account_id=account_id, service_card_number=service_card_number, rules=rules, now=_now()
    )
    return await _updated(account_id, rules)


async def accept(*, account_id: int, invitation_id: str, rules: ProgrammeRules) -> PoolUpdated:
    parsed = _id(invitation_id, "invitationId")
    await service.accept(account_id=account_id, invitation_id=parsed, rules=rules, now=_now())
    return await _updated(account_id, rules)


async def decline(*, account_id: int, invitation_id: str, rules: ProgrammeRules) -> None:
    parsed = _id(invitation_id, "invitationId")
    await service.decline(account_id=account_id, invitation_id=parsed, rules=rules, now=_now())


async def leave(*, account_id: int, rules: ProgrammeRules) -> service.Departure:
    return await service.leave(account_id=account_id, rules=rules, now=_now())


async def remove(*, account_id: int, membership_id: str, rules: ProgrammeRules) -> PoolUpdated:
    parsed = _id(membership_id, "membershipId")
    removed = await service.remove(account_id=account_id, membership_id=parsed, rules=rules, now=_now())
    return await _updated(account_id, rules, dissolved=removed.dissolved)


async def redeem(
    *, account_id: int, reward_code: str, request_id: str, rules: ProgrammeRules
) -> RedeemedFromPool:
    result = await pooled.redeem_from_pool(
        account_id=account_id, reward_code=reward_code, request_id=request_id, rules=rules, now=_now()
    )
    pool = await member_pool(account_id=account_id, rules=rules)
    row = result.redemption
    return RedeemedFromPool(
        redemption=row,
        reward=current_catalogue().get(row.reward_code),
        shares=result.shares,
        pool_miles=0 if pool is None else pool.award_miles,
    )
