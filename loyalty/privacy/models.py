"""The audit log: who did what to whose data, for privacy requests and operators' actions."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class AuditEntry(Model):
    """One recorded action. Kept after an erasure (it names the account id, not the person)."""

    id = fields.BigIntField(primary_key=True)
    actor = fields.CharField(max_length=120)
    action = fields.CharField(max_length=60)
    account_id = fields.BigIntField(null=True)
    details: dict[str, Any] = fields.JSONField(default=dict)
    at = fields.DatetimeField()

    class Meta:
        table = "audit_log"
        indexes = (("account_id", "id"), ("action", "at"))
