"""The ledger: postings of entries, and balances kept in step with them in the same transaction."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from loyalty.members.models import Member


class Currency(StrEnum):
    """What a ledger entry counts (DOMAIN.md §3.1)."""

    AWARD_MILES = "AWARD_MILES"
    POINTS = "POINTS"
    QUALIFYING_POINTS = "QUALIFYING_POINTS"
    HON_CIRCLE_POINTS = "HON_CIRCLE_POINTS"
    LIFETIME_QUALIFYING_POINTS = "LIFETIME_QUALIFYING_POINTS"


class Posting(Model):
    """One business event's change to a member's balances. The idempotency key makes a retry a no-op."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="postings", on_delete=fields.RESTRICT
    )
    account_id: int
    idempotency_key = fields.CharField(max_length=200, unique=True)
    source = fields.CharField(max_length=40)
    partner_reference = fields.CharField(max_length=120, null=True)
    rule_version = fields.CharField(max_length=40)
    activity_date = fields.DateField()
    description = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "postings"
        indexes = (("account_id", "created_at"),)


class Entry(Model):
    id = fields.BigIntField(primary_key=True)
    posting: fields.ForeignKeyRelation[Posting] = fields.ForeignKeyField(
        "milesgate.Posting", related_name="entries", on_delete=fields.RESTRICT
    )
    posting_id: int
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="entries", on_delete=fields.RESTRICT
    )
    account_id: int
    currency = fields.CharEnumField(Currency, max_length=32)
    amount = fields.BigIntField()

    class Meta:
        table = "ledger_entries"
        indexes = (("account_id", "currency"),)


class Balance(Model):
    """The running total of one currency for one member, always the sum of that member's entries."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="balances", on_delete=fields.RESTRICT
    )
    account_id: int
    currency = fields.CharEnumField(Currency, max_length=32)
    amount = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "balances"
        unique_together = (("account_id", "currency"),)
