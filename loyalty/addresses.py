"""Verifying a member's e-mail address: the one already on file, or a new one the member wants instead.

Programme rules:

- An address is used for e-mail sign-in and for notifications only once it is verified: the code e-mailed
  to it was entered (at enrolment, or here). Members enrolled before addresses were confirmed have an
  unverified address until they verify it here.
- ``request_address_verification`` e-mails a code to the address (the current one, or the new one asked
  for). A new address replaces the old one only when its code is confirmed: until then the old address,
  verified or not, stays as it is.
- The code follows the enrolment's rules (``[enrolment]``: ``code_digits`` digits, ``code_minutes``, at
  most ``max_code_attempts`` wrong codes, ``mails_per_address`` open requests per address get an e-mail).
  It is kept only as an argon2 hash, works once and only for the member who asked for it.
- A new address that another member has answers the same as a free one (nobody learns who is enrolled):
  its owner gets a notice instead of a code, so that request can only fail.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from loyalty.errors import DomainError
from loyalty.identifiers import ascii_digits
from loyalty.members.models import AddressVerification, Member
from loyalty.members.pins import hash_secret, verify_secret
from loyalty.members.service import clean_email, get_member
from loyalty.notifications.models import Channel
from loyalty.notifications.service import email_member, enqueue_notification
from loyalty.rules import ProgrammeRules

VERIFICATION_ID_BYTES = 18
"""144 random bits, 24 characters in URL-safe base64."""
CODE_TEMPLATE = "address_verification_code"
NOTICE_TEMPLATE = "address_change_attempt"


@dataclass(frozen=True, slots=True)
class VerificationRequested:
    """The same answer for every address: the id to confirm with and until when the code works."""

    verification_id: str
    expires_at: dt.datetime


class AddressVerified(DomainError):
    code = "EMAIL_ALREADY_VERIFIED"

    def __init__(self) -> None:
        super().__init__("This e-mail address is verified already.", field="email")


class AddressMissing(DomainError):
    code = "EMAIL_MISSING"

    def __init__(self) -> None:
        super().__init__("There is no e-mail address on file: give one.", field="email")


class VerificationExpired(DomainError):
    """Unknown, expired, another member's, or confirmed already: the same answer for each."""

    code = "VERIFICATION_EXPIRED"

    def __init__(self) -> None:
        super().__init__(
            "This verification is unknown or has expired: ask for a new code.", field="verificationId"
        )


class VerificationAttemptsExceeded(DomainError):
    code = "VERIFICATION_ATTEMPTS_EXCEEDED"

    def __init__(self) -> None:
        super().__init__(
            "Too many wrong codes for this verification: ask for a new code.", field="verificationId"
        )


class VerificationCodeInvalid(DomainError):
    code = "VERIFICATION_CODE_INVALID"

    def __init__(self, attempts_left: int) -> None:
        super().__init__(f"This code is not right; {attempts_left} more tries for this code.", field="code")


def new_code(digits: int) -> str:
    """A code of ``digits`` random decimal digits (the e-mailed codes of enrolment and verification)."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"


async def code_matches(code_hash: str, typed: str, *, digits: int) -> bool:
    """Whether ``typed`` is the code behind ``code_hash``; a malformed code takes as long as a wrong one."""
    cleaned = typed.strip()
    well_formed = ascii_digits(cleaned) and len(cleaned) == digits
    return await verify_secret(code_hash, cleaned if well_formed else "") and well_formed


async def request_address_verification(
    *, account_id: int, email: str | None, rules: ProgrammeRules, now: dt.datetime
) -> VerificationRequested:
    """E-mail a code to the member's address, or to ``email`` (a new address, used once it is confirmed).

    Refused: no address at all (``EMAIL_MISSING``), the current one verified already and no new one
    (``EMAIL_ALREADY_VERIFIED``), a malformed new one (``EMAIL_INVALID``)."""
    member = await get_member(account_id=account_id)
    address = clean_email(email) if email is not None else member.email
    if address is None:
        raise AddressMissing()
    if address == member.email and member.email_verified_at is not None:
        raise AddressVerified()
    owner = None
    if address != member.email:
        owner = await Member.get_or_none(email=address).only("id", "email", "given_name", "language")
    code = new_code(rules.enrolment.code_digits)
    code_hash = await hash_secret(code)
    minutes = rules.enrolment.code_minutes
    expires_at = now + dt.timedelta(minutes=minutes)
    verification_id = secrets.token_urlsafe(VERIFICATION_ID_BYTES)
    async with in_transaction():
        open_ones = await AddressVerification.filter(email=address, expires_at__gt=now).count()
        await AddressVerification.create(
            public_id=verification_id,
            account_id=account_id,
            email=address,
            code_hash=code_hash,
            expires_at=expires_at,
        )
        if open_ones >= rules.enrolment.mails_per_address:
            pass  # the same answer, no e-mail: nobody floods an inbox through verification
        elif owner is None:
            await enqueue_notification(
                account_id=account_id,
                channel=Channel.EMAIL,
                recipient=address,
                template=CODE_TEMPLATE,
                language=member.language,
                payload={
                    "given_name": member.given_name,
                    "token": code,
                    "expires_minutes": minutes,
                    "verification_id": verification_id,
                },
            )
        else:
            await email_member(owner, NOTICE_TEMPLATE)
    return VerificationRequested(verification_id=verification_id, expires_at=expires_at)


def _open(
    row: AddressVerification | None, account_id: int, rules: ProgrammeRules, now: dt.datetime
) -> AddressVerification:
    if row is None or row.account_id != account_id or row.confirmed_at is not None or row.expires_at <= now:
        raise VerificationExpired()
    if row.attempts >= rules.enrolment.max_code_attempts:
        raise VerificationAttemptsExceeded()
    return row


async def confirm_address_verification(
    *, account_id: int, verification_id: str, code: str, rules: ProgrammeRules, now: dt.datetime
) -> Member:
    """The member with the address of ``verification_id`` on file and verified, once the code is right.

    Each try is counted before the code is checked (parallel guesses each use one up); the verification
    is claimed in the transaction that sets the address, so it is confirmed once."""
    row = _open(
        await AddressVerification.get_or_none(public_id=verification_id.strip()), account_id, rules, now
    )
    counted = await AddressVerification.filter(
        id=row.id, confirmed_at=None, attempts__lt=rules.enrolment.max_code_attempts
    ).update(attempts=F("attempts") + 1)
    if not counted:
        _open(await AddressVerification.get_or_none(id=row.id), account_id, rules, now)
        raise VerificationAttemptsExceeded()  # pragma: no cover - _open raised already
    if not await code_matches(row.code_hash, code, digits=rules.enrolment.code_digits):
        raise VerificationCodeInvalid(max(0, rules.enrolment.max_code_attempts - row.attempts - 1))
    try:
        async with in_transaction():
            claimed = await AddressVerification.filter(id=row.id, confirmed_at=None).update(confirmed_at=now)
            if not claimed:
                raise VerificationExpired()
            await Member.filter(id=account_id).update(email=row.email, email_verified_at=now)
    except IntegrityError as exc:
        # Another member confirmed this address in the meantime (its code reached only its owner).
        raise VerificationExpired() from exc
    return await get_member(account_id=account_id)


async def purge_expired_verifications(*, now: dt.datetime, limit: int) -> int:
    """Delete up to ``limit`` verifications whose code expired (confirmed or not); returns how many."""
    ids = (
        await AddressVerification.filter(expires_at__lte=now)
        .order_by("id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    if not ids:
        return 0
    return await AddressVerification.filter(id__in=list(ids)).delete()
