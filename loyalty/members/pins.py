"""PIN rules (DOMAIN.md §1: digits only, set length, nothing trivial) and argon2 hashes of PINs and passwords."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import itertools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from loyalty.errors import ValidationFailed
from loyalty.identifiers import ascii_digits
from loyalty.rules import PinRules

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps the time of a miss equal to the time of a hit on an unknown account.

    Made on first use, not at import: a hash costs tens of milliseconds, which every command of the CLI
    would pay at start-up."""
    return _hasher.hash("not-a-real-pin")


def check_pin_rules(pin: str, rules: PinRules, *, date_of_birth: dt.date | None = None) -> None:
    """Refuse PINs of the wrong shape and the ones anybody would guess first."""
    if not ascii_digits(pin) or len(pin) != rules.length:
        raise ValidationFailed(f"The PIN has exactly {rules.length} digits.", field="pin", code="PIN_FORMAT")
    if is_trivial_pin(pin, date_of_birth=date_of_birth):
        raise ValidationFailed(
            "This PIN is too easy to guess (repeated or consecutive digits, or your date of birth).",
            field="pin",
            code="PIN_TOO_SIMPLE",
        )


def is_trivial_pin(pin: str, *, date_of_birth: dt.date | None = None) -> bool:
    digits = [int(ch) for ch in pin]
    steps = {b - a for a, b in itertools.pairwise(digits)}
    if len(set(digits)) <= 2 and len(pin) >= 4:
        return True  # 111111, 121212, 112211 …
    if steps in ({1}, {-1}):
        return True  # 123456, 987654
    if date_of_birth is not None:
        forms = {
            date_of_birth.strftime("%d%m%y"),
            date_of_birth.strftime("%y%m%d"),
            date_of_birth.strftime("%m%d%y"),
            date_of_birth.strftime("%d%m%Y"),
            date_of_birth.strftime("%Y%m%d"),
        }
        if any(form.startswith(pin) or pin.startswith(form) for form in forms):
            return True
    return False


async def hash_secret(pin: str) -> str:
    return await asyncio.to_thread(_hasher.hash, pin)


async def verify_secret(pin_hash: str | None, pin: str) -> bool:
    """Constant-work check: with no hash (unknown account) a dummy hash is verified and fails."""

    def _verify() -> bool:
        try:
            return _hasher.verify(pin_hash or _dummy_hash(), pin) and pin_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(_verify)
