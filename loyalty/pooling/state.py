"""What every pool change shares: the locks in their fixed order, the member's place, combining, events.

Lock order (the same in every transaction, so none deadlocks):

1. the acting member's row (an invitation: the founder's and the invitee's rows, in account-id order;
   an erasure: the erased member's row, ``loyalty.privacy.service``);
2. the pool row (an erasure: every pool the member has a place or an invitation in, in pool-id order,
   before it changes anything else of the member);
3. pooled redemption only: the contributing members' balance rows in account-id order, then their lots,
   then the postings (whose foreign key takes a KEY SHARE lock on each contributor's member row).

Membership rows are only changed while their pool row is locked. Member and pool rows are locked FOR NO
KEY UPDATE: a posting inserted for a member (its foreign key takes a KEY SHARE lock on the member row)
never waits for a pool change, so ledger writes and pool changes cannot deadlock. The one full FOR
UPDATE lock on a member row is the erasure's rewrite of the profile (it changes unique columns); it comes
after the erasure's pool locks, so a pooled redemption that holds a pool and waits for that KEY SHARE
lock never waits for a transaction that itself waits for the pool.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from loyalty.errors import NotFound
from loyalty.events.models import EventType
from loyalty.events.service import record
from loyalty.members.models import Member
from loyalty.pooling.models import HOLDING_A_PLACE, MembershipState, Pool, PoolMembership
from loyalty.rules import PoolingRules


async def lock_member(account_id: int) -> Member:
    """Lock the acting member's row: one change at a time per member, whatever pools it touches."""
    member = await Member.filter(id=account_id).select_for_update(no_key=True).first()
    if member is None:
        raise NotFound("No such member.", code="MEMBER_NOT_FOUND")
    return member


async def lock_pool(pool_id: int) -> Pool:
    pool = await Pool.filter(id=pool_id).select_for_update(no_key=True).first()
    if pool is None:  # memberships hold a foreign key to their pool
        raise NotFound("No such pool.", code="POOL_NOT_FOUND")
    return pool


async def place_of(account_id: int) -> PoolMembership | None:
    """The member's place in a pool (ACCEPTED or COMBINED), if the member is in one."""
    return await PoolMembership.filter(account_id=account_id, state__in=list(HOLDING_A_PLACE)).first()


def is_combined(membership: PoolMembership, today: dt.date) -> bool:
    """The member's miles are in the pool: combined, or accepted and the combining day has come."""
    if membership.state is MembershipState.COMBINED:
        return True
    return (
        membership.state is MembershipState.ACCEPTED
        and membership.combines_on is not None
        and membership.combines_on <= today
    )


async def combine_pool(pool: Pool, today: dt.date) -> int:
    """Mark the (locked) pool's accepted members whose combining day has come COMBINED, with an event each."""
    due = await PoolMembership.filter(
        pool_id=pool.id, state=MembershipState.ACCEPTED, combines_on__lte=today
    ).order_by("id")
    for membership in due:
        membership.state = MembershipState.COMBINED
        await membership.save(update_fields=["state"])
        await announce(membership, "combined")
    return len(due)


def invitation_expires_at(invited_at: dt.datetime, rules: PoolingRules) -> dt.datetime:
    """When an invitation sent at ``invited_at`` stops being open (``invitation_valid_days`` later)."""
    return invited_at + dt.timedelta(days=rules.invitation_valid_days)


def is_expired(membership: PoolMembership, now: dt.datetime, rules: PoolingRules) -> bool:
    """An open invitation nobody answered in time (it holds no place, and cannot be accepted)."""
    return membership.state is MembershipState.INVITED and now >= invitation_expires_at(
        membership.invited_at, rules
    )


async def expire_invitations(pool: Pool, now: dt.datetime, rules: PoolingRules) -> int:
    """Mark the (locked) pool's invitations that ran out EXPIRED, with an event each. Every change of the
    pool does it first, so an expired invitation frees its place; the pool is settled by the caller."""
    sent_before = now - dt.timedelta(days=rules.invitation_valid_days)
    stale = await PoolMembership.filter(
        pool_id=pool.id, state=MembershipState.INVITED, invited_at__lte=sent_before
    ).order_by("id")
    for membership in stale:
        membership.state = MembershipState.EXPIRED
        membership.left_at = now
        await membership.save(update_fields=["state", "left_at"])
        await announce(membership, "expired")
    return len(stale)


async def announce(membership: PoolMembership, change: str, **extra: Any) -> None:
    """The POOL_CHANGED event of the member whose membership changed, in the change's transaction."""
    await record(
        account_id=membership.account_id,
        type=EventType.POOL_CHANGED,
        payload={
            "poolId": membership.pool_id,
            "membershipId": membership.id,
            "change": change,
            "state": membership.state.value,
            "role": membership.role.value,
            "combinesOn": _iso(membership.combines_on),
            "blockedUntil": _iso(membership.blocked_until),
            **extra,
        },
    )


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()
