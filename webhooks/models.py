"""The partner inbox: every verified delivery is stored here before the partner gets its 2xx."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from partners.models import Partner


class InboxState(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


class PartnerInbox(Model):
    """One delivery from a partner, unique on (partner, webhook id) so a redelivery changes nothing."""

    id = fields.BigIntField(primary_key=True)
    partner: fields.ForeignKeyRelation[Partner] = fields.ForeignKeyField(
        "milesgate.Partner", related_name="inbox", on_delete=fields.RESTRICT
    )
    partner_id: int
    webhook_id = fields.CharField(max_length=128)
    event_type = fields.CharField(max_length=64)
    payload: dict[str, Any] = fields.JSONField()
    state = fields.CharEnumField(InboxState, default=InboxState.PENDING, max_length=16)
    account_id = fields.BigIntField(null=True)
    attempts = fields.IntField(default=0)
    error_code = fields.CharField(max_length=64, null=True)
    error_message = fields.CharField(max_length=500, null=True)
    received_at = fields.DatetimeField(auto_now_add=True)
    processed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "partner_inbox"
        unique_together = (("partner_id", "webhook_id"),)
        indexes = (("state", "received_at"),)
