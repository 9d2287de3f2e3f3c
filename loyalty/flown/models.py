"""Flown data from partner airlines: one row per flown coupon, for automatic accrual and retro credit."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class Cabin(StrEnum):
    ECONOMY = "economy"
    PREMIUM_ECONOMY = "premium_economy"
    BUSINESS = "business"
    FIRST = "first"


class FlownSegment(Model):
    """A flight segment a partner airline reports as flown, for flight accrual and retro credit.

    account_id is set when the partner named a member the programme knows, and stays empty otherwise
    (retro credit then matches by ticket number and passenger name).
    """

    id = fields.BigIntField(primary_key=True)
    partner_id = fields.BigIntField()
    account_id = fields.BigIntField(null=True)
    ticket_number = fields.CharField(max_length=14)
    coupon_number = fields.SmallIntField(null=True)
    carrier = fields.CharField(max_length=3)
    flight_number = fields.CharField(max_length=5)
    flight_date = fields.DateField()
    origin = fields.CharField(max_length=3)
    destination = fields.CharField(max_length=3)
    cabin = fields.CharEnumField(Cabin, max_length=16, null=True)
    booking_class = fields.CharField(max_length=1, null=True)
    passenger_surname = fields.CharField(max_length=64)
    passenger_given_name = fields.CharField(max_length=64, default="")
    member_reference = fields.CharField(max_length=40, default="")
    details: dict[str, Any] = fields.JSONField(default=dict)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "flown_segments"
        unique_together = (("partner_id", "ticket_number", "carrier", "flight_number", "flight_date"),)
        indexes = (
            ("ticket_number",),
            ("account_id", "flight_date"),
            ("carrier", "flight_number", "flight_date"),
        )
