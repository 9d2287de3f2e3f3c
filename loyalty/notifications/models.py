"""The notification outbox: every e-mail, push and SMS goes through one table, written with the change."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class Channel(StrEnum):
    EMAIL = "EMAIL"
    PUSH = "PUSH"
    SMS = "SMS"


class NotificationState(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class Notification(Model):
    """One message to one member. A sender delivers it and marks it sent (development: a sink file)."""

    id = fields.BigIntField(primary_key=True)
    account_id = fields.BigIntField(null=True)
    channel = fields.CharEnumField(Channel, max_length=8)
    recipient = fields.CharField(max_length=254)
    template = fields.CharField(max_length=64)
    language = fields.CharField(max_length=8, default="en")
    payload: dict[str, Any] = fields.JSONField(default=dict)
    state = fields.CharEnumField(NotificationState, default=NotificationState.PENDING, max_length=8)
    attempts = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)
    dedupe_key = fields.CharField(max_length=120, null=True, unique=True)

    class Meta:
        table = "notifications"
        indexes = (("state", "created_at"), ("account_id", "created_at"))
