"""Enrolment: a new member's account number, first service card, balances and recorded advertising consent,
in one transaction. Above members, ledger and consents: it is the one place that opens all three."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.consents.models import ConsentPurpose, ConsentRecord
from loyalty.errors import Conflict, ValidationFailed
from loyalty.identifiers import new_account_number, new_service_card_number
from loyalty.ledger.service import open_balances
from loyalty.members.models import Member, ServiceCard, Tier
from loyalty.members.pins import check_pin_rules, hash_secret
from loyalty.members.service import check_password_rules, clean_email, clean_name, clean_user_id
from loyalty.rules import ProgrammeRules

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


def validate_enrolment(data: Enrolment, rules: ProgrammeRules, *, today: dt.date) -> Enrolment:
    """Check every field and return the cleaned enrolment; the first broken rule is raised."""
    given = clean_name(data.given_name, field="givenName", maximum=rules.enrolment.maximum_name_length)
    family = clean_name(data.family_name, field="familyName", maximum=rules.enrolment.maximum_name_length)
    email = clean_email(data.email)
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
