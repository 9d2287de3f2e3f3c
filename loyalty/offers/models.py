"""Daily offers to earn and to redeem miles, from partners, and members' activations of them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from loyalty.members.models import Member


class OfferKind(StrEnum):
    EARN = "EARN"
    REDEEM = "REDEEM"


class Offer(Model):
    """An offer of a partner, shown in its validity window to the members its targeting names.

    Empty targeting lists mean everyone. An EARN offer gives its bonus miles on the next matching
    accrual of that partner once the member activated it.
    """

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=60, unique=True)
    partner_code = fields.CharField(max_length=32)
    kind = fields.CharEnumField(OfferKind, max_length=8)
    title = fields.CharField(max_length=160)
    description = fields.CharField(max_length=600, default="")
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    tiers: list[str] = fields.JSONField(default=list)
    countries: list[str] = fields.JSONField(default=list)
    languages: list[str] = fields.JSONField(default=list)
    bonus_miles = fields.IntField(default=0)
    priority = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "offers"
        indexes = (("starts_at", "ends_at"),)


class OfferActivation(Model):
    """A member activated an offer, and the bonus posting once a matching accrual earned the bonus."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="offer_activations", on_delete=fields.RESTRICT
    )
    account_id: int
    offer: fields.ForeignKeyRelation[Offer] = fields.ForeignKeyField(
        "milesgate.Offer", related_name="activations", on_delete=fields.RESTRICT
    )
    offer_id: int
    activated_at = fields.DatetimeField()
    bonus_posting_id = fields.BigIntField(null=True)

    class Meta:
        table = "offer_activations"
        unique_together = (("account_id", "offer_id"),)
