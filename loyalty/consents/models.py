"""Consents (GDPR Art. 6(1)(a), DOMAIN.md 8): given or withdrawn per purpose, kept as history."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from loyalty.members.models import Member


class ConsentPurpose(StrEnum):
    """What a member may agree to, one by one."""

    ADVERTISING = "ADVERTISING"
    PERSONALISATION = "PERSONALISATION"
    PUSH = "PUSH"
    EMAIL = "EMAIL"


class ConsentRecord(Model):
    """One decision of a member on one purpose, with the version of the text they saw.

    Never updated: the latest record per purpose is the current choice of the member.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="consents", on_delete=fields.RESTRICT
    )
    account_id: int
    purpose = fields.CharEnumField(ConsentPurpose, max_length=20)
    given = fields.BooleanField()
    text_version = fields.CharField(max_length=40)
    channel = fields.CharField(max_length=20, default="app")
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "consent_records"
        indexes = (("account_id", "purpose", "id"),)
