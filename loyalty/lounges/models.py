"""Every lounge and Fast Lane check a partner asked for, admitted or refused (DOMAIN.md 10)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from loyalty.lounges.admission import Facility, Refusal
from loyalty.members.models import Tier


class LoungeCheck(Model):
    """One privilege check: who, where, which flight, and the answer with its ground or reason.

    ``account_id`` is None when the card number is nobody's. (partner, request id) is unique: the
    partner's request id (its ``webhook-id``) makes a repeated request answer the recorded check.
    """

    id = fields.BigIntField(primary_key=True)
    account_id = fields.BigIntField(null=True)
    partner_id = fields.BigIntField()
    request_id = fields.CharField(max_length=128)
    facility = fields.CharEnumField(Facility, max_length=24)
    airport = fields.CharField(max_length=3)
    service_card_number = fields.CharField(max_length=32)
    flight = fields.CharField(max_length=12, null=True)
    flight_date = fields.DateField(null=True)
    cabin = fields.CharField(max_length=20, null=True)
    fare_family = fields.CharField(max_length=20, null=True)
    tier = fields.CharEnumField(Tier, max_length=8, null=True)
    admitted = fields.BooleanField()
    ground = fields.CharField(max_length=40, null=True)
    reason = fields.CharEnumField(Refusal, max_length=24, null=True)
    rules_version = fields.CharField(max_length=20)
    checked_at = fields.DatetimeField()

    class Meta:
        table = "lounge_checks"
        unique_together = (("partner_id", "request_id"),)
        indexes = (("account_id", "checked_at"),)
