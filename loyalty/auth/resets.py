"""Forgotten PIN, password or user ID (DOMAIN.md §1-2): a one-time code by e-mail, then a new secret.

Programme rules:

- A PIN reset needs the service card number (of the active card) and the e-mail address on file, both of
  the same member; a password reset needs the e-mail address of a member who has a password.
- Whatever is typed, the request answers the same: it never tells whether somebody is enrolled.
- The code is 256 random bits, kept only as a SHA-256 hash, valid for ``token_minutes`` and used once.
  It travels in the e-mail, which is written to the notification outbox in the token's transaction.
- Setting the new secret follows the usual rules (PIN: digits, length, nothing trivial such as the date of
  birth; password: length, not the e-mail or user ID). A refused secret leaves the code usable.
- A completed reset also lifts a sign-in lockout, ends every session (refresh tokens) of the member and
  spends every other open code of the same kind. App 2FA, if on, is still asked for at the next sign-in.
- "Forgot user ID": signing in with card number + PIN shows it in the profile; we also e-mail it.
"""

from __future__ import annotations

import datetime as dt
import secrets

from tortoise.transactions import in_transaction

from loyalty.auth import sessions
from loyalty.auth.models import ResetPurpose, ResetToken
from loyalty.errors import DomainError
from loyalty.identifiers import validate_service_card_number
from loyalty.members.models import CardState, Member, ServiceCard
from loyalty.members.pins import check_pin_rules, hash_secret
from loyalty.members.service import check_password_rules
from loyalty.notifications.service import email_member
from loyalty.rules import ProgrammeRules

RESET_TEMPLATES = {ResetPurpose.PIN: "pin_reset", ResetPurpose.PASSWORD: "password_reset"}
USER_ID_TEMPLATE = "user_id_reminder"


class ResetTokenInvalid(DomainError):
    """Unknown, expired, already used, or meant for the other secret: the same answer for each."""

    code = "RESET_TOKEN_INVALID"

    def __init__(self) -> None:
        super().__init__("This code is not valid (any more): ask for a new one.", field="token")


def _address(email: str | None) -> str:
    return (email or "").strip().lower()


async def _pin_reset_member(service_card_number: str, email: str, rules: ProgrammeRules) -> Member | None:
    try:
        number = validate_service_card_number(service_card_number, rules.identifiers)
    except DomainError:
        return None
    card = await ServiceCard.get_or_none(number=number, state=CardState.ACTIVE).only("account_id")
    if card is None:
        return None
    member = await Member.get_or_none(id=card.account_id)
    return member if member is not None and member.email == email else None


async def _member_for_reset(
    purpose: ResetPurpose, service_card_number: str | None, email: str, rules: ProgrammeRules
) -> Member | None:
    if not email:
        return None
    if purpose is ResetPurpose.PIN:
        return await _pin_reset_member(service_card_number, email, rules) if service_card_number else None
    member = await Member.get_or_none(email=email)
    return member if member is not None and member.password_hash is not None else None


async def request_reset(
    *,
    purpose: ResetPurpose,
    service_card_number: str | None,
    email: str | None,
    rules: ProgrammeRules,
    now: dt.datetime,
    token_minutes: int | None = None,
) -> None:
    """E-mail a one-time code to set a new PIN (card number + e-mail must match) or password (e-mail).

    Returns normally whether or not the details belong to a member, and draws a code either way.
    """
    token_minutes = token_minutes or rules.sign_in.reset_token_minutes
    raw = secrets.token_urlsafe(sessions.TOKEN_BYTES)
    digest = sessions.token_hash(raw)
    member = await _member_for_reset(purpose, service_card_number, _address(email), rules)
    if member is None or member.email is None:
        return
    async with in_transaction():
        await ResetToken.create(
            account_id=member.id,
            purpose=purpose,
            token_hash=digest,
            expires_at=now + dt.timedelta(minutes=token_minutes),
        )
        await email_member(member, RESET_TEMPLATES[purpose], token=raw, expires_minutes=token_minutes)


def _usable(row: ResetToken | None, purpose: ResetPurpose, now: dt.datetime) -> bool:
    return row is not None and row.purpose == purpose and row.used_at is None and row.expires_at > now


def _check_new_secret(purpose: ResetPurpose, secret: str, member: Member, rules: ProgrammeRules) -> None:
    if purpose is ResetPurpose.PIN:
        check_pin_rules(secret, rules.pin, date_of_birth=member.date_of_birth)
    else:
        check_password_rules(secret, rules, email=member.email or "", user_id=member.user_id)


async def complete_reset(
    *, purpose: ResetPurpose, token: str, new_secret: str, rules: ProgrammeRules, now: dt.datetime
) -> int:
    """Set the new PIN or password with a code from ``request_reset``; returns the member's account id.

    One transaction, holding the code's row lock: the code is spent (once, whatever runs in parallel),
    the secret stored, the lockout lifted and every refresh token revoked.
    """
    digest = sessions.token_hash(token.strip())
    row = await ResetToken.get_or_none(token_hash=digest)
    if row is None or not _usable(row, purpose, now):
        raise ResetTokenInvalid()
    member = await Member.get(id=row.account_id)
    _check_new_secret(purpose, new_secret, member, rules)
    secret_hash = await hash_secret(new_secret)  # slow: done before the row lock is taken
    secret_field = "pin_hash" if purpose is ResetPurpose.PIN else "password_hash"
    async with in_transaction():
        locked = await ResetToken.filter(id=row.id).select_for_update().first()
        if not _usable(locked, purpose, now):
            raise ResetTokenInvalid()
        await ResetToken.filter(account_id=row.account_id, purpose=purpose, used_at=None).update(used_at=now)
        await Member.filter(id=row.account_id).update(
            **{secret_field: secret_hash}, failed_sign_ins=0, sign_in_locked_until=None
        )
        await sessions.revoke_all(account_id=row.account_id, now=now)
    return row.account_id


async def send_user_id_reminder(*, email: str, now: dt.datetime) -> None:
    """E-mail the user ID to the address on file, if that member has one; otherwise do nothing.

    ``now`` is taken for symmetry with the reset requests (and a future per-address throttle).
    """
    member = await Member.get_or_none(email=_address(email))
    if member is None or member.user_id is None:
        return
    await email_member(member, USER_ID_TEMPLATE, user_id=member.user_id)
