"""Enrolment, look-ups by card number, and PIN sign-in for members."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.consents.models import ConsentPurpose, ConsentRecord
from loyalty.errors import Conflict, NotFound, ValidationFailed
from loyalty.identifiers import (
    new_account_number,
    new_service_card_number,
    validate_service_card_number,
)
from loyalty.ledger.service import open_balances
from loyalty.members.models import CardState, Member, ServiceCard, Tier
from loyalty.members.pins import check_pin_rules, hash_secret
from loyalty.rules import ProgrammeRules

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_USER_ID = re.compile(r"^[a-z][a-z0-9._-]{2,39}$")
_ISSUE_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What a new member tells us."""

    given_name: str
    family_name: str
    email: str
    date_of_birth: dt.date
    country: str
    pin: str
    language: str = "en"
    advertising_consent: bool = False
    user_id: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class EnrolledMember:
    member: Member
    card: ServiceCard


def _clean_name(value: str, *, field: str, rules: ProgrammeRules) -> str:
    name = unicodedata.normalize("NFC", " ".join(value.split()))
    if not name:
        raise ValidationFailed("This name is required.", field=field, code="NAME_REQUIRED")
    if len(name) > rules.enrolment.maximum_name_length:
        raise ValidationFailed(
            f"At most {rules.enrolment.maximum_name_length} characters.", field=field, code="NAME_TOO_LONG"
        )
    if any(unicodedata.category(ch).startswith(("C", "S", "N")) for ch in name):
        raise ValidationFailed(
            "Names hold letters, spaces, hyphens and apostrophes.", field=field, code="NAME_INVALID"
        )
    return name


def validate_enrolment(data: Enrolment, rules: ProgrammeRules, *, today: dt.date) -> Enrolment:
    """Check every field and return the cleaned enrolment; the first broken rule is raised."""
    given = _clean_name(data.given_name, field="givenName", rules=rules)
    family = _clean_name(data.family_name, field="familyName", rules=rules)
    email = data.email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise ValidationFailed("This is not an e-mail address.", field="email", code="EMAIL_INVALID")
    if data.date_of_birth > today:
        raise ValidationFailed("The date of birth is in the future.", field="dateOfBirth", code="DOB_INVALID")
    age = (
        today.year
        - data.date_of_birth.year
        - ((today.month, today.day) < (data.date_of_birth.month, data.date_of_birth.day))
    )
    if age < rules.enrolment.minimum_age_years or age > 130:
        raise ValidationFailed(
            f"Members are at least {rules.enrolment.minimum_age_years} years old.",
            field="dateOfBirth",
            code="DOB_INVALID",
        )
    country = data.country.strip().upper()
    if len(country) != 2 or not country.isalpha() or not country.isascii():
        raise ValidationFailed(
            "Use the two-letter ISO country code.", field="country", code="COUNTRY_INVALID"
        )
    check_pin_rules(data.pin, rules.pin, date_of_birth=data.date_of_birth)
    user_id = clean_user_id(data.user_id)
    if data.password is not None:
        check_password_rules(data.password, rules, email=email, user_id=user_id)
    return Enrolment(
        given_name=given,
        family_name=family,
        email=email,
        date_of_birth=data.date_of_birth,
        country=country,
        pin=data.pin,
        language=data.language.strip().lower() or "en",
        advertising_consent=data.advertising_consent,
        user_id=user_id,
        password=data.password,
    )


def clean_user_id(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    user_id = raw.strip().lower()
    if not _USER_ID.match(user_id):
        raise ValidationFailed(
            "A user ID is 3-40 characters: letters, digits, '.', '_' or '-', starting with a letter.",
            field="userId",
            code="USER_ID_INVALID",
        )
    return user_id


def check_password_rules(password: str, rules: ProgrammeRules, *, email: str, user_id: str | None) -> None:
    """Long enough, and not made of what a stranger already knows about the account."""
    minimum = rules.sign_in.password_min_length
    if len(password) < minimum or len(password) > 256:
        raise ValidationFailed(
            f"A password has {minimum} to 256 characters.", field="password", code="PASSWORD_TOO_SHORT"
        )
    lowered = password.lower()
    known = [email.split("@")[0], user_id or ""]
    if len(set(password)) < 4 or any(part and len(part) >= 4 and part in lowered for part in known):
        raise ValidationFailed(
            "This password is too easy to guess.", field="password", code="PASSWORD_TOO_SIMPLE"
        )


async def enrol(
    *, enrolment: Enrolment, rules: ProgrammeRules, today: dt.date | None = None
) -> EnrolledMember:
    """Enrol a member: a 9-digit account number that never changes and a first service card number."""
    data = validate_enrolment(enrolment, rules, today=today or dt.date.today())
    if await Member.filter(email=data.email).exists():
        raise Conflict("This e-mail address is already enrolled.", field="email", code="EMAIL_TAKEN")
    if data.user_id and await Member.filter(user_id=data.user_id).exists():
        raise Conflict("This user ID is taken.", field="userId", code="USER_ID_TAKEN")
    pin_hash = await hash_secret(data.pin)
    password_hash = await hash_secret(data.password) if data.password else None
    for _ in range(_ISSUE_ATTEMPTS):
        try:
            async with in_transaction():
                member = await Member.create(
                    account_number=new_account_number(rules.identifiers),
                    given_name=data.given_name,
                    family_name=data.family_name,
                    email=data.email,
                    date_of_birth=data.date_of_birth,
                    country=data.country,
                    language=data.language,
                    pin_hash=pin_hash,
                    user_id=data.user_id,
                    password_hash=password_hash,
                    advertising_consent=data.advertising_consent,
                )
                card = await ServiceCard.create(
                    account=member,
                    number=new_service_card_number(
                        rules.identifiers, tier=Tier.BASE, advertising_consent=data.advertising_consent
                    ),
                    tier=Tier.BASE,
                )
                await open_balances(account_id=member.id)
                await ConsentRecord.create(
                    account_id=member.id,
                    purpose=ConsentPurpose.ADVERTISING,
                    given=data.advertising_consent,
                    text_version=rules.consents.enrolment_text_version,
                    channel="enrolment",
                    recorded_at=member.created_at,
                )
            return EnrolledMember(member=member, card=card)
        except IntegrityError as exc:
            if data.user_id and await Member.filter(user_id=data.user_id).exists():
                raise Conflict("This user ID is taken.", field="userId", code="USER_ID_TAKEN") from exc
            if await Member.filter(email=data.email).exists():
                raise Conflict(
                    "This e-mail address is already enrolled.", field="email", code="EMAIL_TAKEN"
                ) from exc
            # A random account or card number collided: draw new ones.
    raise RuntimeError("could not draw unique account and card numbers")  # pragma: no cover


async def resolve_card(number: str, rules: ProgrammeRules) -> ServiceCard:
    """Find the card for a (validated) number; superseded numbers still resolve to their account."""
    valid = validate_service_card_number(number, rules.identifiers)
    card = await ServiceCard.get_or_none(number=valid)
    if card is None:
        raise NotFound(
            "No member has this service card number.", field="serviceCardNumber", code="CARD_NOT_FOUND"
        )
    return card


async def active_card(*, account_id: int) -> ServiceCard:
    card = await ServiceCard.filter(account_id=account_id, state=CardState.ACTIVE).first()
    if card is None:
        raise NotFound("The member has no active card.", code="CARD_NOT_FOUND")
    return card


async def get_member(*, account_id: int) -> Member:
    member = await Member.get_or_none(id=account_id)
    if member is None:
        raise NotFound("No such member.", code="MEMBER_NOT_FOUND")
    return member
