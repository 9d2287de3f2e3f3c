"""PIN rules: shape, trivial PINs, and hashing that never keeps the PIN."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalty.errors import ValidationFailed
from loyalty.members.pins import check_pin_rules, hash_secret, is_trivial_pin, verify_secret
from loyalty.rules import PinRules, current_rules

RULES = current_rules().pin


@pytest.mark.parametrize("pin", ["000000", "111111", "123456", "654321", "121212", "112211", "345678"])
def test_trivial_pins_are_refused(pin: str) -> None:
    assert is_trivial_pin(pin)
    with pytest.raises(ValidationFailed) as refused:
        check_pin_rules(pin, RULES)
    assert refused.value.code == "PIN_TOO_SIMPLE"


@pytest.mark.parametrize("pin", ["100390", "900310", "031090", "199003"])
def test_date_of_birth_pins_are_refused(pin: str) -> None:
    assert is_trivial_pin(pin, date_of_birth=dt.date(1990, 3, 10))
    assert not is_trivial_pin(pin, date_of_birth=dt.date(1971, 6, 25))


@pytest.mark.parametrize("pin", ["739152", "284917", "508263"])
def test_ordinary_pins_pass(pin: str) -> None:
    check_pin_rules(pin, RULES, date_of_birth=dt.date(1990, 12, 10))


@pytest.mark.parametrize("pin", ["73915", "7391520", "73915a", " 739152", ""])
def test_pin_shape(pin: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_pin_rules(pin, RULES)
    assert refused.value.code == "PIN_FORMAT"


def test_pin_length_is_configuration() -> None:
    four = PinRules(length=4)
    check_pin_rules("7392", four)
    with pytest.raises(ValidationFailed):
        check_pin_rules("739152", four)


async def test_hash_verifies_and_hides_the_pin() -> None:
    hashed = await hash_secret("739152")
    assert "739152" not in hashed and hashed.startswith("$argon2")
    assert await verify_secret(hashed, "739152")
    assert not await verify_secret(hashed, "739153")
    assert not await verify_secret(None, "739152")
