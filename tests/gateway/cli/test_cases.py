"""``milesgate cases``: list, resolve and reject support cases from the command line (embedded database)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TypeVar

import pytest
from typer.testing import CliRunner, Result

from gateway.cli.cases import cases_app
from loyalty.members import support
from loyalty.members.models import SupportCase, SupportCaseState
from tests.factories import make_member
from tests.support import in_embedded_db

T = TypeVar("T")
NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


def _cli(data_dir: Path, *args: str) -> Result:
    env = {"MILESGATE_DATA_DIR": str(data_dir), "COLUMNS": "200", "USER": "agent-7"}
    return CliRunner().invoke(cases_app, list(args), env=env)


async def _member_and_case(email: str = "member@example.com") -> tuple[str, str]:
    enrolled = await make_member()
    case = await support.open_lost_card_number_case(
        given_name="Grace",
        family_name="Hopper",
        date_of_birth=dt.date(1985, 3, 4),
        email=email,
        id_document_reference="certified passport copy",
        now=NOW,
    )
    return enrolled.member.account_number, case.reference


def _stored(data_dir: Path, reference: str) -> SupportCase:
    async def load() -> SupportCase:
        return await SupportCase.get(reference=reference)

    return in_embedded_db(data_dir, load)


def test_list_shows_open_cases_and_filters_by_state(tmp_path: Path) -> None:
    account_number, reference = in_embedded_db(tmp_path, _member_and_case)

    listed = _cli(tmp_path, "list", "--state", "OPEN")
    assert listed.exit_code == 0, listed.output
    assert reference in listed.output and "OPEN" in listed.output and "member@example.com" in listed.output
    assert f"account {account_number}" in listed.output

    resolved_only = _cli(tmp_path, "list", "--state", "resolved")
    assert resolved_only.exit_code == 0 and reference not in resolved_only.output
    assert "no cases" in resolved_only.output


def test_resolve_confirms_the_account_and_records_the_operator(tmp_path: Path) -> None:
    account_number, reference = in_embedded_db(tmp_path, _member_and_case)

    result = _cli(tmp_path, "resolve", reference, "--account", account_number, "--note", "ID copy certified.")

    assert result.exit_code == 0, result.output
    assert f"{reference} resolved" in result.output
    case = _stored(tmp_path, reference)
    assert case.state is SupportCaseState.RESOLVED and case.resolution == "ID copy certified."
    assert case.details["closed_by"] == "agent-7" and case.resolved_at is not None


def test_reject_closes_the_case(tmp_path: Path) -> None:
    _, reference = in_embedded_db(tmp_path, _member_and_case)

    result = _cli(tmp_path, "reject", reference, "--note", "Copy not certified.", "--operator", "lead")

    assert result.exit_code == 0, result.output
    case = _stored(tmp_path, reference)
    assert case.state is SupportCaseState.REJECTED and case.details["closed_by"] == "lead"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["resolve", "LSC-ZZZZZZZZ", "--account", "123456789", "--note", "x"], "CASE_NOT_FOUND"),
        (["resolve", "{reference}", "--account", "000000000", "--note", "x"], "ACCOUNT_NOT_FOUND"),
        (["reject", "{reference}", "--note", "   "], "NOTE_REQUIRED"),
    ],
)
def test_domain_errors_exit_1_with_their_code(tmp_path: Path, args: list[str], code: str) -> None:
    _, reference = in_embedded_db(tmp_path, _member_and_case)

    result = _cli(tmp_path, *[arg.format(reference=reference) for arg in args])

    assert result.exit_code == 1
    assert code in result.output
    assert _stored(tmp_path, reference).state is SupportCaseState.OPEN


def test_a_closed_case_cannot_be_resolved_again(tmp_path: Path) -> None:
    account_number, reference = in_embedded_db(tmp_path, _member_and_case)
    assert _cli(tmp_path, "reject", reference, "--note", "No.").exit_code == 0

    again = _cli(tmp_path, "resolve", reference, "--account", account_number, "--note", "Yes.")

    assert again.exit_code == 1 and "CASE_CLOSED" in again.output


def test_remove_second_factor_turns_them_off_and_says_what_it_did(tmp_path: Path) -> None:
    from loyalty.auth.factors import second_factors
    from loyalty.auth.models import SmsFactor
    from loyalty.privacy.models import AuditEntry

    async def member_with_sms() -> tuple[int, str]:
        member = (await make_member()).member
        await SmsFactor.create(account_id=member.id, phone_number="+4915123456789", confirmed_at=NOW)
        return member.id, member.account_number

    account_id, account_number = in_embedded_db(tmp_path, member_with_sms)

    removed = _cli(tmp_path, "remove-second-factor", account_number, "--reference", "LSC-7K3Q9P2M")
    again = _cli(tmp_path, "remove-second-factor", account_number, "--reference", "LSC-7K3Q9P2M")
    unnoted = _cli(tmp_path, "remove-second-factor", account_number, "--reference", " ")

    assert removed.exit_code == 0, removed.output
    assert f"{account_number}: second factors off (SMS)" in removed.output
    assert "the member is e-mailed" in removed.output
    assert again.exit_code == 1 and "NO_SECOND_FACTOR" in again.output
    assert unnoted.exit_code == 1 and "REFERENCE_INVALID" in unnoted.output

    async def after() -> tuple[tuple[object, ...], list[str]]:
        entries = await AuditEntry.filter(account_id=account_id, action="member.second_factors.remove")
        return await second_factors(account_id=account_id), [entry.actor for entry in entries]

    assert in_embedded_db(tmp_path, after) == ((), ["operator:agent-7"])
