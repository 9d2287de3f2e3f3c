"""Support cases the service team handles by hand: "Lost service card number" (DOMAIN.md §1).

A member who lost their number sends the contact form with a certified copy of an ID document; the
details are checked carefully, which may take a few weeks. We note which account the details seem to
match, for the operator only: the answer to the requester is the same whether or not they match, so
the form cannot be used to find out who is a member. Closing a case records who was confirmed and why;
it sends nothing to the requester by itself.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.errors import Conflict, NotFound, ValidationFailed
from loyalty.identifiers import normalise_number
from loyalty.members.models import Member, SupportCase, SupportCaseKind, SupportCaseState
from loyalty.members.service import clean_email, clean_name

LOST_NUMBER_PREFIX = "LSC"
# No 0/O, 1/I/L or U: references are read out on the phone and typed from letters.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 8
_NAME_MAX = 80
_NOTE_MAX = 500
_DOCUMENT_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/#:-]{2,99}$")
_ATTEMPTS = 8


def new_case_reference(prefix: str = LOST_NUMBER_PREFIX) -> str:
    """``LSC-7K3Q9P2M``: 8 random characters of an alphabet without look-alikes (~39 bits)."""
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return f"{prefix}-{body}"


def _check_date_of_birth(value: dt.date, *, today: dt.date) -> None:
    if value > today or value.year < today.year - 130:
        raise ValidationFailed("This date of birth is not possible.", field="dateOfBirth", code="DOB_INVALID")


def _clean_document_reference(value: str) -> str:
    reference = " ".join(value.split())
    if not _DOCUMENT_REFERENCE.match(reference):
        raise ValidationFailed(
            "Give the reference of the certified ID copy you sent (3-100 letters, digits, . _ / # : -).",
            field="idDocumentReference",
            code="ID_DOCUMENT_REFERENCE_INVALID",
        )
    return reference


def _same_name(a: str, b: str) -> bool:
    def fold(name: str) -> str:
        decomposed = unicodedata.normalize("NFKD", name.casefold())
        return "".join(ch for ch in decomposed if ch.isalnum())

    return fold(a) == fold(b)


async def _matching_account_id(*, email: str, date_of_birth: dt.date, family_name: str) -> int | None:
    """The account whose e-mail, date of birth and family name all match, for the operator's eyes."""
    member = await Member.get_or_none(email=email).only("id", "date_of_birth", "family_name")
    if member is None or member.date_of_birth != date_of_birth:
        return None
    return int(member.id) if _same_name(member.family_name, family_name) else None


async def open_lost_card_number_case(
    *,
    given_name: str,
    family_name: str,
    date_of_birth: dt.date,
    email: str,
    id_document_reference: str,
    now: dt.datetime,
) -> SupportCase:
    """Open a "Lost service card number" case: the service team checks the certified ID copy by hand,
    which may take a few weeks. The answer never says whether the details match a member."""
    details: dict[str, Any] = {
        "given_name": clean_name(given_name, field="givenName", maximum=_NAME_MAX),
        "family_name": clean_name(family_name, field="familyName", maximum=_NAME_MAX),
        "date_of_birth": date_of_birth.isoformat(),
        "id_document_reference": _clean_document_reference(id_document_reference),
        "subject": "Lost service card number",
    }
    contact_email = clean_email(email)
    _check_date_of_birth(date_of_birth, today=now.date())
    account_id = await _matching_account_id(
        email=contact_email, date_of_birth=date_of_birth, family_name=details["family_name"]
    )
    details["matched_account_id"] = account_id
    for _ in range(_ATTEMPTS):
        try:
            return await SupportCase.create(
                reference=new_case_reference(),
                kind=SupportCaseKind.LOST_SERVICE_CARD_NUMBER,
                account_id=account_id,
                contact_email=contact_email,
                details=details,
                opened_at=now,
            )
        except IntegrityError:
            continue  # the random reference was taken: draw again
    raise RuntimeError("could not draw a unique case reference")  # pragma: no cover


async def list_cases(*, state: SupportCaseState | None = None) -> list[SupportCase]:
    """Cases for the service team, oldest first (first come, first served)."""
    query = SupportCase.all() if state is None else SupportCase.filter(state=state)
    return await query.order_by("opened_at", "id")


async def account_numbers_of(cases: list[SupportCase]) -> dict[int, str]:
    """The account numbers of the accounts cases point to, by account id (for the operator's list)."""
    ids = {case.account_id for case in cases if case.account_id is not None}
    rows = await Member.filter(id__in=list(ids)).values_list("id", "account_number") if ids else []
    return {int(account_id): str(number) for account_id, number in rows}


def _clean_note(resolution: str) -> str:
    note = " ".join(resolution.split())
    if not note:
        raise ValidationFailed("Say what was checked and decided.", field="note", code="NOTE_REQUIRED")
    if len(note) > _NOTE_MAX:
        raise ValidationFailed(f"At most {_NOTE_MAX} characters.", field="note", code="NOTE_TOO_LONG")
    return note


async def _open_case_for_update(reference: str) -> SupportCase:
    case = await SupportCase.filter(reference=reference.strip().upper()).select_for_update().first()
    if case is None:
        raise NotFound("No case has this reference.", field="reference", code="CASE_NOT_FOUND")
    if case.state != SupportCaseState.OPEN:
        raise Conflict(f"The case is {case.state.value} already.", field="reference", code="CASE_CLOSED")
    return case


async def _confirmed_account_id(case: SupportCase, account_number: str | None) -> int:
    if account_number is None:
        if case.account_id is None:
            raise ValidationFailed(
                "The details matched no account: name the account you confirmed.",
                field="account",
                code="ACCOUNT_REQUIRED",
            )
        return int(case.account_id)
    member = await Member.get_or_none(account_number=normalise_number(account_number)).only("id")
    if member is None:
        raise NotFound("No member has this account number.", field="account", code="ACCOUNT_NOT_FOUND")
    return int(member.id)


async def resolve_case(
    *,
    reference: str,
    resolution: str,
    account_number: str | None,
    now: dt.datetime,
    operator: str | None = None,
) -> SupportCase:
    """The operator confirmed who the requester is: RESOLVED, with the confirmed account and a note.

    Without ``account_number`` the account the details matched is confirmed; if they matched none, the
    operator must name one. The automatic match is kept next to the confirmed account.
    """
    note = _clean_note(resolution)
    async with in_transaction():
        case = await _open_case_for_update(reference)
        case.account_id = await _confirmed_account_id(case, account_number)
        case.details = {**case.details, "confirmed_account_id": case.account_id}
        return await _close(case, SupportCaseState.RESOLVED, note=note, now=now, operator=operator)


async def reject_case(
    *, reference: str, resolution: str, now: dt.datetime, operator: str | None = None
) -> SupportCase:
    """The operator could not confirm the requester (for example the ID copy is not certified)."""
    note = _clean_note(resolution)
    async with in_transaction():
        case = await _open_case_for_update(reference)
        return await _close(case, SupportCaseState.REJECTED, note=note, now=now, operator=operator)


async def _close(
    case: SupportCase, state: SupportCaseState, *, note: str, now: dt.datetime, operator: str | None
) -> SupportCase:
    """Record the outcome, when and by whom; the requester hears nothing from this by itself."""
    case.details = {**case.details, "closed_by": operator}
    case.state = state
    case.resolution = note
    case.resolved_at = now
    await case.save(update_fields=["state", "resolution", "resolved_at", "account_id", "details"])
    return case
