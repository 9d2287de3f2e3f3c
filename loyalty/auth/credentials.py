"""Checking what a member types to sign in: service card number + PIN, user ID or e-mail + password.

Failures are counted per account, attempt by attempt: each checked attempt is settled on the member row
locked, so aliases or batched requests trying PINs in parallel are counted one by one, and a right PIN
among them does not sign in once the failures before it have locked the account. After the configured number of
failures the account is locked for a while. A wrong secret and an unknown account give the same
answer with the same work (a dummy hash is verified), so the answer does not tell whether the account
exists; only an existing, locked account says that it is locked. A secret whose stored hash was made
under another argon2 cost than the configured one is hashed again under it when it matches.

E-mail sign-in needs a verified address (the code e-mailed to it was entered). An unverified address is
refused with ``EmailNotVerified``, but only once the password was right: to anybody else the answer is
the wrong-credentials one, so the refusal tells nothing that the right password does not tell already.
Card number + PIN (and user ID + password) sign-in does not depend on the address.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from loyalty.errors import DomainError, InvalidCredentials, ValidationFailed
from loyalty.identifiers import validate_service_card_number
from loyalty.members.models import CardState, Member, ServiceCard
from loyalty.members.pins import SecretCheck, check_secret, verify_secret
from loyalty.rules import ProgrammeRules


class SignInMethod(StrEnum):
    SERVICE_CARD_NUMBER = "SERVICE_CARD_NUMBER"
    USERNAME = "USERNAME"
    EMAIL = "EMAIL"
    TRAVEL_ID = "TRAVEL_ID"


class AccountLocked(DomainError):
    code = "ACCOUNT_LOCKED"

    def __init__(self, unlocks_at: dt.datetime) -> None:
        super().__init__("Too many wrong attempts: sign-in is blocked for a while.")
        self.unlocks_at = unlocks_at


class EmailNotVerified(DomainError):
    code = "EMAIL_NOT_VERIFIED"

    def __init__(self) -> None:
        super().__init__(
            "This e-mail address is not verified yet: sign in with your service card number and PIN, then "
            "verify the address in your profile.",
            field="identifier",
        )


WRONG = "The sign-in data is not correct."


async def _find_member(method: SignInMethod, identifier: str, rules: ProgrammeRules) -> Member | None:
    """The member the identifier names, with what checking the attempt reads (``_ATTEMPT_FIELDS``), in
    one statement."""
    fields = (*_ATTEMPT_FIELDS, _secret_field(method))
    if method is SignInMethod.SERVICE_CARD_NUMBER:
        number = validate_service_card_number(identifier, rules.identifiers)
        active = ServiceCard.filter(number=number, state=CardState.ACTIVE).values("account_id")
        return await Member.filter(id__in=Subquery(active)).only(*fields).first()
    if method is SignInMethod.USERNAME:
        return await Member.get_or_none(user_id=identifier.strip().lower()).only(*fields)
    if method is SignInMethod.EMAIL:
        member = await Member.get_or_none(email=identifier.strip().lower()).only(*fields, "created_at")
        if member is None or member.created_at.date() <= rules.sign_in.email_login_registered_after:
            return None  # e-mail sign-in is only for members registered after the cut-off date
        return member
    raise ValidationFailed(
        "Sign in with Travel ID through /auth/travel-id/login, not with a secret here.",
        field="method",
        code="SIGN_IN_METHOD_NOT_HERE",
    )


_ATTEMPT_FIELDS = ("id", "sign_in_locked_until")


def _secret_field(method: SignInMethod) -> str:
    return "pin_hash" if method is SignInMethod.SERVICE_CARD_NUMBER else "password_hash"


def _locked_until(member: Member, now: dt.datetime) -> dt.datetime | None:
    until = member.sign_in_locked_until
    return until if until is not None and until > now else None


async def check_credentials(
    *, method: SignInMethod, identifier: str, secret: str, rules: ProgrammeRules, now: dt.datetime
) -> Member:
    """The member these credentials belong to; ``InvalidCredentials`` or ``AccountLocked`` otherwise.

    The hash is checked outside any transaction, so no database connection and no row lock is held while
    argon2 runs (tens of milliseconds of a hashing thread); the attempt is then settled on the member row
    locked, where failures are counted one by one and where a right secret meets every failure committed
    before it: one that locked the account meanwhile wins. Should the secret change between the read and
    the settling (a reset), the attempt is checked again against the new hash."""
    seen: Member | None = await _find_member(method, identifier, rules)
    if seen is None:
        await verify_secret(None, secret)  # the same work as a real check
        raise InvalidCredentials(WRONG)
    account_id, field = int(seen.id), _secret_field(method)
    for attempt in range(2):
        if attempt:  # the secret changed while it was checked: read it again
            seen = await Member.get(id=account_id).only(*_ATTEMPT_FIELDS, field)
        if (locked_until := _locked_until(seen, now)) is not None:
            raise AccountLocked(locked_until)
        stored: str | None = getattr(seen, field)
        check = await check_secret(stored, secret)
        member = await _settle_attempt(account_id, field, stored, check, method=method, rules=rules, now=now)
        if member is not None:
            return member
    raise InvalidCredentials(WRONG)  # the secret changed twice while it was being checked: not counted


async def _settle_attempt(
    account_id: int,
    field: str,
    stored: str | None,
    check: SecretCheck,
    *,
    method: SignInMethod,
    rules: ProgrammeRules,
    now: dt.datetime,
) -> Member | None:
    """Settle one checked attempt; the member when it signs in, None when the secret changed meanwhile
    (check again), else ``AccountLocked`` / ``InvalidCredentials`` / ``EmailNotVerified``."""
    if check.matches:
        # Most right secrets change nothing: one locking read, outside a transaction, settles them. It waits
        # for any attempt being counted on this row and then sees its outcome.
        member = await Member.filter(id=account_id).select_for_update(no_key=True).get()
        if getattr(member, field) != stored:
            return None
        _raise_when_locked_or_unverified(member, method, now)
        if not member.failed_sign_ins and member.sign_in_locked_until is None and check.new_hash is None:
            return member
    locked_until: dt.datetime | None = None
    async with in_transaction():
        member = await Member.filter(id=account_id).select_for_update(no_key=True).get()
        if getattr(member, field) != stored:
            return None
        if (locked_until := _locked_until(member, now)) is not None:
            pass
        elif check.matches:
            _raise_when_locked_or_unverified(member, method, now)  # nothing counted: the secret was right
            member.failed_sign_ins = 0
            member.sign_in_locked_until = None
            changed = ["failed_sign_ins", "sign_in_locked_until"]
            if check.new_hash is not None:  # made under an older cost: stored again under today's
                setattr(member, field, check.new_hash)
                changed.append(field)
            await member.save(update_fields=changed)
            return member
        else:
            member.failed_sign_ins += 1
            if member.failed_sign_ins >= rules.sign_in.max_failed_attempts:
                member.failed_sign_ins = 0
                member.sign_in_locked_until = locked_until = now + dt.timedelta(
                    minutes=rules.sign_in.lockout_minutes
                )
            await member.save(update_fields=["failed_sign_ins", "sign_in_locked_until"])
    # Raised after the transaction so that the counted failure is committed.
    if locked_until is not None:
        raise AccountLocked(locked_until)
    raise InvalidCredentials(WRONG)


def _raise_when_locked_or_unverified(member: Member, method: SignInMethod, now: dt.datetime) -> None:
    if (locked_until := _locked_until(member, now)) is not None:
        raise AccountLocked(locked_until)
    if method is SignInMethod.EMAIL and member.email_verified_at is None:
        raise EmailNotVerified()
