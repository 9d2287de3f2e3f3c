"""Mileage pooling (DOMAIN.md 7): founding, inviting, accepting, declining, leaving, removing, combining.

An adult founds a pool by inviting someone with their service card number; the invitee accepts or
declines. An open invitation reserves its place, so the limits (2 adults, 5 children) hold for
invitations and acceptances alike; the role is set by age on the day of the invitation and checked
again on the day of the acceptance. Miles combine 2 days after the acceptance. A member is in at
most one pool. Leaving, or being removed by the founder, keeps the member out of every pool for 6
months. When a pool falls below its minimum (no adult left, or fewer than 2 members counting open
invitations) it dissolves: remaining members are released without any block and may found or join
another pool at once; open invitations are withdrawn. Their miles never moved: they stay in each
member's own ledger. When the founder leaves a pool that carries on, the adult who joined first
becomes its founder. An erased member (``release_erased``) leaves the same way, without a block, and
declines their open invitations. An invitation nobody answers expires ``invitation_valid_days`` after it
was sent: every change of its pool marks it EXPIRED first (so it frees its place), accepting or declining
it is refused with INVITATION_EXPIRED, and ``expire_invitations_due`` (``milesgate pools
expire-invitations``) marks the rest and settles their pools.

Every change runs in one transaction under row locks (see ``loyalty.pooling.state``) and writes a
``pool.changed`` domain event for each member whose membership changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.errors import Conflict, NotFound, ValidationFailed
from loyalty.ledger.quarters import add_months
from loyalty.members.models import CardState, Member
from loyalty.members.service import resolve_card
from loyalty.pooling.models import (
    HOLDING_A_PLACE,
    OPEN_STATES,
    MembershipState,
    Pool,
    PoolMembership,
    PoolRole,
    PoolState,
)
from loyalty.pooling.rules import places, role_on
from loyalty.pooling.state import (
    announce,
    combine_pool,
    expire_invitations,
    invitation_expires_at,
    lock_member,
    lock_pool,
    place_of,
)
from loyalty.rules import PoolingRules, ProgrammeRules

CARD_FIELD = "serviceCardNumber"


@dataclass(frozen=True, slots=True)
class Departure:
    """A member left or was removed (or an invitation was withdrawn), and whether the pool dissolved."""

    membership: PoolMembership
    dissolved: bool


async def invite(
    *, account_id: int, service_card_number: str, rules: ProgrammeRules, now: dt.datetime
) -> PoolMembership:
    """Invite the holder of ``service_card_number`` to the adult's pool, founding one if there is none."""
    card = await resolve_card(service_card_number, rules)
    if card.state is CardState.BLOCKED:
        raise ValidationFailed("This service card number is blocked.", field=CARD_FIELD, code="CARD_BLOCKED")
    if card.account_id == account_id:
        raise ValidationFailed("You cannot invite yourself.", field=CARD_FIELD, code="CANNOT_INVITE_SELF")
    try:
        async with in_transaction():
            founder, invitee = await _lock_both(account_id, card.account_id)
            if invitee.erased_at is not None:  # erased since the card was read
                raise ValidationFailed(
                    "This service card number is blocked.", field=CARD_FIELD, code="CARD_BLOCKED"
                )
            pool = await _own_pool(founder, rules.pooling, now)
            role = await _check_can_join(invitee, now.date(), rules.pooling, field=CARD_FIELD)
            if await PoolMembership.filter(
                pool_id=pool.id, account_id=invitee.id, state=MembershipState.INVITED
            ).exists():
                raise Conflict("This member is invited already.", field=CARD_FIELD, code="ALREADY_INVITED")
            await _check_place(pool, role, rules.pooling, field=CARD_FIELD)
            invitation = await PoolMembership.create(
                pool_id=pool.id,
                account_id=invitee.id,
                role=role,
                state=MembershipState.INVITED,
                invited_by_account_id=founder.id,
                invited_at=now,
            )
            await announce(invitation, "invited", invitedBy=founder.id)
    except IntegrityError:
        raise _already_in_pool(CARD_FIELD) from None
    return invitation


async def accept(
    *, account_id: int, invitation_id: int, rules: ProgrammeRules, now: dt.datetime
) -> PoolMembership:
    """Join the pool of the invitation; the member's miles combine ``combine_after_days`` later."""
    declined_in: set[int] = set()
    expired: PoolMembership | None = None
    try:
        async with in_transaction():
            member = await lock_member(account_id)
            pool, invitation = await _open_invitation(account_id, invitation_id, now, rules.pooling)
            if invitation.state is MembershipState.EXPIRED:
                expired = invitation  # the expiry is committed, then refused below
            else:
                declined_in = await _join(member, pool, invitation, rules.pooling, now)
    except IntegrityError:
        raise _already_in_pool("invitationId") from None
    if expired is not None:
        raise _invitation_expired(expired, rules.pooling)
    for other_pool_id in sorted(declined_in):  # after the commit: a pool lock at a time
        await _settle_pool(other_pool_id, now, rules.pooling)
    await invitation.refresh_from_db()
    return invitation


async def _join(
    member: Member, pool: Pool, invitation: PoolMembership, rules: PoolingRules, now: dt.datetime
) -> set[int]:
    """The acceptance itself (member and pool locked); returns the pools of the invitations it declined."""
    today = now.date()
    role = await _check_can_join(member, today, rules, field="invitationId")
    await _check_place(pool, role, rules, field="invitationId", besides=invitation.id)
    invitation.role = role
    invitation.state = MembershipState.ACCEPTED
    invitation.seat_account_id = member.id
    invitation.responded_at = now
    invitation.combines_on = today + dt.timedelta(days=rules.combine_after_days)
    await invitation.save(update_fields=["role", "state", "seat_account_id", "responded_at", "combines_on"])
    await announce(invitation, "accepted")
    declined_in = await _decline_other_invitations(member.id, besides=invitation.id, now=now)
    await combine_pool(pool, today)
    return declined_in


async def decline(
    *, account_id: int, invitation_id: int, rules: ProgrammeRules, now: dt.datetime
) -> Departure:
    """Turn an invitation down; a pool left with its founder alone dissolves (no block for anyone)."""
    async with in_transaction():
        await lock_member(account_id)
        pool, invitation = await _open_invitation(account_id, invitation_id, now, rules.pooling)
        expired = invitation.state is MembershipState.EXPIRED  # committed as such, then refused below
        if not expired:
            invitation.state = MembershipState.DECLINED
            invitation.responded_at = now
            await invitation.save(update_fields=["state", "responded_at"])
            await announce(invitation, "declined")
            dissolved = await _settle(pool, now, rules.pooling)
    if expired:
        raise _invitation_expired(invitation, rules.pooling)
    return Departure(membership=invitation, dissolved=dissolved)


async def leave(*, account_id: int, rules: ProgrammeRules, now: dt.datetime) -> Departure:
    """Leave the pool at once; no pool for ``block_months_after_leaving`` months."""
    async with in_transaction():
        await lock_member(account_id)
        place = await place_of(account_id)
        if place is None:
            raise NotFound("You are not in a pool.", code="NOT_IN_POOL")
        pool = await lock_pool(place.pool_id)
        await expire_invitations(pool, now, rules.pooling)
        await place.refresh_from_db()
        await _release(place, MembershipState.LEFT, now, rules.pooling)
        dissolved = await _settle(pool, now, rules.pooling)
    return Departure(membership=place, dissolved=dissolved)


async def remove(
    *, account_id: int, membership_id: int, rules: ProgrammeRules, now: dt.datetime
) -> Departure:
    """The founder removes a member (blocked like one who left) or withdraws an open invitation."""
    async with in_transaction():
        await lock_member(account_id)
        place = await place_of(account_id)
        if place is None:
            raise NotFound("You are not in a pool.", code="NOT_IN_POOL")
        pool = await lock_pool(place.pool_id)
        if pool.founder_id != account_id:
            raise ValidationFailed("Only the pool's founder removes members.", code="NOT_FOUNDER")
        await expire_invitations(pool, now, rules.pooling)
        target = await PoolMembership.filter(
            id=membership_id, pool_id=pool.id, state__in=list(OPEN_STATES)
        ).first()
        if target is None:
            raise NotFound("No such member in your pool.", field="membershipId", code="MEMBERSHIP_NOT_FOUND")
        if target.account_id == account_id:
            raise ValidationFailed("Leave the pool instead.", field="membershipId", code="CANNOT_REMOVE_SELF")
        if target.state is MembershipState.INVITED:
            target.state = MembershipState.WITHDRAWN
            target.left_at = now
            await target.save(update_fields=["state", "left_at"])
            await announce(target, "withdrawn")
        else:
            await _release(target, MembershipState.REMOVED, now, rules.pooling)
        dissolved = await _settle(pool, now, rules.pooling)
    return Departure(membership=target, dissolved=dissolved)


async def release_erased(*, account_id: int, rules: PoolingRules, now: dt.datetime) -> int:
    """An erased member is out of pooling: their place is left (so nobody redeems their miles through
    the pool any more) and their open invitations are declined. Each pool concerned then settles: it
    dissolves below its minimum, or a departed founder's role passes on (their own open invitations go
    with the pool or stay with the new founder). No block is recorded: the account is closed, not
    resting. Runs inside the erasure's transaction; returns the memberships changed.

    The erasure calls it right after it locked the member, before any other change to the member's
    data, so the locks follow the order of ``loyalty.pooling.state``: the member's row (FOR NO KEY
    UPDATE), then the pools in id order. Only after that does the erasure rewrite the member row (an
    UPDATE of its unique columns, a full FOR UPDATE lock that waits for every KEY SHARE lock, such as a
    pooled redemption's posting for this member): by then no pool lock is left to wait for, so a pooled
    redemption holding the pool and the erasure cannot deadlock. Invitations are read again once the
    pools are locked; an invitation sent meanwhile cannot slip through, because ``invite`` locks the
    invitee's row too (and refuses an erased one)."""
    await lock_member(account_id)
    changed = 0
    locked: set[int] = set()
    while True:
        pending = {
            int(row[0])
            for row in await PoolMembership.filter(
                account_id=account_id, state__in=list(OPEN_STATES)
            ).values_list("pool_id")
        } - locked
        if not pending:
            return changed
        for pool_id in sorted(pending):
            changed += await _release_from(await lock_pool(pool_id), account_id, rules, now)
            locked.add(pool_id)


async def _release_from(pool: Pool, account_id: int, rules: PoolingRules, now: dt.datetime) -> int:
    """The erased member's rows in one (locked) pool, read under its lock: declined or left."""
    expired = await expire_invitations(pool, now, rules)
    changed = 0
    for row in await PoolMembership.filter(
        pool_id=pool.id, account_id=account_id, state__in=list(OPEN_STATES)
    ):
        if row.state is MembershipState.INVITED:
            row.state = MembershipState.DECLINED
            row.responded_at = now
            await row.save(update_fields=["state", "responded_at"])
            await announce(row, "declined", reason="account closed")
        else:
            await _release(row, MembershipState.LEFT, now, rules, block=False)
        changed += 1
    if (changed or expired) and pool.state is PoolState.ACTIVE:
        await _settle(pool, now, rules)
    return changed


async def combine_due(*, today: dt.date) -> int:
    """Combine every accepted member whose day has come (a periodic job; pool changes do it too)."""
    rows = await PoolMembership.filter(state=MembershipState.ACCEPTED, combines_on__lte=today).values_list(
        "pool_id"
    )
    combined = 0
    for pool_id in sorted({int(row[0]) for row in rows}):
        async with in_transaction():
            combined += await combine_pool(await lock_pool(pool_id), today)
    return combined


async def expire_invitations_due(*, now: dt.datetime, rules: PoolingRules) -> int:
    """Mark every invitation that ran out EXPIRED and settle its pool (a periodic job; every change of a
    pool does it for that pool anyway): a founder left alone by it is released, the pool dissolved."""
    sent_before = now - dt.timedelta(days=rules.invitation_valid_days)
    rows = await PoolMembership.filter(
        state=MembershipState.INVITED, invited_at__lte=sent_before
    ).values_list("pool_id")
    expired = 0
    for pool_id in sorted({int(row[0]) for row in rows}):
        async with in_transaction():
            pool = await lock_pool(pool_id)
            if pool.state is PoolState.ACTIVE and (count := await expire_invitations(pool, now, rules)):
                expired += count
                await _settle(pool, now, rules)
    return expired


async def blocked_until(*, account_id: int, today: dt.date) -> dt.date | None:
    """The day until which the member may join no pool (after leaving or a removal), if any."""
    rows = await PoolMembership.filter(account_id=account_id, blocked_until__gt=today).values_list(
        "blocked_until"
    )
    days: list[dt.date] = [row[0] for row in rows]
    return max(days, default=None)


async def _lock_both(founder_id: int, invitee_id: int) -> tuple[Member, Member]:
    """The founder's and the invitee's rows, locked in account-id order (``loyalty.pooling.state``)."""
    locked = {member_id: await lock_member(member_id) for member_id in sorted({founder_id, invitee_id})}
    return locked[founder_id], locked[invitee_id]


async def _own_pool(founder: Member, rules: PoolingRules, now: dt.datetime) -> Pool:
    """The founder's (locked) pool; an adult without a pool founds one with themselves as first member."""
    place = await place_of(founder.id)
    if place is not None:
        pool = await lock_pool(place.pool_id)
        if pool.founder_id != founder.id:
            raise ValidationFailed("Only the pool's founder invites members.", code="NOT_FOUNDER")
        await combine_pool(pool, now.date())
        await expire_invitations(pool, now, rules)
        return pool
    role = await _check_can_join(founder, now.date(), rules, field=None)
    if role is not PoolRole.ADULT:
        raise ValidationFailed("Only adults found a pool.", code="NOT_ADULT")
    pool = await Pool.create(founder_id=founder.id, created_at=now)
    seat = await PoolMembership.create(
        pool_id=pool.id,
        account_id=founder.id,
        role=role,
        state=MembershipState.COMBINED,
        seat_account_id=founder.id,
        invited_at=now,
        responded_at=now,
        combines_on=now.date(),
    )
    await announce(seat, "founded")
    return pool


async def _check_can_join(
    member: Member, today: dt.date, rules: PoolingRules, *, field: str | None
) -> PoolRole:
    """Residence, age, block and one pool per member; the member's role on ``today``."""
    if member.country.upper() not in rules.eligible_countries:
        raise ValidationFailed(
            f"Pooling is not offered for residents of {member.country}.",
            field=field,
            code="COUNTRY_NOT_ELIGIBLE",
        )
    role = role_on(member.date_of_birth, today, rules)
    if role is None:
        raise ValidationFailed(
            f"Pool members are at least {rules.child_min_age_years} years old.", field=field, code="TOO_YOUNG"
        )
    until = await blocked_until(account_id=member.id, today=today)
    if until is not None:
        raise ValidationFailed(
            f"After leaving a pool a member may join another from {until.isoformat()}.",
            field=field,
            code="POOL_BLOCKED",
        )
    if await place_of(member.id) is not None:
        raise _already_in_pool(field)
    return role


async def _check_place(
    pool: Pool, role: PoolRole, rules: PoolingRules, *, field: str, besides: int | None = None
) -> None:
    """A place of ``role`` is free: members and open invitations of that role stay within the limit."""
    taken = PoolMembership.filter(pool_id=pool.id, role=role, state__in=list(OPEN_STATES))
    if besides is not None:
        taken = taken.exclude(id=besides)
    limit = places(role, rules)
    if await taken.count() >= limit:
        kind = "adults" if role is PoolRole.ADULT else "children"
        raise Conflict(f"A pool has room for {limit} {kind}.", field=field, code="POOL_FULL")


async def _open_invitation(
    account_id: int, invitation_id: int, now: dt.datetime, rules: PoolingRules
) -> tuple[Pool, PoolMembership]:
    """The member's open invitation with its pool locked (read again after the lock). The pool's
    invitations that ran out are marked EXPIRED first (and the pool settled): an EXPIRED invitation comes
    back as it is, for the caller to commit that and refuse it (``_refuse_expired``)."""
    found = await PoolMembership.get_or_none(id=invitation_id, account_id=account_id)
    if found is not None:
        pool = await lock_pool(found.pool_id)
        if pool.state is PoolState.ACTIVE and await expire_invitations(pool, now, rules):
            await _settle(pool, now, rules)
        await found.refresh_from_db()
        if found.state is MembershipState.EXPIRED or (
            found.state is MembershipState.INVITED and pool.state is PoolState.ACTIVE
        ):
            return pool, found
    raise NotFound("No open invitation with this id.", field="invitationId", code="INVITATION_NOT_FOUND")


def _invitation_expired(invitation: PoolMembership, rules: PoolingRules) -> ValidationFailed:
    expired_at = invitation_expires_at(invitation.invited_at, rules)
    return ValidationFailed(
        f"This invitation expired on {expired_at.date().isoformat()}: ask for a new one.",
        field="invitationId",
        code="INVITATION_EXPIRED",
    )


async def _decline_other_invitations(account_id: int, *, besides: int, now: dt.datetime) -> set[int]:
    """A member who joined a pool turns down their other invitations (one pool per member).

    Returns the pools concerned: each is settled afterwards in a transaction of its own (a founder left
    alone there is released), so no transaction ever holds two pool locks.
    """
    others = await PoolMembership.filter(account_id=account_id, state=MembershipState.INVITED).exclude(
        id=besides
    )
    for other in others:
        other.state = MembershipState.DECLINED
        other.responded_at = now
        await other.save(update_fields=["state", "responded_at"])
        await announce(other, "declined", reason="joined another pool")
    return {other.pool_id for other in others}


async def _settle_pool(pool_id: int, now: dt.datetime, rules: PoolingRules) -> None:
    async with in_transaction():
        pool = await lock_pool(pool_id)
        if pool.state is PoolState.ACTIVE:
            await _settle(pool, now, rules)


async def _release(
    place: PoolMembership,
    state: MembershipState,
    now: dt.datetime,
    rules: PoolingRules,
    *,
    block: bool = True,
) -> None:
    """The member is out (LEFT or REMOVED) and, with ``block``, kept from every pool for the configured
    months (not when the account closes)."""
    place.state = state
    place.seat_account_id = None
    place.left_at = now
    if block:
        place.blocked_until = add_months(now.date(), rules.block_months_after_leaving)
    await place.save(update_fields=["state", "seat_account_id", "left_at", "blocked_until"])
    extra = {} if block else {"reason": "account closed"}
    await announce(place, "left" if state is MembershipState.LEFT else "removed", **extra)


async def _settle(pool: Pool, now: dt.datetime, rules: PoolingRules) -> bool:
    """After someone went: dissolve a pool below its minimum, or hand a departed founder's role on."""
    rows = await PoolMembership.filter(pool_id=pool.id, state__in=list(OPEN_STATES)).order_by(
        "responded_at", "id"
    )
    holding = [row for row in rows if row.state in HOLDING_A_PLACE]
    adults = [row for row in holding if row.role is PoolRole.ADULT]
    if len(adults) < rules.minimum_adults or len(rows) < rules.minimum_members:
        await _dissolve(pool, rows, now)
        return True
    if pool.founder_id not in {row.account_id for row in holding}:
        pool.founder_id = adults[0].account_id
        await pool.save(update_fields=["founder_id"])
        await announce(adults[0], "founder")
    return False


async def _dissolve(pool: Pool, rows: list[PoolMembership], now: dt.datetime) -> None:
    """End the pool: members are released without a block, open invitations withdrawn."""
    for row in rows:
        row.state = (
            MembershipState.WITHDRAWN if row.state is MembershipState.INVITED else MembershipState.DISSOLVED
        )
        row.seat_account_id = None
        row.left_at = now
        await row.save(update_fields=["state", "seat_account_id", "left_at"])
        await announce(row, "dissolved")
    pool.state = PoolState.DISSOLVED
    pool.dissolved_at = now
    await pool.save(update_fields=["state", "dissolved_at"])


def _already_in_pool(field: str | None) -> Conflict:
    return Conflict(
        "This member is in a pool already (one pool per member).", field=field, code="ALREADY_IN_POOL"
    )
