"""Members and their service cards."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class Tier(StrEnum):
    """Status tiers (DOMAIN.md §4)."""

    BASE = "BASE"
    FTL = "FTL"
    SEN = "SEN"
    HON = "HON"


class CardState(StrEnum):
    ACTIVE = "ACTIVE"
    SUPERSEDED = "SUPERSEDED"
    BLOCKED = "BLOCKED"


class Member(Model):
    """A programme member. Its id is the internal account id every member-owned row carries."""

    id = fields.BigIntField(primary_key=True)
    account_number = fields.CharField(max_length=9, unique=True)
    given_name = fields.CharField(max_length=80)
    family_name = fields.CharField(max_length=80)
    email = fields.CharField(max_length=254, null=True, unique=True)
    email_verified_at = fields.DatetimeField(null=True)
    """When the address was shown to be the member's (the enrolment code e-mailed to it was entered);
    None for members enrolled before addresses were confirmed."""
    date_of_birth = fields.DateField()
    country = fields.CharField(max_length=2)
    language = fields.CharField(max_length=8, default="en")
    pin_hash = fields.CharField(max_length=200)
    user_id = fields.CharField(max_length=40, null=True, unique=True)
    password_hash = fields.CharField(max_length=200, null=True)
    failed_sign_ins = fields.IntField(default=0, db_default=0)
    sign_in_locked_until = fields.DatetimeField(null=True)
    session_generation = fields.IntField(default=0, db_default=0)
    """Raised by every event that ends all of the member's sessions; an access token carries the value it
    was issued at and stops working once it is lower than this."""
    tier = fields.CharEnumField(Tier, default=Tier.BASE, max_length=8)
    advertising_consent = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    erased_at = fields.DatetimeField(null=True)

    class Meta:
        table = "members"


class PendingEnrolment(Model):
    """An enrolment waiting for the code e-mailed to its address.

    Written whether or not the address is a member's already (then the code was never sent and the owner
    got a notice instead).

    ``details`` holds what the member told us, with the PIN and password as argon2 hashes, until the
    enrolment is confirmed. ``public_id`` is the opaque id the client confirms it with.
    """

    id = fields.BigIntField(primary_key=True)
    public_id = fields.CharField(max_length=32, unique=True)
    email = fields.CharField(max_length=254)
    code_hash = fields.CharField(max_length=200)
    details: dict[str, Any] = fields.JSONField(default=dict)
    attempts = fields.IntField(default=0)
    expires_at = fields.DatetimeField(db_index=True)
    confirmed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "pending_enrolments"
        indexes = (("email", "expires_at"),)


class AddressVerification(Model):
    """A code e-mailed to verify a member's address.

    The address is the one on file, or a new one that replaces it once the code is confirmed.
    ``public_id`` is the opaque id the member confirms it with."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.CharField(max_length=32, unique=True)
    account_id = fields.BigIntField()
    email = fields.CharField(max_length=254)
    code_hash = fields.CharField(max_length=200)
    attempts = fields.IntField(default=0)
    expires_at = fields.DatetimeField(db_index=True)
    confirmed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "address_verifications"
        indexes = (("email", "expires_at"), ("account_id", "created_at"))


class ServiceCard(Model):
    """One service card number of a member. Superseded numbers still resolve to the account."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="cards", on_delete=fields.RESTRICT
    )
    account_id: int
    number = fields.CharField(max_length=15, unique=True)
    state = fields.CharEnumField(CardState, default=CardState.ACTIVE, max_length=12)
    tier = fields.CharEnumField(Tier, max_length=8)
    issued_at = fields.DatetimeField(auto_now_add=True)
    valid_until = fields.DateField(null=True)
    state_changed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "service_cards"
        indexes = (("account_id", "state"),)


class SessionLevel(StrEnum):
    """How sure we are who is there (DOMAIN.md §2): remembered, or freshly signed in."""

    IDENTIFIED = "IDENTIFIED"
    AUTHENTICATED = "AUTHENTICATED"


class CardOrderReason(StrEnum):
    ACHIEVED = "ACHIEVED"
    RENEWED = "RENEWED"
    LIFETIME = "LIFETIME"
    DOWNGRADED = "DOWNGRADED"


class CardOrder(Model):
    """A physical status card to produce (DOMAIN.md 9): achieved ships now, renewed before expiry."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="card_orders", on_delete=fields.RESTRICT
    )
    account_id: int
    card: fields.ForeignKeyRelation[ServiceCard] = fields.ForeignKeyField(
        "milesgate.ServiceCard", related_name="orders", on_delete=fields.RESTRICT
    )
    card_id: int
    reason = fields.CharEnumField(CardOrderReason, max_length=12)
    ship_on = fields.DateField()
    activate_on = fields.DateField()
    shipped_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "card_orders"
        indexes = (("account_id", "created_at"),)


class SupportCaseKind(StrEnum):
    LOST_SERVICE_CARD_NUMBER = "LOST_SERVICE_CARD_NUMBER"


class SupportCaseState(StrEnum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"
    REJECTED = "REJECTED"


class SupportCase(Model):
    """A request the service team handles by hand, e.g. a lost service card number with an ID copy."""

    id = fields.BigIntField(primary_key=True)
    reference = fields.CharField(max_length=20, unique=True)
    kind = fields.CharEnumField(SupportCaseKind, max_length=40)
    state = fields.CharEnumField(SupportCaseState, default=SupportCaseState.OPEN, max_length=12)
    account_id = fields.BigIntField(null=True)
    contact_email = fields.CharField(max_length=254)
    details: dict[str, Any] = fields.JSONField(default=dict)
    resolution = fields.CharField(max_length=500, null=True)
    opened_at = fields.DatetimeField(auto_now_add=True)
    resolved_at = fields.DatetimeField(null=True)

    class Meta:
        table = "support_cases"
        indexes = (("state", "opened_at"),)
