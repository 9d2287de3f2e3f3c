"""The partner catalogue: airlines, shops, banks and others that send accruals and receive events."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class PartnerKind(StrEnum):
    AIRLINE = "airline"
    SHOP = "shop"
    BANK = "bank"
    HOTEL = "hotel"
    RAIL = "rail"
    CAR_RENTAL = "car_rental"
    LOUNGE = "lounge"
    OTHER = "other"


class PartnerState(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Partner(Model):
    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=120)
    kind = fields.CharEnumField(PartnerKind, max_length=16)
    state = fields.CharEnumField(PartnerState, default=PartnerState.ACTIVE, max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "partners"


class PartnerSecret(Model):
    """A Standard Webhooks signing secret. Several may be active at once so a partner can rotate."""

    id = fields.BigIntField(primary_key=True)
    partner: fields.ForeignKeyRelation[Partner] = fields.ForeignKeyField(
        "milesgate.Partner", related_name="secrets", on_delete=fields.CASCADE
    )
    partner_id: int
    secret = fields.CharField(max_length=120)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "partner_secrets"
