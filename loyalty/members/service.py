"""Members' own fields cleaned and checked (names, e-mail, user ID, password), and look-ups by card number and
account. Enrolment itself is ``loyalty.enrolment``."""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

from loyalty.errors import NotFound, ValidationFailed
from loyalty.identifiers import validate_service_card_number
from loyalty.members.models import CardState, Member, ServiceCard
from loyalty.rules import ProgrammeRules

_EMAIL_MAX = 254
_USER_ID = re.compile(r"^[a-z][a-z0-9._-]{2,39}$")


def clean_name(value: str, *, field: str, maximum: int) -> str:
    """One space between words, NFC, at most ``maximum`` characters, and letters rather than digits,
    symbols or control characters."""
    name = unicodedata.normalize("NFC", " ".join(value.split()))
    if not name:
        raise ValidationFailed("This name is required.", field=field, code="NAME_REQUIRED")
    if len(name) > maximum:
        raise ValidationFailed(f"At most {maximum} characters.", field=field, code="NAME_TOO_LONG")
    if any(unicodedata.category(ch).startswith(("C", "S", "N")) for ch in name):
        raise ValidationFailed(
            "Names hold letters, spaces, hyphens and apostrophes.", field=field, code="NAME_INVALID"
        )
    return name


def clean_email(value: str) -> str:
    """The address in the form we store (email-validator's normalised form, lower-case), syntax checked
    by email-validator. Deliverability (a DNS look-up) is not checked: enrolment proves the address with
    a code sent to it."""
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValidationFailed(
            "This is not an e-mail address.", field="email", code="EMAIL_INVALID"
        ) from None
    email = checked.normalized.lower()
    if len(email) > _EMAIL_MAX:
        raise ValidationFailed("This is not an e-mail address.", field="email", code="EMAIL_INVALID")
    return email


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
