"""Account numbers and service card numbers (DOMAIN.md §1): pure functions, no I/O.

A service card number (SCN) is a status/consent prefix, a random body, and a Luhn check digit over
the first 14 digits. Only Luhn-valid numbers are issued and accepted.
"""

from __future__ import annotations

import secrets
from enum import StrEnum

import segno

from loyalty.errors import ValidationFailed
from loyalty.rules import IdentifierRules


class CardNumberError(StrEnum):
    """Why a typed-in card or account number was refused (machine-readable codes)."""

    NOT_DIGITS = "CARD_NUMBER_NOT_DIGITS"
    WRONG_LENGTH = "CARD_NUMBER_WRONG_LENGTH"
    LEGACY_16_DIGIT = "CARD_NUMBER_LEGACY_16_DIGIT"
    CHECK_DIGIT = "CARD_NUMBER_CHECK_DIGIT"
    UNKNOWN_PREFIX = "CARD_NUMBER_UNKNOWN_PREFIX"
    ACCOUNT_NUMBER_INVALID = "ACCOUNT_NUMBER_INVALID"


def ascii_digits(text: str) -> bool:
    """Digits 0-9 only: str.isdigit() also accepts superscripts and other scripts' digits."""
    return text.isascii() and text.isdigit()


def luhn_check_digit(payload: str) -> int:
    """The digit that makes ``payload + digit`` pass the mod-10 (Luhn) check."""
    total = 0
    # Walking from the right, the digit next to the (future) check digit is doubled first.
    for index, char in enumerate(reversed(payload)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def luhn_valid(number: str) -> bool:
    return ascii_digits(number) and len(number) > 1 and luhn_check_digit(number[:-1]) == int(number[-1])


def prefix_key(*, tier: str, advertising_consent: bool) -> str:
    """Which prefix a card gets: a status prefix always wins; base members split on advertising consent."""
    if tier != "BASE":
        return tier
    return "BASE" if advertising_consent else "BASE_NO_AD_CONSENT"


def new_service_card_number(rules: IdentifierRules, *, tier: str, advertising_consent: bool) -> str:
    prefix = rules.service_card_prefixes[prefix_key(tier=tier, advertising_consent=advertising_consent)]
    body_length = rules.service_card_number_length - len(prefix) - 1
    body = "".join(str(secrets.randbelow(10)) for _ in range(body_length))
    payload = prefix + body
    return payload + str(luhn_check_digit(payload))


def new_account_number(rules: IdentifierRules) -> str:
    length = rules.account_number_length
    return str(secrets.randbelow(9 * 10 ** (length - 1)) + 10 ** (length - 1))


def normalise_number(raw: str) -> str:
    """Drop the spaces and dashes people type when copying a grouped number."""
    return "".join(ch for ch in raw if ch not in " -\t")


def validate_service_card_number(
    raw: str, rules: IdentifierRules, *, field: str = "serviceCardNumber"
) -> str:
    """Return the normalised number or raise ``ValidationFailed`` with the precise reason."""
    number = normalise_number(raw)
    if not ascii_digits(number):
        raise ValidationFailed(
            "A service card number has digits only.", field=field, code=CardNumberError.NOT_DIGITS
        )
    if len(number) == rules.legacy_card_number_length:
        raise ValidationFailed(
            "16-digit card numbers are no longer valid; use the 15-digit service card number in the app.",
            field=field,
            code=CardNumberError.LEGACY_16_DIGIT,
        )
    if len(number) != rules.service_card_number_length:
        raise ValidationFailed(
            f"A service card number has {rules.service_card_number_length} digits.",
            field=field,
            code=CardNumberError.WRONG_LENGTH,
        )
    if not luhn_valid(number):
        raise ValidationFailed(
            "The check digit does not match.", field=field, code=CardNumberError.CHECK_DIGIT
        )
    if not any(number.startswith(prefix) for prefix in rules.service_card_prefixes.values()):
        raise ValidationFailed(
            "This is not a service card number of the programme.",
            field=field,
            code=CardNumberError.UNKNOWN_PREFIX,
        )
    return number


def validate_account_number(raw: str, rules: IdentifierRules, *, field: str = "accountNumber") -> str:
    number = normalise_number(raw)
    if not ascii_digits(number) or len(number) != rules.account_number_length:
        raise ValidationFailed(
            f"An account number has {rules.account_number_length} digits.",
            field=field,
            code=CardNumberError.ACCOUNT_NUMBER_INVALID,
        )
    return number


def card_qr_svg(number: str) -> str:
    """The digital card's QR code: it encodes the bare service card number, as scanners at lounges expect."""
    return str(segno.make(number, error="m").svg_inline(scale=4))


def group_for_reading(number: str) -> str:
    """``992012345678901`` → ``9920 1234 5678 901`` (groups of four, as printed on cards)."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
