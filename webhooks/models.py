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
    UNMATCHED = "unmatched"
    """Parked: the member named is not known (yet); an operator can process it again."""


class PartnerInbox(Model):
    """One verified delivery from a partner, stored before the partner hears 2xx.

    Unique on (partner, webhook id) so a redelivery changes nothing, and on (partner, business key) so the
    same business event under a new webhook id changes nothing either. A row that fails gives its business
    key up, so the partner can send the event again corrected. next_attempt_at is the earliest time a
    delivery that failed unexpectedly is tried again (the backoff).
    """

    id = fields.BigIntField(primary_key=True)
    partner: fields.ForeignKeyRelation[Partner] = fields.ForeignKeyField(
        "milesgate.Partner", related_name="inbox", on_delete=fields.RESTRICT
    )
    partner_id: int
    webhook_id = fields.CharField(max_length=128)
    business_key = fields.CharField(max_length=200, null=True)
    event_type = fields.CharField(max_length=64)
    payload: dict[str, Any] = fields.JSONField()
    state = fields.CharEnumField(InboxState, default=InboxState.PENDING, max_length=16)
    account_id = fields.BigIntField(null=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    error_code = fields.CharField(max_length=64, null=True)
    error_message = fields.CharField(max_length=500, null=True)
    received_at = fields.DatetimeField(auto_now_add=True)
    processed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "partner_inbox"
        unique_together = (("partner_id", "webhook_id"), ("partner_id", "business_key"))
        indexes = (("state", "received_at"),)
