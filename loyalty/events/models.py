"""Domain events: what happened to a member, written in the transaction of the change itself."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class EventType(StrEnum):
    """The catalogue of domain events (live subscriptions and outbound partner webhooks read them)."""

    POSTING_CREATED = "ledger.posting.created"
    STATUS_CHANGED = "status.changed"
    REDEMPTION_CREATED = "redemption.created"
    REDEMPTION_CANCELLED = "redemption.cancelled"
    POOL_CHANGED = "pool.changed"
    OFFER_ACTIVATED = "offer.activated"
    RETRO_CREDIT_DECIDED = "retro_credit.decided"
    RECEIPT_SUBMITTED = "photo_credit.receipt_submitted"


class DomainEvent(Model):
    """One event about one member, in commit order by id.

    The relay marks it published once its handlers ran and it was announced; a handler that keeps
    failing leaves its error here.
    """

    id = fields.BigIntField(primary_key=True)
    account_id = fields.BigIntField()
    type = fields.CharEnumField(EventType, max_length=40)
    payload: dict[str, Any] = fields.JSONField(default=dict)
    posting_id = fields.BigIntField(null=True)
    occurred_at = fields.DatetimeField(auto_now_add=True)
    published_at = fields.DatetimeField(null=True)
    dispatch_attempts = fields.IntField(default=0, db_default=0)
    dispatch_error = fields.CharField(max_length=500, null=True)

    class Meta:
        table = "domain_events"
        indexes = (("published_at", "id"), ("account_id", "id"))
