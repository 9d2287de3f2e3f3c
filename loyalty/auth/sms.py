"""The SMS second factor (DOMAIN.md 2): codes sent by SMS, counted wrong tries and the block.

Programme rules (``[sms_two_factor]`` in ``rules.toml``): codes of ``code_digits`` digits, valid for
``code_minutes``; ``max_failed_attempts`` wrong codes block the factor for ``lockout_minutes``, and while it
is blocked no code is checked and none is sent. A set-up or a sign-in challenge may have
``codes_per_challenge`` codes sent; only the newest unused one counts. Turning the factor off takes a
code sent to the confirmed number for that purpose (``send_disable_code``, then ``disable``), so a session
alone cannot remove the factor; up to ``codes_per_challenge`` such codes may be unexpired at a time.

A code is written to the notification outbox (channel SMS) in the transaction that stores its hash, so
the worker sends exactly the codes that exist, and none is lost if the process stops before it is sent.
Codes are kept as HMAC-SHA256 under the caller's key, bound to the member and to the set-up or challenge.

Every check is one transaction holding the factor's row lock, like the app factor's (``totp``): counters
stay exact whatever runs in parallel, a sign-in's challenge is claimed in the same transaction, and
errors are raised after the commit so a counted failure is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.auth.models import CompletedChallenge, SmsCode, SmsCodePurpose, SmsFactor
from loyalty.auth.totp import ChallengeRefused, TwoFactorInvalid, TwoFactorLocked, count_attempt
from loyalty.errors import DomainError, ValidationFailed
from loyalty.identifiers import ascii_digits
from loyalty.members.models import Member
from loyalty.members.sessions import Challenge
from loyalty.notifications.models import Channel
from loyalty.notifications.service import enqueue_notification
from loyalty.rules import SmsTwoFactorRules

SMS_TEMPLATE = "sms_code"
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_COUNTERS = ["failed_attempts", "locked_until"]


class PhoneNumberInvalid(ValidationFailed):
    code = "PHONE_NUMBER_INVALID"


class SmsTwoFactorNotEnabled(DomainError):
    code = "SMS_TWO_FACTOR_NOT_ENABLED"


class SmsTwoFactorNotStarted(DomainError):
    code = "SMS_TWO_FACTOR_NOT_STARTED"


class SmsTwoFactorAlreadyEnabled(DomainError):
    code = "SMS_TWO_FACTOR_ALREADY_ENABLED"


class SmsCodeLimitReached(DomainError):
    """Enough codes were sent for this set-up or sign-in: start it again."""

    code = "SMS_CODE_LIMIT_REACHED"


@dataclass(frozen=True, slots=True)
class SmsSent:
    """A code is on its way: to which number (shown masked) and for how long it works."""

    phone_number_hint: str
    expires_in: int


def normalise_phone_number(raw: str) -> str:
    """E.164 (``+4915112345678``); spaces, hyphens, dots and brackets as people type them are dropped."""
    compact = re.sub(r"[\s\-./()]", "", raw)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not _E164.match(compact):
        raise PhoneNumberInvalid(
            "Give the mobile number with its country code, e.g. +49 151 12345678.", field="phoneNumber"
        )
    return compact


def phone_number_hint(number: str) -> str:
    """The number as the member may see it again: country code, then all but the last two digits hidden."""
    return number[:3] + "•" * (len(number) - 5) + number[-2:]


async def has_confirmed_sms(*, account_id: int) -> bool:
    return await SmsFactor.filter(account_id=account_id, confirmed_at__isnull=False).exists()


async def begin_enrolment(
    *, account_id: int, phone_number: str, key: bytes, rules: SmsTwoFactorRules, now: dt.datetime
) -> SmsSent:
    """Set up SMS codes to ``phone_number``: a code is sent there; ``confirm_enrolment`` takes it back.

    Starting again replaces an unconfirmed number (and its codes), never a confirmed one."""
    number = normalise_phone_number(phone_number)
    try:
        return await _store_pending_factor(account_id, number, key, rules, now)
    except IntegrityError:
        return await _store_pending_factor(account_id, number, key, rules, now)  # a parallel start won


async def _store_pending_factor(
    account_id: int, number: str, key: bytes, rules: SmsTwoFactorRules, now: dt.datetime
) -> SmsSent:
    async with in_transaction():
        factor = await SmsFactor.filter(account_id=account_id).select_for_update().first()
        if factor is not None and factor.confirmed_at is not None:
            raise SmsTwoFactorAlreadyEnabled(
                "SMS codes are already on; turn them off first to change the number."
            )
        if factor is not None and _blocked(factor, now):
            raise TwoFactorLocked(factor.locked_until or now)
        if factor is not None:
            await SmsCode.filter(account_id=account_id, purpose=SmsCodePurpose.SETUP).delete()
            await factor.delete()
        await SmsFactor.create(account_id=account_id, phone_number=number)
        return await _send_code(account_id, number, SmsCodePurpose.SETUP, None, key, rules, now)


async def confirm_enrolment(
    *, account_id: int, code: str, key: bytes, rules: SmsTwoFactorRules, now: dt.datetime
) -> str:
    """The code sent at set-up turns SMS codes on; returns the masked number. A wrong code counts."""

    async def turn_on(factor: SmsFactor) -> None:
        factor.confirmed_at = now
        await factor.save(update_fields=["confirmed_at"])

    factor = await _attempt(
        account_id=account_id,
        code=code,
        purpose=SmsCodePurpose.SETUP,
        challenge_id=None,
        key=key,
        rules=rules,
        now=now,
        on_success=turn_on,
    )
    return phone_number_hint(factor.phone_number)


async def send_sign_in_code(
    *, challenge: Challenge, key: bytes, rules: SmsTwoFactorRules, now: dt.datetime
) -> SmsSent:
    """Send a code for this sign-in challenge to the member's confirmed number (a new one replaces the
    last; at most ``codes_per_challenge``). Nothing is sent while the factor is blocked."""
    async with in_transaction():
        factor = await _lock_confirmed(challenge.account_id)
        if await CompletedChallenge.exists(
            account_id=challenge.account_id, challenge_id=challenge.challenge_id
        ):
            raise ChallengeRefused("This sign-in was completed already.", code="CHALLENGE_USED")
        if _blocked(factor, now):
            raise TwoFactorLocked(factor.locked_until or now)
        return await _send_code(
            challenge.account_id,
            factor.phone_number,
            SmsCodePurpose.SIGN_IN,
            challenge.challenge_id,
            key,
            rules,
            now,
        )


async def complete_challenge(
    *, challenge: Challenge, code: str, key: bytes, rules: SmsTwoFactorRules, now: dt.datetime
) -> None:
    """Accept the SMS code of one sign-in challenge, which then completes once (see ``totp``)."""

    async def claim(factor: SmsFactor) -> None:
        await CompletedChallenge.filter(account_id=challenge.account_id, expires_at__lt=now).delete()
        await CompletedChallenge.create(
            account_id=challenge.account_id,
            challenge_id=challenge.challenge_id,
            expires_at=dt.datetime.fromtimestamp(challenge.expires_at, dt.UTC),
            completed_at=now,
        )

    await _attempt(
        account_id=challenge.account_id,
        code=code,
        purpose=SmsCodePurpose.SIGN_IN,
        challenge_id=challenge.challenge_id,
        key=key,
        rules=rules,
        now=now,
        on_success=claim,
    )


async def send_disable_code(
    *, account_id: int, key: bytes, rules: SmsTwoFactorRules, now: dt.datetime
) -> SmsSent:
    """Send a code for turning SMS codes off to the member's confirmed number (``disable`` takes it back).

    A new code replaces the last; at most ``codes_per_challenge`` unexpired ones at a time. Nothing is sent
    while the factor is blocked."""
    async with in_transaction():
        factor = await _lock_confirmed(account_id)
        if _blocked(factor, now):
            raise TwoFactorLocked(factor.locked_until or now)
        codes = SmsCode.filter(account_id=account_id, purpose=SmsCodePurpose.DISABLE)
        await codes.filter(expires_at__lte=now).delete()  # an expired code no longer counts
        if await codes.count() >= rules.codes_per_challenge:
            raise SmsCodeLimitReached(
                f"{rules.codes_per_challenge} codes were sent in the last {rules.code_minutes} minutes: "
                "use the newest, or ask again later."
            )
        return await _send_code(
            account_id, factor.phone_number, SmsCodePurpose.DISABLE, None, key, rules, now
        )


async def disable(
    *, account_id: int, code: str, key: bytes, rules: SmsTwoFactorRules, now: dt.datetime
) -> None:
    """Turn SMS codes off with the code ``send_disable_code`` sent to the confirmed number (the caller also
    has a fresh AUTHENTICATED session). A wrong code counts, as at sign-in; the factor's codes go with it."""

    async def turn_off(factor: SmsFactor) -> None:
        await SmsCode.filter(account_id=account_id).delete()
        await factor.delete()

    await _attempt(
        account_id=account_id,
        code=code,
        purpose=SmsCodePurpose.DISABLE,
        challenge_id=None,
        key=key,
        rules=rules,
        now=now,
        on_success=turn_off,
    )


async def _send_code(
    account_id: int,
    number: str,
    purpose: SmsCodePurpose,
    challenge_id: str | None,
    key: bytes,
    rules: SmsTwoFactorRules,
    now: dt.datetime,
) -> SmsSent:
    """Store a new code's hash and write the SMS to the outbox, in the caller's transaction."""
    earlier = SmsCode.filter(account_id=account_id, purpose=purpose, **_of(challenge_id))
    if await earlier.count() >= rules.codes_per_challenge:
        raise SmsCodeLimitReached(
            f"{rules.codes_per_challenge} codes were sent already: start again.", field="challenge"
        )
    await earlier.filter(used_at__isnull=True).update(used_at=now)  # replaced: only the newest counts
    code = "".join(secrets.choice("0123456789") for _ in range(rules.code_digits))
    await SmsCode.create(
        account_id=account_id,
        purpose=purpose,
        challenge_id=challenge_id,
        code_hash=_code_hash(key, account_id, purpose, challenge_id, code),
        expires_at=now + dt.timedelta(minutes=rules.code_minutes),
    )
    member = await Member.get(id=account_id).only("id", "language")
    await enqueue_notification(
        account_id=account_id,
        channel=Channel.SMS,
        recipient=number,
        template=SMS_TEMPLATE,
        language=member.language,
        payload={"token": code, "expires_minutes": rules.code_minutes},
    )
    return SmsSent(phone_number_hint=phone_number_hint(number), expires_in=rules.code_minutes * 60)


async def _attempt(
    *,
    account_id: int,
    code: str,
    purpose: SmsCodePurpose,
    challenge_id: str | None,
    key: bytes,
    rules: SmsTwoFactorRules,
    now: dt.datetime,
    on_success: Callable[[SmsFactor], Awaitable[None]],
) -> SmsFactor:
    """One counted attempt under the factor's lock; the error is raised after the commit."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    cleaned = "".join(code.split())
    async with in_transaction():
        if purpose is SmsCodePurpose.SETUP:
            factor = await _lock_unconfirmed(account_id)
        else:
            factor = await _lock_confirmed(account_id)
        if purpose is SmsCodePurpose.SIGN_IN and await CompletedChallenge.exists(
            account_id=account_id, challenge_id=challenge_id
        ):
            raise ChallengeRefused("This sign-in was completed already.", code="CHALLENGE_USED")
        error: DomainError | None
        if _blocked(factor, now):
            error = TwoFactorLocked(factor.locked_until or now)
        else:
            error = await _check_code(account_id, cleaned, purpose, challenge_id, key, rules, now)
            error = count_attempt(
                factor,
                error,
                max_failed_attempts=rules.max_failed_attempts,
                lockout_minutes=rules.lockout_minutes,
                now=now,
            )
            await factor.save(update_fields=_COUNTERS)
            if error is None:
                await on_success(factor)
    if error is not None:
        raise error
    return factor


async def _check_code(
    account_id: int,
    cleaned: str,
    purpose: SmsCodePurpose,
    challenge_id: str | None,
    key: bytes,
    rules: SmsTwoFactorRules,
    now: dt.datetime,
) -> DomainError | None:
    """The newest unused, unexpired code of this set-up or challenge, spent when it matches."""
    wrong = TwoFactorInvalid("This code is not correct (or has expired): ask for a new one.", field="code")
    if len(cleaned) != rules.code_digits or not ascii_digits(cleaned):
        return wrong
    latest = (
        await SmsCode.filter(
            account_id=account_id, purpose=purpose, used_at__isnull=True, **_of(challenge_id)
        )
        .order_by("-id")
        .first()
    )
    if latest is None or latest.expires_at <= now:
        return wrong
    if not hmac.compare_digest(latest.code_hash, _code_hash(key, account_id, purpose, challenge_id, cleaned)):
        return wrong
    latest.used_at = now
    await latest.save(update_fields=["used_at"])
    return None


def _blocked(factor: SmsFactor, now: dt.datetime) -> bool:
    """Whether the factor is blocked now; a block that has run out starts afresh."""
    if factor.locked_until is None:
        return False
    if factor.locked_until > now:
        return True
    factor.locked_until = None
    factor.failed_attempts = 0
    return False


async def _lock_confirmed(account_id: int) -> SmsFactor:
    factor = await SmsFactor.filter(account_id=account_id).select_for_update().first()
    if factor is None or factor.confirmed_at is None:
        raise SmsTwoFactorNotEnabled("SMS codes are not on for this account.")
    return factor


async def _lock_unconfirmed(account_id: int) -> SmsFactor:
    factor = await SmsFactor.filter(account_id=account_id).select_for_update().first()
    if factor is None:
        raise SmsTwoFactorNotStarted("Set up SMS codes first: give your mobile number.")
    if factor.confirmed_at is not None:
        raise SmsTwoFactorAlreadyEnabled("SMS codes are already on.")
    return factor


def _of(challenge_id: str | None) -> dict[str, object]:
    """The filter for the codes of one challenge, or of the set-up (no challenge)."""
    return {"challenge_id__isnull": True} if challenge_id is None else {"challenge_id": challenge_id}


def _code_hash(
    key: bytes, account_id: int, purpose: SmsCodePurpose, challenge_id: str | None, code: str
) -> str:
    message = f"{account_id}:{purpose.value}:{challenge_id or ''}:{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
