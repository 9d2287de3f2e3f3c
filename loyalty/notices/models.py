"""Security notices (phishing warnings and the like) that operators publish and the apps show."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class NoticeSeverity(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class SecurityNotice(Model):
    """One notice in one language, shown from its publication until it is withdrawn or expires."""

    id = fields.BigIntField(primary_key=True)
    language = fields.CharField(max_length=8)
    severity = fields.CharEnumField(NoticeSeverity, max_length=10, default=NoticeSeverity.WARNING)
    title = fields.CharField(max_length=160)
    body = fields.TextField()
    published_by = fields.CharField(max_length=120)
    published_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)
    withdrawn_at = fields.DatetimeField(null=True)

    class Meta:
        table = "security_notices"
        indexes = (("language", "published_at"),)
