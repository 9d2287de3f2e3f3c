"""What a member sees of pooling: their pool (members, combined miles, what they may redeem) and invitations.

The pool balance is virtual: the sum of the award-miles balances of the members whose miles have
combined. Points, Qualifying Points and HON Circle Points are never pooled.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from loyalty.ledger.models import Balance, Currency
from loyalty.members.models import Member
from loyalty.pooling.models import (
    HOLDING_A_PLACE,
    OPEN_STATES,
    MembershipState,
    Pool,
    PoolMembership,
    PoolRole,
)
from loyalty.pooling.rules import is_working
from loyalty.pooling.state import invitation_expires_at, is_combined, is_expired, place_of
from loyalty.rules import PoolingRules


@dataclass(frozen=True, slots=True)
class PoolMemberView:
    membership: PoolMembership
    given_name: str
    family_name: str
    combined: bool
    award_miles: int | None
    """The member's own award miles once they accepted; None for an open invitation."""
    founder: bool


@dataclass(frozen=True, slots=True)
class PoolView:
    pool: Pool
    members: list[PoolMemberView]
    viewer: PoolMemberView
    working: bool
    award_miles: int
    """The pool balance: award miles of every combined member."""
    viewer_may_redeem: bool
    """An adult whose miles have combined, in a working pool, redeems the pool balance."""
    redeemable_miles: int
    """What the viewer may spend: the pool balance if they may redeem it, else their own miles."""


@dataclass(frozen=True, slots=True)
class InvitationView:
    membership: PoolMembership
    invited_by_name: str
    members: int
    """How many members the pool has now (accepted or combined)."""
    expires_at: dt.datetime
    """When the invitation stops being open (``invitation_valid_days`` after it was sent)."""


async def pool_of(
    *, account_id: int, today: dt.date, rules: PoolingRules, now: dt.datetime | None = None
) -> PoolView | None:
    """The member's pool as they see it today (at ``now``: the start of ``today`` by default); None when
    they are in none. Invitations that ran out are not listed, whether or not they were marked yet."""
    place = await place_of(account_id)
    if place is None:
        return None
    moment = now or dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)
    pool = await Pool.get(id=place.pool_id)
    rows = [
        row
        for row in await PoolMembership.filter(pool_id=pool.id, state__in=list(OPEN_STATES)).order_by(
            "invited_at", "id"
        )
        if not is_expired(row, moment, rules)
    ]
    ids = [row.account_id for row in rows]
    people = {member.id: member for member in await Member.filter(id__in=ids)}
    miles = {
        int(account): int(amount)
        for account, amount in await Balance.filter(
            account_id__in=ids, currency=Currency.AWARD_MILES
        ).values_list("account_id", "amount")
    }
    members = [
        PoolMemberView(
            membership=row,
            given_name=people[row.account_id].given_name,
            family_name=people[row.account_id].family_name,
            combined=is_combined(row, today),
            award_miles=None if row.state is MembershipState.INVITED else miles.get(row.account_id, 0),
            founder=row.account_id == pool.founder_id,
        )
        for row in rows
    ]
    combined = [member for member in members if member.combined]
    viewer = next(member for member in members if member.membership.account_id == account_id)
    working = is_working([member.membership.role for member in combined], rules)
    pooled = sum(member.award_miles or 0 for member in combined)
    may_redeem = working and viewer.combined and viewer.membership.role is PoolRole.ADULT
    return PoolView(
        pool=pool,
        members=members,
        viewer=viewer,
        working=working,
        award_miles=pooled,
        viewer_may_redeem=may_redeem,
        redeemable_miles=pooled if may_redeem else miles.get(account_id, 0),
    )


async def invitations_of(*, account_id: int, now: dt.datetime, rules: PoolingRules) -> list[InvitationView]:
    """The member's open invitations, newest first; those that ran out are not listed (marked or not)."""
    rows = await PoolMembership.filter(
        account_id=account_id,
        state=MembershipState.INVITED,
        invited_at__gt=now - dt.timedelta(days=rules.invitation_valid_days),
    ).order_by("-invited_at", "-id")
    inviters = {
        member.id: member
        for member in await Member.filter(id__in=[row.invited_by_account_id for row in rows])
    }
    sizes: Counter[int] = Counter(
        int(row[0])
        for row in await PoolMembership.filter(
            pool_id__in=[row.pool_id for row in rows], state__in=list(HOLDING_A_PLACE)
        ).values_list("pool_id")
    )
    return [
        InvitationView(
            membership=row,
            invited_by_name=_name(inviters.get(row.invited_by_account_id or 0)),
            members=sizes[row.pool_id],
            expires_at=invitation_expires_at(row.invited_at, rules),
        )
        for row in rows
    ]


def _name(member: Member | None) -> str:
    return "" if member is None else f"{member.given_name} {member.family_name}"
