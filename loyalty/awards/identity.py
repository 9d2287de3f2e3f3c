"""The identity check of award searches and bookings (DOMAIN.md 2).

Programme rules:

- A member whose app second factor is off and who holds more than ``[identity_check] balance_above_miles``
  award miles confirms every award search and every award booking with a code e-mailed to the address on
  file. With the second factor on, or at or below the threshold, nothing is asked.
- Asked without a confirmation, the action answers :class:`IdentityConfirmationRequired` and e-mails a
  code (``code_digits`` digits, kept only as an argon2 hash, valid ``code_minutes``). At most
  ``max_open_checks`` codes of one purpose are open at once: past that no new e-mail goes out, and the
  newest open check is named again.
- The action sent again with the check's id and the code goes ahead. A code confirms one action of its
  purpose, once; ``max_code_attempts`` wrong codes close the check (each try is counted before the code is
  checked, in its own transaction, so parallel guesses each use one up).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from loyalty.auth.totp import has_confirmed_factor
from loyalty.awards.config import IdentityCheckRules
from loyalty.awards.models import IdentityCheck, IdentityPurpose
from loyalty.errors import DomainError
from loyalty.identifiers import ascii_digits
from loyalty.ledger.models import Currency
from loyalty.ledger.service import balances_of
from loyalty.members.models import Member
from loyalty.members.pins import hash_secret, verify_secret
from loyalty.notifications.service import email_member

CODE_TEMPLATE = "award_identity_code"
CHECK_ID_BYTES = 18


@dataclass(frozen=True, slots=True)
class IdentityConfirmation:
    """What the client sends back: the check's id and the code from the e-mail."""

    check_id: str
    code: str


class IdentityConfirmationRequired(DomainError):
    """The action needs the e-mailed code: send it again with ``check_id`` and the code."""

    code = "IDENTITY_CONFIRMATION_REQUIRED"

    def __init__(self, *, check_id: str, expires_at: dt.datetime, code_sent: bool) -> None:
        super().__init__(
            "Confirm it is you: enter the code we e-mailed you."
            if code_sent
            else "Enter the code we e-mailed you a moment ago.",
            field="identityConfirmation",
        )
        self.check_id = check_id
        self.expires_at = expires_at
        self.code_sent = code_sent


class IdentityCheckClosed(DomainError):
    """Unknown, expired, used, for another purpose or out of tries: ask again without a code."""

    code = "IDENTITY_CHECK_CLOSED"

    def __init__(self) -> None:
        super().__init__(
            "This code can no longer be used: send the request without one for a new code.",
            field="identityConfirmation.checkId",
        )


class IdentityCodeInvalid(DomainError):
    code = "IDENTITY_CODE_INVALID"

    def __init__(self, attempts_left: int) -> None:
        super().__init__(
            f"This code is not right; {attempts_left} more tries with this code.",
            field="identityConfirmation.code",
        )
        self.attempts_left = attempts_left


async def identity_check_needed(*, account_id: int, rules: IdentityCheckRules) -> bool:
    """App second factor off and more than the threshold in award miles."""
    balance = (await balances_of(account_id=account_id))[Currency.AWARD_MILES]
    if balance <= rules.balance_above_miles:
        return False
    return not await has_confirmed_factor(account_id=account_id)


def _new_code(digits: int) -> str:
    return f"{secrets.randbelow(10**digits):0{digits}d}"


async def start_check(
    *, account_id: int, purpose: IdentityPurpose, rules: IdentityCheckRules, now: dt.datetime
) -> IdentityConfirmationRequired:
    """E-mail a new code (unless ``max_open_checks`` are open) and name the check to confirm with."""
    member = await Member.get(id=account_id).only("id", "email", "given_name", "language")
    code = _new_code(rules.code_digits)
    code_hash = await hash_secret(code)  # slow: before the transaction
    async with in_transaction():
        await Member.filter(id=account_id).select_for_update(no_key=True).first()
        open_checks = IdentityCheck.filter(
            account_id=account_id, purpose=purpose, used_at=None, expires_at__gt=now
        ).filter(attempts__lt=rules.max_code_attempts)
        if await open_checks.count() >= rules.max_open_checks or member.email is None:
            newest = await open_checks.order_by("-id").first()
            if newest is not None:
                return IdentityConfirmationRequired(
                    check_id=newest.public_id, expires_at=newest.expires_at, code_sent=False
                )
        check = await IdentityCheck.create(
            public_id=secrets.token_urlsafe(CHECK_ID_BYTES),
            account_id=account_id,
            purpose=purpose,
            code_hash=code_hash,
            expires_at=now + dt.timedelta(minutes=rules.code_minutes),
        )
        await email_member(
            member, CODE_TEMPLATE, token=code, expires_minutes=rules.code_minutes, check_id=check.public_id
        )
    return IdentityConfirmationRequired(
        check_id=check.public_id, expires_at=check.expires_at, code_sent=member.email is not None
    )


def _open(
    row: IdentityCheck | None, purpose: IdentityPurpose, rules: IdentityCheckRules, now: dt.datetime
) -> IdentityCheck:
    if (
        row is None
        or row.purpose != purpose
        or row.used_at is not None
        or row.expires_at <= now
        or row.attempts >= rules.max_code_attempts
    ):
        raise IdentityCheckClosed()
    return row


async def verify_code(
    *,
    account_id: int,
    purpose: IdentityPurpose,
    confirmation: IdentityConfirmation,
    rules: IdentityCheckRules,
    now: dt.datetime,
) -> IdentityCheck:
    """The open check if the code is right (the try counted first); it is spent by :func:`spend_check`."""
    found = await IdentityCheck.get_or_none(public_id=confirmation.check_id.strip(), account_id=account_id)
    row = _open(found, purpose, rules, now)
    counted = await IdentityCheck.filter(
        id=row.id, used_at=None, attempts__lt=rules.max_code_attempts
    ).update(attempts=F("attempts") + 1)
    if not counted:
        raise IdentityCheckClosed()
    typed = confirmation.code.strip()
    if not (ascii_digits(typed) and len(typed) == rules.code_digits):
        typed = ""  # still verified below: a malformed code takes as long as a wrong one
    if not await verify_secret(row.code_hash, typed) or not typed:
        raise IdentityCodeInvalid(max(0, rules.max_code_attempts - row.attempts - 1))
    return row


async def spend_check(check: IdentityCheck, *, now: dt.datetime) -> None:
    """Mark the check used, once (call in the action's transaction): a second use is refused."""
    if not await IdentityCheck.filter(id=check.id, used_at=None).update(used_at=now):
        raise IdentityCheckClosed()


async def confirm_identity(
    *,
    account_id: int,
    purpose: IdentityPurpose,
    confirmation: IdentityConfirmation | None,
    rules: IdentityCheckRules,
    now: dt.datetime,
) -> IdentityCheck | None:
    """None when no check is needed; the verified check (to spend with the action) when the code is right;
    else :class:`IdentityConfirmationRequired` (a code e-mailed) or a refusal of the code."""
    if not await identity_check_needed(account_id=account_id, rules=rules):
        return None
    if confirmation is None:
        raise await start_check(account_id=account_id, purpose=purpose, rules=rules, now=now)
    return await verify_code(
        account_id=account_id, purpose=purpose, confirmation=confirmation, rules=rules, now=now
    )
