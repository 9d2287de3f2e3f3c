"""A member's status over time: the current status, its history and the eVouchers it brings."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from loyalty.members.models import Member, Tier


class StatusChange(StrEnum):
    """Why a member's status changed (DOMAIN.md 4)."""

    ACHIEVED = "ACHIEVED"
    RENEWED = "RENEWED"
    LIFETIME = "LIFETIME"
    DOWNGRADED = "DOWNGRADED"
    EXPIRED = "EXPIRED"


class MemberStatus(Model):
    """The status a member holds now: tier, until when, and the lifetime tier that is its floor.

    ``valid_until`` is None for base members and for a lifetime tier held as such.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.OneToOneRelation[Member] = fields.OneToOneField(
        "milesgate.Member", related_name="status", on_delete=fields.RESTRICT
    )
    account_id: int
    tier = fields.CharEnumField(Tier, max_length=8, default=Tier.BASE)
    valid_until = fields.DateField(null=True)
    since = fields.DateField(null=True)
    qualifying_year = fields.IntField(null=True)
    lifetime_tier = fields.CharEnumField(Tier, max_length=8, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "member_statuses"
        indexes = (("valid_until", "tier"),)


class StatusHistory(Model):
    """One change of the status of a member, with the year whose counters caused it."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="status_history", on_delete=fields.RESTRICT
    )
    account_id: int
    from_tier = fields.CharEnumField(Tier, max_length=8)
    to_tier = fields.CharEnumField(Tier, max_length=8)
    change = fields.CharEnumField(StatusChange, max_length=12)
    valid_until = fields.DateField(null=True)
    qualifying_year = fields.IntField(null=True)
    effective_on = fields.DateField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "status_history"
        indexes = (("account_id", "id"),)


class EVoucher(Model):
    """An upgrade voucher (DOMAIN.md 3.5), usable from the day the new card is issued until it expires.

    ``grant_key`` names the qualification or Extra Benefit it came from, so each is granted once.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="evouchers", on_delete=fields.RESTRICT
    )
    account_id: int
    grant_key = fields.CharField(max_length=80)
    sequence = fields.IntField()
    tier = fields.CharEnumField(Tier, max_length=8)
    available_from = fields.DateField()
    expires_on = fields.DateField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "evouchers"
        unique_together = (("account_id", "grant_key", "sequence"),)
