"""Account and service card numbers: Luhn, prefixes, and every way a typed-in number is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.errors import ValidationFailed
from loyalty.identifiers import (
    CardNumberError,
    card_qr_svg,
    group_for_reading,
    luhn_check_digit,
    luhn_valid,
    new_account_number,
    new_service_card_number,
    prefix_key,
    validate_account_number,
    validate_service_card_number,
)
from loyalty.rules import current_rules

RULES = current_rules().identifiers


@pytest.mark.parametrize(
    ("payload", "digit"),
    [
        ("7992739871", 3),  # the textbook Luhn example
        ("99200123456789", 7),  # DOMAIN.md: the partner guide's 9920 0123 4567 89x needs 7, not 4
        ("411111111111111", 1),  # a well-known test card number
        ("0", 0),
    ],
)
def test_luhn_check_digit_worked_examples(payload: str, digit: int) -> None:
    assert luhn_check_digit(payload) == digit
    assert luhn_valid(payload + str(digit))


def test_the_partner_guide_placeholder_fails_luhn() -> None:
    assert not luhn_valid("992001234567894")


@pytest.mark.parametrize(
    ("tier", "consent", "prefix"),
    [
        ("BASE", False, "9999"),
        ("BASE", True, "9920"),
        ("FTL", False, "9922"),
        ("SEN", True, "222"),
        ("HON", False, "333"),
    ],
)
def test_prefix_follows_status_then_consent(tier: str, consent: bool, prefix: str) -> None:
    number = new_service_card_number(RULES, tier=tier, advertising_consent=consent)
    assert number.startswith(prefix)
    assert RULES.service_card_prefixes[prefix_key(tier=tier, advertising_consent=consent)] == prefix


@given(tier=st.sampled_from(["BASE", "FTL", "SEN", "HON"]), consent=st.booleans())
def test_issued_numbers_are_15_digits_and_pass_validation(tier: str, consent: bool) -> None:
    number = new_service_card_number(RULES, tier=tier, advertising_consent=consent)
    assert len(number) == 15 and number.isdigit()
    assert validate_service_card_number(number, RULES) == number


@given(data=st.data())
def test_any_single_digit_change_is_caught(data: st.DataObject) -> None:
    number = new_service_card_number(RULES, tier="BASE", advertising_consent=True)
    position = data.draw(st.integers(min_value=0, max_value=14))
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    changed = number[:position] + replacement + number[position + 1 :]
    assert not luhn_valid(changed)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("9920 1234 5678 90X", CardNumberError.NOT_DIGITS),
        ("99201234", CardNumberError.WRONG_LENGTH),
        ("9920123456789012", CardNumberError.LEGACY_16_DIGIT),
        ("992001234567894", CardNumberError.CHECK_DIGIT),
        ("123456789012347", CardNumberError.UNKNOWN_PREFIX),
    ],
)
def test_refused_card_numbers_name_the_reason(raw: str, code: CardNumberError) -> None:
    if code is CardNumberError.UNKNOWN_PREFIX:
        raw = raw[:-1] + str(luhn_check_digit(raw[:-1]))
    with pytest.raises(ValidationFailed) as refused:
        validate_service_card_number(raw, RULES)
    assert refused.value.code == code
    assert refused.value.field == "serviceCardNumber"


def test_grouped_input_is_accepted() -> None:
    number = new_service_card_number(RULES, tier="BASE", advertising_consent=True)
    assert validate_service_card_number(group_for_reading(number), RULES) == number
    assert group_for_reading("992012345678901") == "9920 1234 5678 901"


def test_account_numbers_have_nine_digits() -> None:
    for _ in range(200):
        number = new_account_number(RULES)
        assert len(number) == 9 and number.isdigit() and number[0] != "0"
        assert validate_account_number(number, RULES) == number


@pytest.mark.parametrize("raw", ["12345678", "1234567890", "12345678a"])
def test_bad_account_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        validate_account_number(raw, RULES)
    assert refused.value.code == CardNumberError.ACCOUNT_NUMBER_INVALID


def test_the_card_qr_code_is_an_svg_that_depends_on_the_number() -> None:
    import xml.etree.ElementTree as ET

    first = card_qr_svg(new_service_card_number(RULES, tier="BASE", advertising_consent=True))
    second = card_qr_svg(new_service_card_number(RULES, tier="BASE", advertising_consent=True))
    assert ET.fromstring(first).tag.endswith("svg")  # noqa: S314 - our own output
    assert first != second
