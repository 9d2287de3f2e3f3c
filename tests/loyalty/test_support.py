"""The "Lost service card number" case: validation, references, the silent match, operator decisions."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from gateway.settings import Settings
from loyalty.errors import Conflict, NotFound, ValidationFailed
from loyalty.members import support
from loyalty.members.models import SupportCase, SupportCaseKind, SupportCaseState
from tests.factories import make_member

NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=12)
REFERENCE = re.compile(r"^LSC-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{8}$")


def _request(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "given_name": "Grace",
        "family_name": "Hopper",
        "date_of_birth": dt.date(1985, 3, 4),
        "email": "member@example.com",
        "id_document_reference": "certified copy 2026-11-19 / passport",
    }
    data.update(overrides)
    return data


async def _open(**overrides: Any) -> SupportCase:
    return await support.open_lost_card_number_case(**_request(**overrides), now=NOW)


def test_references_use_an_alphabet_without_look_alikes() -> None:
    references = {support.new_case_reference() for _ in range(2000)}
    assert len(references) == 2000
    assert all(REFERENCE.match(reference) for reference in references)
    assert not set("".join(reference[4:] for reference in references)) & set("01ILOU")


async def test_matching_details_note_the_account_for_the_operator(db: Settings) -> None:
    enrolled = await make_member()

    case = await _open(email=" Member@Example.com ", family_name="hopper")

    assert REFERENCE.match(case.reference)
    assert case.kind is SupportCaseKind.LOST_SERVICE_CARD_NUMBER and case.state is SupportCaseState.OPEN
    assert case.account_id == enrolled.member.id and case.contact_email == "member@example.com"
    assert case.opened_at == NOW
    assert case.details["subject"] == "Lost service card number"
    assert case.details["id_document_reference"] == "certified copy 2026-11-19 / passport"


@pytest.mark.parametrize(
    "overrides",
    [
        {"email": "stranger@example.com"},
        {"date_of_birth": dt.date(1985, 3, 5)},
        {"family_name": "Lovelace"},
    ],
)
async def test_details_matching_no_member_open_a_case_all_the_same(
    db: Settings, overrides: dict[str, Any]
) -> None:
    await make_member()

    case = await _open(**overrides)

    assert case.account_id is None and case.state is SupportCaseState.OPEN and REFERENCE.match(case.reference)


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"given_name": "  "}, "givenName", "NAME_REQUIRED"),
        ({"family_name": "H0pper"}, "familyName", "NAME_INVALID"),
        ({"family_name": "x" * 81}, "familyName", "NAME_TOO_LONG"),
        ({"email": "not-an-address"}, "email", "EMAIL_INVALID"),
        ({"date_of_birth": dt.date(2027, 1, 1)}, "dateOfBirth", "DOB_INVALID"),
        ({"date_of_birth": dt.date(1880, 1, 1)}, "dateOfBirth", "DOB_INVALID"),
        ({"id_document_reference": "x"}, "idDocumentReference", "ID_DOCUMENT_REFERENCE_INVALID"),
        ({"id_document_reference": "<script>"}, "idDocumentReference", "ID_DOCUMENT_REFERENCE_INVALID"),
    ],
)
async def test_bad_input_is_refused_and_opens_nothing(
    db: Settings, overrides: dict[str, Any], field: str, code: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await _open(**overrides)
    assert (refused.value.field, refused.value.code) == (field, code)
    assert await SupportCase.all().count() == 0


async def test_cases_are_listed_oldest_first_and_by_state(db: Settings) -> None:
    first = await support.open_lost_card_number_case(**_request(), now=NOW)
    second = await support.open_lost_card_number_case(**_request(), now=NOW + dt.timedelta(hours=1))
    await support.reject_case(reference=first.reference, resolution="Copy not certified.", now=LATER)

    assert [c.reference for c in await support.list_cases()] == [first.reference, second.reference]
    assert [c.reference for c in await support.list_cases(state=SupportCaseState.OPEN)] == [second.reference]
    assert [c.reference for c in await support.list_cases(state=SupportCaseState.REJECTED)] == [
        first.reference
    ]


async def test_resolving_confirms_the_matched_account_and_records_the_decision(db: Settings) -> None:
    enrolled = await make_member()
    case = await _open()

    resolved = await support.resolve_case(
        reference=case.reference.lower(),
        resolution="ID copy certified; number sent by post.",
        account_number=None,
        now=LATER,
        operator="agent-7",
    )

    assert resolved.state is SupportCaseState.RESOLVED and resolved.resolved_at == LATER
    assert resolved.account_id == enrolled.member.id
    assert resolved.resolution == "ID copy certified; number sent by post."
    stored = await SupportCase.get(reference=case.reference)
    assert stored.details["confirmed_account_id"] == enrolled.member.id
    assert stored.details["closed_by"] == "agent-7"


async def test_the_operator_names_the_account_when_nothing_matched(db: Settings) -> None:
    enrolled = await make_member()
    case = await _open(email="old-address@example.com")

    with pytest.raises(ValidationFailed) as missing:
        await support.resolve_case(reference=case.reference, resolution="ok", account_number=None, now=LATER)
    assert missing.value.code == "ACCOUNT_REQUIRED"
    with pytest.raises(NotFound) as unknown:
        await support.resolve_case(
            reference=case.reference, resolution="ok", account_number="000000000", now=LATER
        )
    assert unknown.value.code == "ACCOUNT_NOT_FOUND"

    resolved = await support.resolve_case(
        reference=case.reference,
        resolution="Old e-mail address; confirmed by ID copy.",
        account_number=enrolled.member.account_number,
        now=LATER,
    )
    assert resolved.account_id == enrolled.member.id and resolved.details["matched_account_id"] is None


async def test_a_closed_case_cannot_be_closed_again(db: Settings) -> None:
    case = await _open()
    await support.reject_case(reference=case.reference, resolution="Not certified.", now=LATER)

    with pytest.raises(Conflict) as closed:
        await support.resolve_case(reference=case.reference, resolution="ok", account_number=None, now=LATER)
    assert closed.value.code == "CASE_CLOSED"
    with pytest.raises(NotFound) as unknown:
        await support.reject_case(reference="LSC-ZZZZZZZZ", resolution="x", now=LATER)
    assert unknown.value.code == "CASE_NOT_FOUND"
    with pytest.raises(ValidationFailed) as empty:
        await support.reject_case(reference=case.reference, resolution="   ", now=LATER)
    assert empty.value.code == "NOTE_REQUIRED"
    stored = await SupportCase.get(reference=case.reference)
    assert stored.state is SupportCaseState.REJECTED and stored.resolution == "Not certified."
