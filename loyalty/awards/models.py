"""Award bookings, the identity checks that confirm award searches and bookings, and MilesPay."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from loyalty.earning.model import Cabin
from loyalty.ledger.models import Posting
from loyalty.members.models import Member


class AwardBookingState(StrEnum):
    """BOOKED while the award stands, CANCELLED once its miles went back to the member."""

    BOOKED = "BOOKED"
    CANCELLED = "CANCELLED"


class AwardBooking(Model):
    """An award flight paid with award miles (and, with Cash & Miles, partly in euros).

    Its posting is the miles debit (source REDEMPTION), keyed by the client's request id; cancelling
    reverses it, which gives the miles back to the lots they came from. The ticket number is issued on
    the award ticket stock: its flown coupon earns nothing.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="award_bookings", on_delete=fields.RESTRICT
    )
    account_id: int
    posting: fields.OneToOneRelation[Posting] = fields.OneToOneField(
        "milesgate.Posting", related_name="award_booking", on_delete=fields.RESTRICT
    )
    posting_id: int
    ticket_number = fields.CharField(max_length=13, unique=True)
    carrier = fields.CharField(max_length=2)
    flight_number = fields.CharField(max_length=5)
    origin = fields.CharField(max_length=3)
    destination = fields.CharField(max_length=3)
    departure_date = fields.DateField()
    cabin = fields.CharEnumField(Cabin, max_length=16)
    fare_family = fields.CharField(max_length=16, null=True)
    pricing = fields.CharField(max_length=16)
    price_miles = fields.BigIntField()
    miles = fields.BigIntField()
    cash_eur = fields.DecimalField(max_digits=12, decimal_places=2)
    rule_version = fields.CharField(max_length=40)
    state = fields.CharEnumField(AwardBookingState, max_length=16, default=AwardBookingState.BOOKED)
    created_at = fields.DatetimeField()
    cancelled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "award_bookings"
        indexes = (("account_id", "id"),)


class IdentityPurpose(StrEnum):
    """What an identity check confirms: an award search or an award booking."""

    AWARD_SEARCH = "AWARD_SEARCH"
    AWARD_BOOKING = "AWARD_BOOKING"


class IdentityCheck(Model):
    """A code e-mailed to a member to confirm one award search or booking (DOMAIN.md 2).

    The code is kept only as an argon2 hash, works once, for a limited time and a limited number of tries.
    ``public_id`` is the opaque id the client confirms it with.
    """

    id = fields.BigIntField(primary_key=True)
    public_id = fields.CharField(max_length=32, unique=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="identity_checks", on_delete=fields.CASCADE
    )
    account_id: int
    purpose = fields.CharEnumField(IdentityPurpose, max_length=16)
    code_hash = fields.CharField(max_length=200)
    attempts = fields.IntField(default=0)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "identity_checks"
        indexes = (("account_id", "expires_at"),)


class MilesPayState(StrEnum):
    """ACTIVE until a card transaction uses it (USED) or the member turns it off (OFF)."""

    ACTIVE = "ACTIVE"
    USED = "USED"
    OFF = "OFF"


class MilesPayOptIn(Model):
    """A member's MilesPay choice: the next eligible card transaction is paid with miles, up to the cap."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="milespay_opt_ins", on_delete=fields.CASCADE
    )
    account_id: int
    cap_miles = fields.BigIntField()
    state = fields.CharEnumField(MilesPayState, max_length=8, default=MilesPayState.ACTIVE)
    created_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "milespay_opt_ins"
        indexes = (("account_id", "state"),)


class MilesPayDebit(Model):
    """Miles a bank partner's card transaction took under MilesPay (its posting is the debit)."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="milespay_debits", on_delete=fields.RESTRICT
    )
    account_id: int
    opt_in: fields.ForeignKeyRelation[MilesPayOptIn] = fields.ForeignKeyField(
        "milesgate.MilesPayOptIn", related_name="debits", on_delete=fields.RESTRICT
    )
    opt_in_id: int
    posting: fields.OneToOneRelation[Posting] = fields.OneToOneField(
        "milesgate.Posting", related_name="milespay_debit", on_delete=fields.RESTRICT
    )
    posting_id: int
    partner_code = fields.CharField(max_length=32)
    transaction_id = fields.CharField(max_length=100)
    miles = fields.BigIntField()
    eur_value = fields.DecimalField(max_digits=12, decimal_places=2)
    created_at = fields.DatetimeField()

    class Meta:
        table = "milespay_debits"
        unique_together = (("partner_code", "transaction_id"),)
        indexes = (("account_id", "created_at"),)
