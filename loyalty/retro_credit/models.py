"""Retroactive credit requests (DOMAIN.md 6): one row per claimed flight, through its states."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from loyalty.earning.model import Cabin


class RetroCreditState(StrEnum):
    """SUBMITTED -> VALIDATING -> (PENDING_PARTNER) -> ACCEPTED or REJECTED."""

    SUBMITTED = "SUBMITTED"
    VALIDATING = "VALIDATING"
    PENDING_PARTNER = "PENDING_PARTNER"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


OPEN_STATES = frozenset(
    {RetroCreditState.SUBMITTED, RetroCreditState.VALIDATING, RetroCreditState.PENDING_PARTNER}
)


class RetroCreditReason(StrEnum):
    """Why a request was rejected; the member sees it."""

    OUT_OF_WINDOW = "OUT_OF_WINDOW"
    TOO_EARLY_WAIT_7D = "TOO_EARLY_WAIT_7D"
    NAME_MISMATCH = "NAME_MISMATCH"
    TICKET_NOT_FOUND = "TICKET_NOT_FOUND"
    ALREADY_CREDITED = "ALREADY_CREDITED"
    NON_ELIGIBLE_FARE = "NON_ELIGIBLE_FARE"
    DOC_REQUIRED = "DOC_REQUIRED"


class RetroCreditChannel(StrEnum):
    """How the member asked: by form, or by a boarding pass (typed string or picture)."""

    FORM = "FORM"
    BOARDING_PASS = "BOARDING_PASS"  # noqa: S105 - a channel name, not a secret


class RetroCreditRequest(Model):
    """A member's request to credit a flight afterwards, checked against the partner's flown data.

    open_key (ticket, flight, date) is set while the request is open or accepted and cleared when it is
    rejected, so a second request for the same flight is refused but a rejected one may be asked again.
    """

    id = fields.BigIntField(primary_key=True)
    account_id = fields.BigIntField()
    channel = fields.CharEnumField(RetroCreditChannel, max_length=16)
    state = fields.CharEnumField(RetroCreditState, default=RetroCreditState.SUBMITTED, max_length=16)
    reason = fields.CharEnumField(RetroCreditReason, max_length=24, null=True)
    reason_text = fields.CharField(max_length=300, default="")
    ticket_number = fields.CharField(max_length=13)
    carrier = fields.CharField(max_length=2)
    flight_number = fields.CharField(max_length=5)
    flight_date = fields.DateField()
    origin = fields.CharField(max_length=3)
    destination = fields.CharField(max_length=3)
    cabin = fields.CharEnumField(Cabin, max_length=16)
    booking_class = fields.CharField(max_length=1)
    passenger_surname = fields.CharField(max_length=64, default="")
    passenger_given_name = fields.CharField(max_length=64, default="")
    boarding_pass = fields.TextField(null=True)
    open_key = fields.CharField(max_length=60, null=True, unique=True)
    submitted_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)
    flown_segment_id = fields.BigIntField(null=True)
    posting_id = fields.BigIntField(null=True)
    award_miles = fields.BigIntField(default=0)
    points = fields.IntField(default=0)
    qualifying_points = fields.IntField(default=0)
    hon_circle_points = fields.IntField(default=0)
    chart_version = fields.CharField(max_length=120, default="")
    transitions: list[dict[str, Any]] = fields.JSONField(default=list)

    class Meta:
        table = "retro_credit_requests"
        indexes = (
            ("account_id", "submitted_at"),
            ("ticket_number", "carrier", "flight_number", "flight_date"),
            ("state", "submitted_at"),
        )
