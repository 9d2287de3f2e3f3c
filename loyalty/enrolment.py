"""Enrolment: a new member's account number, first service card, balances and recorded advertising consent,
in one transaction. Above members, ledger, consents and notifications: it is the one place that opens them all.

Programme rules:

- Enrolment has two steps. ``request_enrolment`` checks the details and e-mails a code to the address;
  ``confirm_enrolment`` takes the code and creates the member, whose address is then verified.
- Whatever the address, the first step answers the same (an opaque enrolment id and its expiry) after the
  same work: the details are hashed, a code is drawn and hashed, a pending row and an e-mail are written.
  To a new address the e-mail carries the code; to an address already enrolled it carries a notice (somebody
  tried to enrol with it; sign in or reset the PIN or password) and no code, so nobody can open a second
  account on it. That enrolment's code was never sent: it can only fail.
- The code has ``[enrolment] code_digits`` digits, is kept only as an argon2 hash, works once and for
  ``code_minutes``; after ``max_code_attempts`` wrong codes the enrolment has to be started again.
- At most ``mails_per_address`` open enrolments of one address get an e-mail; later ones get the same
  answer and no e-mail (nobody can flood an inbox through enrolment).
- The user ID (optional, chosen by the member) is a sign-in identifier: the first step does not say
  whether it is taken (that would tell anybody which user IDs exist). Its shape is checked there; whether
  it is free, only at confirmation, after the address was proved: a member whose user ID was taken by
  then is enrolled without one (``EnrolledMember.user_id_taken``) and chooses another in the profile.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from loyalty.addresses import code_matches, new_code
from loyalty.consents.models import ConsentPurpose, ConsentRecord
from loyalty.errors import Conflict, DomainError, ValidationFailed
from loyalty.identifiers import new_account_number, new_service_card_number
from loyalty.iso_codes import iso_country, iso_language
from loyalty.ledger.service import open_balances
from loyalty.members.models import Member, PendingEnrolment, ServiceCard, Tier
from loyalty.members.pins import check_pin_rules, hash_secret
from loyalty.members.service import check_password_rules, clean_email, clean_name, clean_user_id
from loyalty.notifications.models import Channel
from loyalty.notifications.service import email_member, enqueue_notification
from loyalty.rules import ProgrammeRules

_ISSUE_ATTEMPTS = 8
ENROLMENT_ID_BYTES = 18
"""144 random bits, 24 characters in URL-safe base64."""
CODE_TEMPLATE = "enrolment_code"
NOTICE_TEMPLATE = "enrolment_attempt"


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What a new member tells us."""

    given_name: str
    family_name: str
    email: str
    date_of_birth: dt.date
    country: str
    pin: str
    language: str = "en"
    advertising_consent: bool = False
    user_id: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class EnrolledMember:
    member: Member
    card: ServiceCard
    user_id_taken: bool = False
    """The user ID asked for was taken by the time the enrolment was confirmed: the member has none."""


@dataclass(frozen=True, slots=True)
class EnrolmentRequested:
    """The same answer for every address: the id to confirm with and until when the code works."""

    enrolment_id: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class _NewMember:
    """A checked enrolment with its secrets hashed: what a pending row keeps until it is confirmed."""

    given_name: str
    family_name: str
    email: str
    date_of_birth: dt.date
    country: str
    language: str
    advertising_consent: bool
    user_id: str | None
    pin_hash: str
    password_hash: str | None

    def details(self) -> dict[str, Any]:
        return {
            "given_name": self.given_name,
            "family_name": self.family_name,
            "date_of_birth": self.date_of_birth.isoformat(),
            "country": self.country,
            "language": self.language,
            "advertising_consent": self.advertising_consent,
            "user_id": self.user_id,
            "pin_hash": self.pin_hash,
            "password_hash": self.password_hash,
        }

    @classmethod
    def from_pending(cls, row: PendingEnrolment) -> _NewMember:
        details = row.details
        return cls(
            given_name=str(details["given_name"]),
            family_name=str(details["family_name"]),
            email=row.email,
            date_of_birth=dt.date.fromisoformat(str(details["date_of_birth"])),
            country=str(details["country"]),
            language=str(details["language"]),
            advertising_consent=bool(details["advertising_consent"]),
            user_id=details.get("user_id"),
            pin_hash=str(details["pin_hash"]),
            password_hash=details.get("password_hash"),
        )


class EnrolmentExpired(DomainError):
    """Unknown, expired or purged: the same answer for each. Start again with enrolMember."""

    code = "ENROLMENT_EXPIRED"

    def __init__(self) -> None:
        super().__init__("This enrolment is unknown or has expired: enrol again.", field="enrolmentId")


class EnrolmentUsed(DomainError):
    code = "ENROLMENT_USED"

    def __init__(self) -> None:
        super().__init__("This enrolment is confirmed already: sign in.", field="enrolmentId")


class EnrolmentAttemptsExceeded(DomainError):
    code = "ENROLMENT_ATTEMPTS_EXCEEDED"

    def __init__(self) -> None:
        super().__init__("Too many wrong codes for this enrolment: enrol again.", field="enrolmentId")


class EnrolmentCodeInvalid(DomainError):
    code = "ENROLMENT_CODE_INVALID"

    def __init__(self, attempts_left: int) -> None:
        super().__init__(
            f"This code is not right; {attempts_left} more tries for this enrolment.", field="code"
        )


def validate_enrolment(data: Enrolment, rules: ProgrammeRules, *, today: dt.date) -> Enrolment:
    """Check every field and return the cleaned enrolment; the first broken rule is raised."""
    given = clean_name(data.given_name, field="givenName", maximum=rules.enrolment.maximum_name_length)
    family = clean_name(data.family_name, field="familyName", maximum=rules.enrolment.maximum_name_length)
    email = clean_email(data.email)
    if data.date_of_birth > today:
        raise ValidationFailed("The date of birth is in the future.", field="dateOfBirth", code="DOB_INVALID")
    age = (
        today.year
        - data.date_of_birth.year
        - ((today.month, today.day) < (data.date_of_birth.month, data.date_of_birth.day))
    )
    if age < rules.enrolment.minimum_age_years or age > 130:
        raise ValidationFailed(
            f"Members are at least {rules.enrolment.minimum_age_years} years old.",
            field="dateOfBirth",
            code="DOB_INVALID",
        )
    country = iso_country(data.country)
    if country is None:
        raise ValidationFailed(
            "Use the two-letter ISO 3166 country code (DE, CH, ...).", field="country", code="COUNTRY_INVALID"
        )
    language = iso_language(data.language or "en")
    if language is None:
        raise ValidationFailed(
            "Use an ISO 639 language code (en, de, or de-CH with a region).",
            field="language",
            code="LANGUAGE_INVALID",
        )
    check_pin_rules(data.pin, rules.pin, date_of_birth=data.date_of_birth)
    user_id = clean_user_id(data.user_id)
    if data.password is not None:
        check_password_rules(data.password, rules, email=email, user_id=user_id)
    return Enrolment(
        given_name=given,
        family_name=family,
        email=email,
        date_of_birth=data.date_of_birth,
        country=country,
        pin=data.pin,
        language=language,
        advertising_consent=data.advertising_consent,
        user_id=user_id,
        password=data.password,
    )


def _email_taken() -> Conflict:
    return Conflict("This e-mail address is already enrolled.", field="email", code="EMAIL_TAKEN")


def _user_id_taken() -> Conflict:
    return Conflict("This user ID is taken.", field="userId", code="USER_ID_TAKEN")


async def _hashed(data: Enrolment) -> _NewMember:
    """The cleaned enrolment with its PIN and password hashed (slow: argon2)."""
    return _NewMember(
        given_name=data.given_name,
        family_name=data.family_name,
        email=data.email,
        date_of_birth=data.date_of_birth,
        country=data.country,
        language=data.language,
        advertising_consent=data.advertising_consent,
        user_id=data.user_id,
        pin_hash=await hash_secret(data.pin),
        password_hash=await hash_secret(data.password) if data.password else None,
    )


async def _create_member(
    new: _NewMember,
    rules: ProgrammeRules,
    *,
    email_verified_at: dt.datetime | None,
    claim: PendingEnrolment | None = None,
) -> EnrolledMember:
    """Write the member, card, balances and consent record in one transaction (drawing new numbers
    while they collide); with ``claim``, that pending enrolment is marked confirmed in the same one."""
    for _ in range(_ISSUE_ATTEMPTS):
        try:
            async with in_transaction():
                if claim is not None:
                    claimed = await PendingEnrolment.filter(id=claim.id, confirmed_at=None).update(
                        confirmed_at=email_verified_at, details={}
                    )
                    if not claimed:
                        raise EnrolmentUsed()
                member = await Member.create(
                    account_number=new_account_number(rules.identifiers),
                    given_name=new.given_name,
                    family_name=new.family_name,
                    email=new.email,
                    email_verified_at=email_verified_at,
                    date_of_birth=new.date_of_birth,
                    country=new.country,
                    language=new.language,
                    pin_hash=new.pin_hash,
                    user_id=new.user_id,
                    password_hash=new.password_hash,
                    advertising_consent=new.advertising_consent,
                )
                card = await ServiceCard.create(
                    account=member,
                    number=new_service_card_number(
                        rules.identifiers, tier=Tier.BASE, advertising_consent=new.advertising_consent
                    ),
                    tier=Tier.BASE,
                )
                await open_balances(account_id=member.id)
                await ConsentRecord.create(
                    account_id=member.id,
                    purpose=ConsentPurpose.ADVERTISING,
                    given=new.advertising_consent,
                    text_version=rules.consents.enrolment_text_version,
                    channel="enrolment",
                    recorded_at=member.created_at,
                )
            return EnrolledMember(member=member, card=card)
        except IntegrityError as exc:
            if new.user_id and await Member.filter(user_id=new.user_id).exists():
                raise _user_id_taken() from exc
            if await Member.filter(email=new.email).exists():
                raise _email_taken() from exc
            # A random account or card number collided: draw new ones.
    raise RuntimeError("could not draw unique account and card numbers")  # pragma: no cover


async def enrol(
    *,
    enrolment: Enrolment,
    rules: ProgrammeRules,
    today: dt.date | None = None,
    email_verified_at: dt.datetime | None = None,
) -> EnrolledMember:
    """Enrol a member at once: a 9-digit account number that never changes and a first service card number.

    For operators' tools (sample data, benchmarks) and tests; members enrol through ``request_enrolment``
    and ``confirm_enrolment``, which verify the address. A taken address is refused (``EMAIL_TAKEN``)."""
    data = validate_enrolment(enrolment, rules, today=today or dt.date.today())
    if await Member.filter(email=data.email).exists():
        raise _email_taken()
    if data.user_id and await Member.filter(user_id=data.user_id).exists():
        raise _user_id_taken()
    return await _create_member(await _hashed(data), rules, email_verified_at=email_verified_at)


async def request_enrolment(
    *, enrolment: Enrolment, rules: ProgrammeRules, now: dt.datetime, today: dt.date | None = None
) -> EnrolmentRequested:
    """Start an enrolment: the same answer, after the same work, whether or not the address is enrolled.

    A new address gets a code by e-mail; an enrolled one a notice that somebody tried (no code). Invalid
    details are refused (typed errors) before anything is written; a taken user ID is not (see above)."""
    data = validate_enrolment(enrolment, rules, today=today or now.date())
    new = await _hashed(data)
    code = new_code(rules.enrolment.code_digits)
    code_hash = await hash_secret(code)
    owner = await Member.get_or_none(email=data.email).only("id", "email", "given_name", "language")
    minutes = rules.enrolment.code_minutes
    expires_at = now + dt.timedelta(minutes=minutes)
    enrolment_id = secrets.token_urlsafe(ENROLMENT_ID_BYTES)
    async with in_transaction():
        open_ones = await PendingEnrolment.filter(email=data.email, expires_at__gt=now).count()
        await PendingEnrolment.create(
            public_id=enrolment_id,
            email=data.email,
            code_hash=code_hash,
            details=new.details(),
            expires_at=expires_at,
        )
        if open_ones < rules.enrolment.mails_per_address:
            if owner is None or owner.email is None:
                await enqueue_notification(
                    account_id=None,
                    channel=Channel.EMAIL,
                    recipient=data.email,
                    template=CODE_TEMPLATE,
                    language=data.language,
                    payload={
                        "given_name": data.given_name,
                        "token": code,
                        "expires_minutes": minutes,
                        "enrolment_id": enrolment_id,  # for a confirmation link; the template may use it
                    },
                )
            else:
                await email_member(owner, NOTICE_TEMPLATE)
    return EnrolmentRequested(enrolment_id=enrolment_id, expires_at=expires_at)


def _refuse_closed(row: PendingEnrolment | None, rules: ProgrammeRules, now: dt.datetime) -> PendingEnrolment:
    """The row if its code may still be tried; else the reason, most final first."""
    if row is None:
        raise EnrolmentExpired()
    if row.confirmed_at is not None:
        raise EnrolmentUsed()
    if row.expires_at <= now:
        raise EnrolmentExpired()
    if row.attempts >= rules.enrolment.max_code_attempts:
        raise EnrolmentAttemptsExceeded()
    return row


async def confirm_enrolment(
    *, enrolment_id: str, code: str, rules: ProgrammeRules, now: dt.datetime
) -> EnrolledMember:
    """Create the member of a pending enrolment with the code e-mailed to its address (verified now).

    Each try is counted before the code is checked (parallel guesses each use one up); the enrolment is
    claimed in the transaction that creates the member, so it is confirmed once whatever runs in parallel.
    """
    row = _refuse_closed(await PendingEnrolment.get_or_none(public_id=enrolment_id.strip()), rules, now)
    counted = await PendingEnrolment.filter(
        id=row.id, confirmed_at=None, attempts__lt=rules.enrolment.max_code_attempts
    ).update(attempts=F("attempts") + 1)
    if not counted:
        _refuse_closed(await PendingEnrolment.get_or_none(id=row.id), rules, now)
        raise EnrolmentAttemptsExceeded()  # pragma: no cover - _refuse_closed raised already
    if not await code_matches(row.code_hash, code, digits=rules.enrolment.code_digits):
        raise EnrolmentCodeInvalid(max(0, rules.enrolment.max_code_attempts - row.attempts - 1))
    new = _NewMember.from_pending(row)
    if await Member.filter(email=new.email).exists():
        raise _email_taken()
    taken = bool(new.user_id) and await Member.filter(user_id=new.user_id).exists()
    try:
        enrolled = await _create_member(
            dataclasses.replace(new, user_id=None) if taken else new, rules, email_verified_at=now, claim=row
        )
    except Conflict as conflict:
        if conflict.code != "USER_ID_TAKEN":
            raise
        # Taken between the check above and the insert: enrol without it all the same.
        taken = True
        enrolled = await _create_member(
            dataclasses.replace(new, user_id=None), rules, email_verified_at=now, claim=row
        )
    return dataclasses.replace(enrolled, user_id_taken=taken)


async def purge_expired_enrolments(*, now: dt.datetime, limit: int) -> int:
    """Delete up to ``limit`` pending enrolments whose code expired (confirmed ones too: the member row
    holds what they held, and their details were cleared on confirmation); returns how many. The worker's
    sweeper calls it (``gateway.workers.sweepers``), so enrolment itself never deletes in bulk."""
    ids = (
        await PendingEnrolment.filter(expires_at__lte=now)
        .order_by("id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    if not ids:
        return 0
    return await PendingEnrolment.filter(id__in=list(ids)).delete()
