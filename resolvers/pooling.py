"""Pooling resolvers: the member's pool and invitations; invite, accept, decline, leave, remove and
pooled redemption, each needing an AUTHENTICATED session (DOMAIN.md 2)."""

from __future__ import annotations

import datetime as dt

import strawberry

from loyalty.errors import DomainError
from loyalty.pooling import redemption as pooled
from loyalty.pooling import service, views
from loyalty.rewards.catalogue import current_catalogue
from loyalty.rewards.service import InsufficientMiles as ShortOfMiles
from resolvers.auth import require_member, step_up_needed
from schema.context import Info
from schema.errors import InputError
from schema.pooling import (
    AcceptPoolInvitationResult,
    DeclinePoolInvitationResult,
    InviteToPoolResult,
    LeavePoolResult,
    Pool,
    PoolInvitation,
    PoolInvitationDeclined,
    PoolLeft,
    PoolShare,
    PoolUpdated,
    RedeemedFromPool,
    RedeemFromPoolResult,
    RemoveFromPoolResult,
)
from schema.rewards import InsufficientMiles, Redemption


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def member_pool(info: Info, *, account_id: int) -> Pool | None:
    view = await views.pool_of(account_id=account_id, today=_now().date(), rules=info.context.rules.pooling)
    return None if view is None else Pool.from_view(view)


async def member_invitations(*, account_id: int) -> list[PoolInvitation]:
    return [PoolInvitation.from_view(view) for view in await views.invitations_of(account_id=account_id)]


async def _updated(info: Info, account_id: int, *, dissolved: bool = False) -> PoolUpdated:
    return PoolUpdated(pool=await member_pool(info, account_id=account_id), dissolved=dissolved)


def _id(raw: str, field: str) -> int | InputError:
    return int(raw) if raw.isdigit() else InputError(code="NOT_FOUND", field=field, message="No such id.")


async def invite(info: Info, service_card_number: str) -> InviteToPoolResult:
    principal = require_member(info)
    if (refused := step_up_needed(info)) is not None:
        return refused
    try:
        await service.invite(
            account_id=principal.account_id,
            service_card_number=service_card_number,
            rules=info.context.rules,
            now=_now(),
        )
    except DomainError as error:
        return InputError.from_domain(error)
    return await _updated(info, principal.account_id)


async def accept(info: Info, invitation_id: str) -> AcceptPoolInvitationResult:
    principal = require_member(info)
    if (refused := step_up_needed(info)) is not None:
        return refused
    parsed = _id(invitation_id, "invitationId")
    if isinstance(parsed, InputError):
        return parsed
    try:
        await service.accept(
            account_id=principal.account_id, invitation_id=parsed, rules=info.context.rules, now=_now()
        )
    except DomainError as error:
        return InputError.from_domain(error)
    return await _updated(info, principal.account_id)


async def decline(info: Info, invitation_id: str) -> DeclinePoolInvitationResult:
    principal = require_member(info)
    if (refused := step_up_needed(info)) is not None:
        return refused
    parsed = _id(invitation_id, "invitationId")
    if isinstance(parsed, InputError):
        return parsed
    try:
        await service.decline(
            account_id=principal.account_id, invitation_id=parsed, rules=info.context.rules, now=_now()
        )
    except DomainError as error:
        return InputError.from_domain(error)
    return PoolInvitationDeclined(invitation_id=strawberry.ID(invitation_id))


async def leave(info: Info) -> LeavePoolResult:
    principal = require_member(info)
    if (refused := step_up_needed(info)) is not None:
        return refused
    try:
        left = await service.leave(account_id=principal.account_id, rules=info.context.rules, now=_now())
    except DomainError as error:
        return InputError.from_domain(error)
    assert left.membership.blocked_until is not None  # leaving always sets the block
    return PoolLeft(blocked_until=left.membership.blocked_until, dissolved=left.dissolved)


async def remove(info: Info, membership_id: str) -> RemoveFromPoolResult:
    principal = require_member(info)
    if (refused := step_up_needed(info)) is not None:
        return refused
    parsed = _id(membership_id, "membershipId")
    if isinstance(parsed, InputError):
        return parsed
    try:
        removed = await service.remove(
            account_id=principal.account_id, membership_id=parsed, rules=info.context.rules, now=_now()
        )
    except DomainError as error:
        return InputError.from_domain(error)
    return await _updated(info, principal.account_id, dissolved=removed.dissolved)


async def redeem(info: Info, reward_code: str, request_id: str) -> RedeemFromPoolResult:
    principal = require_member(info)
    if (refused := step_up_needed(info)) is not None:
        return refused
    try:
        result = await pooled.redeem_from_pool(
            account_id=principal.account_id,
            reward_code=reward_code,
            request_id=request_id,
            rules=info.context.rules,
            now=_now(),
        )
    except ShortOfMiles as short:
        return InsufficientMiles(
            code=short.code,
            message=short.message,
            required=short.required,
            balance=short.balance,
            missing=short.missing,
        )
    except DomainError as error:
        return InputError.from_domain(error)
    pool = await member_pool(info, account_id=principal.account_id)
    row = result.redemption
    return RedeemedFromPool(
        redemption=Redemption.from_model(row, current_catalogue().get(row.reward_code)),
        shares=[PoolShare(given_name=share.given_name, miles=share.miles) for share in result.shares],
        pool_miles=0 if pool is None else pool.award_miles,
    )
