"""The authenticator-app second factor (DOMAIN.md §2): RFC 6238 TOTP, recovery codes and lockout.

Programme rules (``[two_factor]`` in ``rules.toml``): codes of ``digits`` digits for steps of
``period_seconds``, accepted ``valid_window_steps`` steps either side of now; each time step is accepted
once; ``max_failed_attempts`` wrong codes block the factor for ``lockout_minutes``, and while it is
blocked no code is checked at all. One-time recovery codes stand in for the app.

The TOTP secret is kept encrypted (Fernet) under a 32-byte key the caller derives; recovery codes are
kept as argon2 hashes. Every attempt is one transaction holding the factor's row lock, so counters and
the last used step stay exact whatever runs in parallel; errors are raised after the commit, so a
counted failure is kept.

A sign-in's challenge is claimed in that same transaction: a challenge that completed already is
refused before the code is looked at, so a replayed one spends no recovery code and no time step.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import io
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import pyotp
import segno
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.auth.models import CompletedChallenge, RecoveryCode, TotpFactor
from loyalty.errors import DomainError
from loyalty.identifiers import ascii_digits
from loyalty.members.pins import HashCost, hasher_for, off_the_loop
from loyalty.members.sessions import Challenge
from loyalty.rules import TwoFactorRules

RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0 or 1: easy to read and type
RECOVERY_LENGTH = 10  # 50 random bits, written in two groups of five: ABCDE-FGHJK
# OWASP's minimum argon2id settings: a recovery code is random, not a password a person chose.
_recovery_hasher = hasher_for(HashCost())  # the default cost, whatever the configured one
_COUNTERS = ["failed_attempts", "locked_until", "last_used_step"]


class TwoFactorNotEnabled(DomainError):
    code = "TWO_FACTOR_NOT_ENABLED"


class TwoFactorNotStarted(DomainError):
    code = "TWO_FACTOR_NOT_STARTED"


class TwoFactorAlreadyEnabled(DomainError):
    code = "TWO_FACTOR_ALREADY_ENABLED"


class TwoFactorInvalid(DomainError):
    code = "TWO_FACTOR_INVALID"


class TwoFactorCodeReused(DomainError):
    code = "TWO_FACTOR_CODE_REUSED"


class ChallengeRefused(DomainError):
    """The second-factor challenge has expired (CHALLENGE_INVALID) or was completed (CHALLENGE_USED)."""

    code = "CHALLENGE_INVALID"


class TwoFactorLocked(DomainError):
    code = "TWO_FACTOR_LOCKED"

    def __init__(self, unlocks_at: dt.datetime) -> None:
        super().__init__("Too many wrong codes: the second factor is blocked for a while.")
        self.unlocks_at = unlocks_at


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """What the member sees once to set up the app: the secret to type, or the URI as a QR code."""

    secret_base32: str
    otpauth_uri: str
    qr_svg: str


async def begin_enrolment(
    *, account_id: int, account_label: str, key: bytes, rules: TwoFactorRules
) -> TotpEnrolment:
    """Start enrolment with a new 160-bit secret; replaces an unconfirmed factor, never a confirmed one."""
    secret = pyotp.random_base32(length=32)
    encrypted = _fernet(key).encrypt(secret.encode()).decode()
    try:
        await _store_pending_factor(account_id, encrypted)
    except IntegrityError:
        await _store_pending_factor(account_id, encrypted)  # a parallel start created the row first
    uri = _totp(secret, rules).provisioning_uri(name=account_label, issuer_name=rules.issuer_name)
    return TotpEnrolment(secret_base32=secret, otpauth_uri=uri, qr_svg=_qr_svg(uri))


async def confirm_enrolment(
    *, account_id: int, code: str, key: bytes, rules: TwoFactorRules, now: dt.datetime
) -> list[str]:
    """The first right code from the app turns the factor on; returns fresh one-time recovery codes.

    The codes are shown this once and kept only as hashes; earlier recovery codes stop working. A wrong
    code counts as a failed attempt, like at sign-in.
    """
    codes = [_new_recovery_code() for _ in range(rules.recovery_codes)]
    hashes = await off_the_loop(lambda: _hash_all(codes)) if _is_totp_shape(_clean(code), rules) else []

    async def turn_on(factor: TotpFactor) -> None:
        factor.confirmed_at = now
        await factor.save(update_fields=["confirmed_at"])
        await RecoveryCode.filter(account_id=account_id).delete()
        await RecoveryCode.bulk_create([RecoveryCode(account_id=account_id, code_hash=h) for h in hashes])

    await _attempt(
        account_id=account_id, code=code, key=key, rules=rules, now=now, confirmed=False, on_success=turn_on
    )
    return codes


async def has_confirmed_factor(*, account_id: int) -> bool:
    """Once app 2FA is on, every sign-in and every profile change needs it (DOMAIN.md §2)."""
    return await TotpFactor.filter(account_id=account_id, confirmed_at__isnull=False).exists()


async def remaining_recovery_codes(*, account_id: int) -> int:
    """How many recovery codes are still unused."""
    return await RecoveryCode.filter(account_id=account_id, used_at__isnull=True).count()


async def verify_second_factor(
    *, account_id: int, code: str, key: bytes, rules: TwoFactorRules, now: dt.datetime
) -> None:
    """Accept a code from the app (its time step once only) or an unused recovery code (then spent)."""
    await _attempt(account_id=account_id, code=code, key=key, rules=rules, now=now, confirmed=True)


async def complete_challenge(
    *, challenge: Challenge, code: str, key: bytes, rules: TwoFactorRules, now: dt.datetime
) -> None:
    """Accept the second factor for one sign-in challenge, which completes once.

    The challenge is claimed in the transaction that checks the code: one completed already is refused
    (CHALLENGE_USED) with nothing spent or counted; a wrong code leaves it open for another try.
    """

    async def claim(factor: TotpFactor) -> None:
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
        key=key,
        rules=rules,
        now=now,
        confirmed=True,
        on_success=claim,
        challenge_id=challenge.challenge_id,
    )


async def disable(*, account_id: int, code: str, key: bytes, rules: TwoFactorRules, now: dt.datetime) -> None:
    """Turning 2FA off needs a valid code, checked as at sign-in; then the factor and recovery codes go."""

    async def remove(factor: TotpFactor) -> None:
        await RecoveryCode.filter(account_id=account_id).delete()
        await factor.delete()

    await _attempt(
        account_id=account_id, code=code, key=key, rules=rules, now=now, confirmed=True, on_success=remove
    )


async def _attempt(
    *,
    account_id: int,
    code: str,
    key: bytes,
    rules: TwoFactorRules,
    now: dt.datetime,
    confirmed: bool,
    on_success: Callable[[TotpFactor], Awaitable[None]] | None = None,
    challenge_id: str | None = None,
) -> None:
    """One counted attempt: lock state, code and counters in one transaction; raise after it commits.

    With ``challenge_id``, a challenge completed already is refused under the factor's lock (every
    attempt of the member queues there), before anything is spent or counted."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    cleaned = _clean(code)
    use_recovery = confirmed and not _is_totp_shape(cleaned, rules)
    recovery_id = await _match_recovery_code(account_id, cleaned, now) if use_recovery else None
    async with in_transaction():
        factor = await _lock_factor(account_id, confirmed=confirmed)
        if challenge_id is not None and await CompletedChallenge.exists(
            account_id=account_id, challenge_id=challenge_id
        ):
            raise ChallengeRefused("This sign-in was completed already.", code="CHALLENGE_USED")
        error = _refusal_while_locked(factor, now)
        if error is None:
            if use_recovery:
                spent = await _spend_recovery_code(account_id, recovery_id, now)
                error = None if spent else TwoFactorInvalid("This code is not correct.", field="code")
            else:
                error = _check_totp(factor, cleaned, key, rules, now)
            error = _count(factor, error, rules, now)
            await factor.save(update_fields=_COUNTERS)
            if error is None and on_success is not None:
                await on_success(factor)
    if error is not None:
        raise error


async def _store_pending_factor(account_id: int, secret_encrypted: str) -> None:
    async with in_transaction():
        existing = await TotpFactor.filter(account_id=account_id).select_for_update().first()
        if existing is not None and existing.confirmed_at is not None:
            raise TwoFactorAlreadyEnabled("App 2FA is already on; turn it off first to set up a new app.")
        if existing is not None:
            await existing.delete()
        await TotpFactor.create(account_id=account_id, secret_encrypted=secret_encrypted)


async def _lock_factor(account_id: int, *, confirmed: bool) -> TotpFactor:
    """The factor's row, locked; a check needs a confirmed factor, a confirmation an unconfirmed one."""
    factor = await TotpFactor.filter(account_id=account_id).select_for_update().first()
    if confirmed and (factor is None or factor.confirmed_at is None):
        raise TwoFactorNotEnabled("App 2FA is not on for this account.")
    if factor is None:
        raise TwoFactorNotStarted("Start setting up app 2FA first.")
    if not confirmed and factor.confirmed_at is not None:
        raise TwoFactorAlreadyEnabled("App 2FA is already on.")
    return factor


def _refusal_while_locked(factor: TotpFactor, now: dt.datetime) -> DomainError | None:
    """A blocked factor refuses without looking at the code; a block that has run out starts afresh."""
    if factor.locked_until is None:
        return None
    if factor.locked_until > now:
        return TwoFactorLocked(factor.locked_until)
    factor.locked_until = None
    factor.failed_attempts = 0
    return None


def _check_totp(
    factor: TotpFactor, code: str, key: bytes, rules: TwoFactorRules, now: dt.datetime
) -> DomainError | None:
    """A code of a step within the window and later than the last one accepted; that step is recorded."""
    if not _is_totp_shape(code, rules):
        return TwoFactorInvalid("This code is not correct.", field="code")
    secret = _fernet(key).decrypt(factor.secret_encrypted.encode()).decode()
    totp = _totp(secret, rules)
    current = int(now.timestamp()) // rules.period_seconds
    window = range(current - rules.valid_window_steps, current + rules.valid_window_steps + 1)
    steps = [step for step in window if step >= 0 and hmac.compare_digest(totp.generate_otp(step), code)]
    if not steps:
        return TwoFactorInvalid("This code is not correct.", field="code")
    fresh = [step for step in steps if step > factor.last_used_step]
    if not fresh:
        return TwoFactorCodeReused("This code was used already; wait for the next one.", field="code")
    factor.last_used_step = max(fresh)
    return None


class CountedFactor(Protocol):
    """A second factor's wrong-code counter and block (the app's and the SMS factor alike)."""

    failed_attempts: int
    locked_until: dt.datetime | None


def count_attempt(
    factor: CountedFactor,
    error: DomainError | None,
    *,
    max_failed_attempts: int,
    lockout_minutes: int,
    now: dt.datetime,
) -> DomainError | None:
    """Success clears the counter; a wrong code counts, and the last allowed one blocks the factor."""
    if error is None:
        factor.failed_attempts = 0
        factor.locked_until = None
        return None
    factor.failed_attempts += 1
    if factor.failed_attempts >= max_failed_attempts:
        factor.locked_until = now + dt.timedelta(minutes=lockout_minutes)
        return TwoFactorLocked(factor.locked_until)
    return error


def _count(
    factor: TotpFactor, error: DomainError | None, rules: TwoFactorRules, now: dt.datetime
) -> DomainError | None:
    """``count_attempt``, but a reused code is refused without counting: it was right once, typically sent
    twice."""
    if isinstance(error, TwoFactorCodeReused):
        return error
    return count_attempt(
        factor,
        error,
        max_failed_attempts=rules.max_failed_attempts,
        lockout_minutes=rules.lockout_minutes,
        now=now,
    )


async def _match_recovery_code(account_id: int, cleaned: str, now: dt.datetime) -> int | None:
    """The id of the unused recovery code this is; no hash work at all while the factor is blocked."""
    factor = await TotpFactor.get_or_none(account_id=account_id).only("id", "locked_until")
    if factor is None or (factor.locked_until is not None and factor.locked_until > now):
        return None  # the locked transaction gives the answer
    if len(cleaned) != RECOVERY_LENGTH or not set(cleaned) <= set(RECOVERY_ALPHABET):
        return None
    unused = RecoveryCode.filter(account_id=account_id, used_at__isnull=True)
    rows = await unused.values_list("id", "code_hash")

    def find() -> int | None:
        for code_id, code_hash in rows:
            try:
                if _recovery_hasher.verify(code_hash, cleaned):
                    return int(code_id)
            except (VerificationError, InvalidHashError):
                continue
        return None

    return await off_the_loop(find)


async def _spend_recovery_code(account_id: int, recovery_id: int | None, now: dt.datetime) -> bool:
    """Mark the code used; only one of several parallel uses of the same code finds it unused."""
    if recovery_id is None:
        return False
    spent = await RecoveryCode.filter(id=recovery_id, account_id=account_id, used_at__isnull=True).update(
        used_at=now
    )
    return bool(spent == 1)


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    half = RECOVERY_LENGTH // 2
    return f"{raw[:half]}-{raw[half:]}"


def _hash_all(codes: list[str]) -> list[str]:
    return [_recovery_hasher.hash(_clean(code)) for code in codes]


def _clean(code: str) -> str:
    """What the member typed, without spaces or hyphens, in capitals."""
    return "".join(code.split()).replace("-", "").upper()


def _is_totp_shape(cleaned: str, rules: TwoFactorRules) -> bool:
    return len(cleaned) == rules.digits and ascii_digits(cleaned)


def _totp(secret: str, rules: TwoFactorRules) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=rules.digits, interval=rules.period_seconds)


def _fernet(key: bytes) -> Fernet:
    if len(key) != 32:
        raise ValueError("the TOTP encryption key is 32 bytes")
    return Fernet(base64.urlsafe_b64encode(key))


def _qr_svg(uri: str) -> str:
    """A standalone SVG (with its namespace), fit to be inlined in HTML or served as an image."""
    buffer = io.BytesIO()
    segno.make(uri, micro=False).save(buffer, kind="svg", xmldecl=False, scale=4, nl=False)
    return buffer.getvalue().decode()
