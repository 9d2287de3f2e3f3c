"""The partner catalogue: airlines, shops, banks and others that send accruals and receive events."""

from __future__ import annotations

from collections.abc import Iterable

from tortoise import fields
from tortoise.models import Model

from loyalty.partner_vocabulary import PartnerCapability, PartnerKind, PartnerState

__all__ = ["PartnerCapability", "PartnerKind", "PartnerState"]  # also imported from here by migrations


DEFAULT_CAPABILITIES: dict[PartnerKind, tuple[PartnerCapability, ...]] = {
    PartnerKind.AIRLINE: (PartnerCapability.ACCRUAL, PartnerCapability.FLOWN_DATA),
    PartnerKind.SHOP: (PartnerCapability.ACCRUAL, PartnerCapability.PHOTO_CREDIT),
    PartnerKind.BANK: (PartnerCapability.ACCRUAL, PartnerCapability.CARD_PROTECTION),
    PartnerKind.HOTEL: (PartnerCapability.ACCRUAL,),
    PartnerKind.RAIL: (PartnerCapability.ACCRUAL,),
    PartnerKind.CAR_RENTAL: (PartnerCapability.ACCRUAL,),
    PartnerKind.LOUNGE: (PartnerCapability.LOUNGE_CHECKS,),
    PartnerKind.OTHER: (PartnerCapability.ACCRUAL,),
}
"""What a new partner of a kind may send unless the operator says otherwise."""


class Partner(Model):
    """A partner of the programme: airline, shop, bank, hotel, rail, lounge and others.

    capabilities is a comma-separated list of PartnerCapability values.
    """

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=120)
    kind = fields.CharEnumField(PartnerKind, max_length=16)
    state = fields.CharEnumField(PartnerState, default=PartnerState.ACTIVE, max_length=16)
    capabilities_text = fields.CharField(
        max_length=200, default="", db_default="", source_field="capabilities"
    )
    earning_config = fields.CharField(max_length=64, default="default", db_default="default")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "partners"

    @property
    def capabilities(self) -> frozenset[PartnerCapability]:
        return frozenset(PartnerCapability(item) for item in self.capabilities_text.split(",") if item)

    @capabilities.setter
    def capabilities(self, value: Iterable[PartnerCapability]) -> None:
        self.capabilities_text = ",".join(sorted(item.value for item in value))


class PartnerSecret(Model):
    """A partner's Standard Webhooks signing secret, encrypted at rest (ciphertext).

    Several may be usable at once so a partner can rotate. secret holds only a plain secret left from
    before encryption at rest, until the start-up step encrypts it.
    """

    id = fields.BigIntField(primary_key=True)
    partner: fields.ForeignKeyRelation[Partner] = fields.ForeignKeyField(
        "milesgate.Partner", related_name="secrets", on_delete=fields.CASCADE
    )
    partner_id: int
    secret = fields.CharField(max_length=120, null=True)
    ciphertext = fields.TextField(null=True)
    fingerprint = fields.CharField(max_length=16, default="", db_default="")
    label = fields.CharField(max_length=64, default="", db_default="")
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "partner_secrets"


class PartnerPublicKey(Model):
    """An ed25519 public key of a partner that signs with Standard Webhooks v1a (raw 32 bytes, base64)."""

    id = fields.BigIntField(primary_key=True)
    partner: fields.ForeignKeyRelation[Partner] = fields.ForeignKeyField(
        "milesgate.Partner", related_name="public_keys", on_delete=fields.CASCADE
    )
    partner_id: int
    public_key = fields.CharField(max_length=64)
    fingerprint = fields.CharField(max_length=16)
    label = fields.CharField(max_length=64, default="")
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "partner_public_keys"
        unique_together = (("partner_id", "public_key"),)
