"""The ledger: postings of entries, and balances kept in step with them in the same transaction."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from loyalty.members.models import Member


class Currency(StrEnum):
    """What a ledger entry counts (DOMAIN.md §3.1)."""

    AWARD_MILES = "AWARD_MILES"
    POINTS = "POINTS"
    QUALIFYING_POINTS = "QUALIFYING_POINTS"
    HON_CIRCLE_POINTS = "HON_CIRCLE_POINTS"
    LIFETIME_QUALIFYING_POINTS = "LIFETIME_QUALIFYING_POINTS"


class PostingSource(StrEnum):
    """What a posting comes from. ``postings.source`` stays a plain string column holding these values
    (the strings stored before this enum existed); the statement and the ``posting.created`` event show it.
    """

    PARTNER_ACCRUAL = "PARTNER_ACCRUAL"
    """A partner's ``accrual.created`` webhook (also ``milesgate demo``'s sample activity)."""
    FLIGHT_ACCRUAL = "FLIGHT_ACCRUAL"
    """A flown flight credited from the partner's ``flight.flown`` data."""
    RETRO_CREDIT = "RETRO_CREDIT"
    """An accepted retro-credit request."""
    PHOTO_CREDIT = "PHOTO_CREDIT"
    """A photographed receipt the partner approved (``receipt.verified``)."""
    OFFER_BONUS = "OFFER_BONUS"
    """The bonus of an activated offer, with the partner accrual it rewards."""
    FIRST_APP_LOGIN_BONUS = "FIRST_APP_LOGIN_BONUS"
    """The one-time bonus of the first app sign-in."""
    PROGRAMME_BONUS = "PROGRAMME_BONUS"
    """Miles the programme gives."""
    CHALLENGE = "CHALLENGE"
    """The reward of a completed challenge."""
    DEMO = "DEMO"
    """Sample data written by earlier versions of ``milesgate demo``."""
    REDEMPTION = "REDEMPTION"
    """Miles spent on a reward, alone or from a pool."""
    MILES_TO_STATUS = "MILES_TO_STATUS"
    """Award miles a credit-card holder exchanged for Points and Qualifying Points (irrevocable)."""
    STATUS_STARS = "STATUS_STARS"
    """Qualifying Points converted from the Status Stars of the old programme (an operator's import)."""
    REVERSAL = "REVERSAL"
    """The mirror of an earlier posting (a cancelled redemption, a partner's reversed accrual)."""
    EXPIRY = "EXPIRY"
    """Miles expired at the end of their quarter."""
    ADJUSTMENT = "ADJUSTMENT"
    """An operator's correction (benchmarks seed balances with it)."""
    TEST = "TEST"
    """Written by tests."""


class Posting(Model):
    """One business event's change to a member's balances. The idempotency key makes a retry a no-op."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="postings", on_delete=fields.RESTRICT
    )
    account_id: int
    idempotency_key = fields.CharField(max_length=200, unique=True)
    source = fields.CharField(max_length=40)
    partner_reference = fields.CharField(max_length=120, null=True)
    rule_version = fields.CharField(max_length=40)
    activity_date = fields.DateField()
    description = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "postings"
        indexes = (("account_id", "created_at"),)


class CounterAccount(StrEnum):
    """The programme's side of a posting: where member miles come from or go to (double entry)."""

    PARTNER_LIABILITY = "PARTNER_LIABILITY"
    PROGRAMME_BONUS = "PROGRAMME_BONUS"
    REDEMPTION = "REDEMPTION"
    EXPIRY = "EXPIRY"
    ADJUSTMENT = "ADJUSTMENT"


class ProtectionReason(StrEnum):
    """Why a member's miles do not expire for a while (DOMAIN.md 5)."""

    STATUS = "STATUS"
    CREDIT_CARD = "CREDIT_CARD"


class Entry(Model):
    """The member side of a posting: one currency, one signed amount."""

    id = fields.BigIntField(primary_key=True)
    posting: fields.ForeignKeyRelation[Posting] = fields.ForeignKeyField(
        "milesgate.Posting", related_name="entries", on_delete=fields.RESTRICT
    )
    posting_id: int
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="entries", on_delete=fields.RESTRICT
    )
    account_id: int
    currency = fields.CharEnumField(Currency, max_length=32)
    amount = fields.BigIntField()

    class Meta:
        table = "ledger_entries"
        indexes = (("account_id", "currency"), ("account_id", "posting_id"))


class Balance(Model):
    """The running total of one currency for one member, always the sum of that member's entries."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="balances", on_delete=fields.RESTRICT
    )
    account_id: int
    currency = fields.CharEnumField(Currency, max_length=32)
    amount = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "balances"
        unique_together = (("account_id", "currency"),)


class CounterEntry(Model):
    """The counter account side of a posting. Per posting and currency it is minus the member entries.

    It carries the account id of the member whose posting it balances, so it lives on that member's shard.
    """

    id = fields.BigIntField(primary_key=True)
    posting: fields.ForeignKeyRelation[Posting] = fields.ForeignKeyField(
        "milesgate.Posting", related_name="counter_entries", on_delete=fields.RESTRICT
    )
    posting_id: int
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="counter_entries", on_delete=fields.RESTRICT
    )
    account_id: int
    counter_account = fields.CharEnumField(CounterAccount, max_length=24)
    currency = fields.CharEnumField(Currency, max_length=32)
    amount = fields.BigIntField()

    class Meta:
        table = "counter_entries"
        indexes = (("account_id", "currency"), ("counter_account", "currency"))


class Lot(Model):
    """One award-miles credit. It expires at the end of the quarter in which 36 months from earned_on end."""

    id = fields.BigIntField(primary_key=True)
    posting: fields.ForeignKeyRelation[Posting] = fields.ForeignKeyField(
        "milesgate.Posting", related_name="lots", on_delete=fields.RESTRICT
    )
    posting_id: int
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="lots", on_delete=fields.RESTRICT
    )
    account_id: int
    amount = fields.BigIntField()
    remaining = fields.BigIntField()
    earned_on = fields.DateField()
    expires_on = fields.DateField()

    class Meta:
        table = "lots"
        indexes = (("account_id", "expires_on"), ("expires_on", "remaining"))


class LotAllocation(Model):
    """How many miles of which lot a debit took, so a reversal can give them back to the same lot."""

    id = fields.BigIntField(primary_key=True)
    posting: fields.ForeignKeyRelation[Posting] = fields.ForeignKeyField(
        "milesgate.Posting", related_name="allocations", on_delete=fields.RESTRICT
    )
    posting_id: int
    lot: fields.ForeignKeyRelation[Lot] = fields.ForeignKeyField(
        "milesgate.Lot", related_name="allocations", on_delete=fields.RESTRICT
    )
    lot_id: int
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="lot_allocations", on_delete=fields.RESTRICT
    )
    account_id: int
    amount = fields.BigIntField()

    class Meta:
        table = "lot_allocations"
        indexes = (("account_id", "posting_id"),)


class ExpiryProtection(Model):
    """A period in which a member's miles do not expire (status, or a protecting credit card).

    An open period has no end date. When a status period ends, all remaining lots get a fresh expiry.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="expiry_protections", on_delete=fields.RESTRICT
    )
    account_id: int
    reason = fields.CharEnumField(ProtectionReason, max_length=16)
    starts_on = fields.DateField()
    ends_on = fields.DateField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "expiry_protections"
        indexes = (("account_id", "starts_on"),)


STATUS_CURRENCIES = frozenset({Currency.POINTS, Currency.QUALIFYING_POINTS, Currency.HON_CIRCLE_POINTS})
"""The calendar-year currencies (DOMAIN.md 3.1): they count per year and start at 0 on 1 January."""


class YearCounter(Model):
    """The Points, Qualifying Points or HON Circle Points of one member in one calendar year.

    The year is that of the posting's activity date, so a late credit counts for the year the flight
    was in. Moved in the posting's transaction under the currency's balance lock, so it always equals
    the sum of the member's entries of that currency with an activity date in that year.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="year_counters", on_delete=fields.RESTRICT
    )
    account_id: int
    year = fields.IntField()
    currency = fields.CharEnumField(Currency, max_length=32)
    amount = fields.BigIntField(default=0)

    class Meta:
        table = "year_counters"
        unique_together = (("account_id", "year", "currency"),)


class CardProduct(StrEnum):
    """How a co-branded credit card protects miles (DOMAIN.md 5)."""

    STANDARD = "STANDARD"
    """Held 3 months and used for a mile-earning purchase every month."""
    UNLIMITED = "UNLIMITED"
    """DE Gold or Blue: from issue, whatever the spend; a grace period after cancellation."""


class CreditCard(Model):
    """A co-branded credit card a bank partner reported, and the protection period it gives.

    The protection covers the cardholder's own miles only (pooled miles of others are not covered).
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="credit_cards", on_delete=fields.RESTRICT
    )
    account_id: int
    partner_code = fields.CharField(max_length=40)
    card_reference = fields.CharField(max_length=64)
    product = fields.CharEnumField(CardProduct, max_length=12)
    miles_to_status = fields.BooleanField(default=False, db_default=False)
    """The card has the miles-to-status feature (DOMAIN.md 3.4), as the bank reported at issue."""
    issued_on = fields.DateField()
    cancelled_on = fields.DateField(null=True)
    conditions_broken_on = fields.DateField(null=True)
    protection: fields.ForeignKeyRelation[ExpiryProtection] = fields.ForeignKeyField(
        "milesgate.ExpiryProtection", related_name="credit_cards", on_delete=fields.RESTRICT
    )
    protection_id: int
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "credit_cards"
        unique_together = (("partner_code", "card_reference"),)
