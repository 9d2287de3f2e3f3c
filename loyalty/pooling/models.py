"""Mileage pools and the memberships in them.

A pool is a virtual balance: the award miles stay in each member's own ledger, and a pooled redemption
takes them from the members' lots. A membership row follows one member's way through one pool:
INVITED, then ACCEPTED (miles combine 2 days later: COMBINED), DECLINED, WITHDRAWN (the founder took
the invitation back), EXPIRED (nobody answered it in time), LEFT, REMOVED (by the founder) or DISSOLVED
(the pool fell below its minimum).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from loyalty.members.models import Member


class PoolState(StrEnum):
    """ACTIVE from the first invitation; DISSOLVED once it fell below its minimum (for good)."""

    ACTIVE = "ACTIVE"
    DISSOLVED = "DISSOLVED"


class PoolRole(StrEnum):
    """ADULT (18 and over) or CHILD (2 to 17), by age on the day of the invitation or the acceptance."""

    ADULT = "ADULT"
    CHILD = "CHILD"


class MembershipState(StrEnum):
    """Where one member stands in one pool."""

    INVITED = "INVITED"
    ACCEPTED = "ACCEPTED"
    COMBINED = "COMBINED"
    DECLINED = "DECLINED"
    WITHDRAWN = "WITHDRAWN"
    EXPIRED = "EXPIRED"
    LEFT = "LEFT"
    REMOVED = "REMOVED"
    DISSOLVED = "DISSOLVED"


HOLDING_A_PLACE = frozenset({MembershipState.ACCEPTED, MembershipState.COMBINED})
"""States of a member who is in the pool (miles combined or about to)."""
OPEN_STATES = HOLDING_A_PLACE | {MembershipState.INVITED}
"""States that take one of the pool's places (an open invitation reserves its place)."""


class Pool(Model):
    """A mileage pool, founded by an adult. The founder invites and removes members.

    The row is locked (SELECT FOR UPDATE) by every change and every pooled redemption, so the limits
    hold and members never change under a redemption.
    """

    id = fields.BigIntField(primary_key=True)
    founder: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="founded_pools", on_delete=fields.RESTRICT
    )
    founder_id: int
    state = fields.CharEnumField(PoolState, max_length=12, default=PoolState.ACTIVE)
    created_at = fields.DatetimeField()
    dissolved_at = fields.DatetimeField(null=True)

    class Meta:
        table = "pools"
        indexes = (("founder_id", "state"),)


class PoolMembership(Model):
    """One member in one pool, from the invitation on. A member holds at most one place at a time.

    seat_account_id is the account id while the member holds a place (ACCEPTED or COMBINED) and null
    otherwise: a unique column, so the database itself keeps every member in at most one pool.
    blocked_until is set when the member left or was removed: no pool before that day.
    """

    id = fields.BigIntField(primary_key=True)
    pool: fields.ForeignKeyRelation[Pool] = fields.ForeignKeyField(
        "milesgate.Pool", related_name="memberships", on_delete=fields.RESTRICT
    )
    pool_id: int
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="pool_memberships", on_delete=fields.RESTRICT
    )
    account_id: int
    role = fields.CharEnumField(PoolRole, max_length=8)
    state = fields.CharEnumField(MembershipState, max_length=12)
    seat_account_id = fields.BigIntField(null=True, unique=True)
    invited_by_account_id = fields.BigIntField(null=True)
    invited_at = fields.DatetimeField()
    responded_at = fields.DatetimeField(null=True)
    combines_on = fields.DateField(null=True)
    left_at = fields.DatetimeField(null=True)
    blocked_until = fields.DateField(null=True)

    class Meta:
        table = "pool_memberships"
        indexes = (("account_id", "state"), ("pool_id", "state"), ("account_id", "blocked_until"))
