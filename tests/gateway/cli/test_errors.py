"""Unknown ids and bad formats across the command line: exit status 1 and one ``CODE: sentence`` line on
stderr, no traceback, nothing changed (issue 19, item 6). Each case runs against an embedded database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from gateway.cli import app
from tests.support import seed_embedded_db

runner = CliRunner()
CODE_LINE = re.compile(r"^[A-Z][A-Z0-9_]+: \S.*$")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    seed_embedded_db(tmp_path)
    return {"MILESGATE_DATA_DIR": str(tmp_path), "COLUMNS": "200"}


def milesgate(args: list[str], env: dict[str, str]) -> Result:
    return runner.invoke(app, args, env=env)


def refused_with(result: Result, code: str) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert CODE_LINE.match(lines[0]), lines[0]
    assert lines[0].startswith(f"{code}: "), lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["partners", "suspend", "nope"], "PARTNER_NOT_FOUND"),
        (["partners", "secrets", "revoke", "nope", "1"], "PARTNER_NOT_FOUND"),
        (["cases", "reject", "LSC-NOPE", "--note", "n", "--operator", "ada"], "CASE_NOT_FOUND"),
        (["status", "show", "12"], "ACCOUNT_NUMBER_INVALID"),
        (["status", "show", "000000000"], "MEMBER_NOT_FOUND"),
        (["privacy", "export", "abc", "--operator", "ada"], "ACCOUNT_NUMBER_INVALID"),
        (["privacy", "audit", "12345"], "ACCOUNT_NUMBER_INVALID"),
        (["privacy", "export", "000000000", "--operator", "ada"], "MEMBER_NOT_FOUND"),
        (["notices", "withdraw", "999", "--operator", "ada"], "NOTICE_NOT_FOUND"),
        (["quiz", "draw", "2026-13", "--operator", "ada"], "MONTH_INVALID"),
        (["quiz", "verify", "2026-01"], "QUIZ_NOT_FOUND"),
        (["endpoints", "enable", "999"], "ENDPOINT_NOT_FOUND"),
        (["endpoints", "deliveries", "--endpoint", "999"], "ENDPOINT_NOT_FOUND"),
        (["endpoints", "replay", "msg_nope"], "MESSAGE_NOT_FOUND"),
        (["endpoints", "replay-failed", "999", "--since", "2026-01-01"], "ENDPOINT_NOT_FOUND"),
        (["inbox", "reprocess", "999"], "INBOX_ROW_NOT_FOUND"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else value,
)
def test_an_unknown_id_or_a_bad_format_is_one_coded_line(
    env: dict[str, str], args: list[str], code: str
) -> None:
    refused_with(milesgate(args, env), code)


def test_erasing_an_unknown_account_is_refused_before_the_question(env: dict[str, str]) -> None:
    # when: no --yes, and no answer to give
    result = milesgate(["privacy", "erase", "000000000", "--operator", "ada", "--reason", "R-1"], env)

    # then: refused for the account, not aborted at the prompt
    refused_with(result, "MEMBER_NOT_FOUND")
    assert "Erase the personal data" not in result.output


OFFER = """
[[offers]]
code = "x"
partner = "lufthansa"
kind = "{kind}"
title = "t"
starts_at = {starts_at}
ends_at = 2026-02-01T00:00:00Z
"""


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("this is = = not toml", "FILE_INVALID"),
        ('[[offers]]\ncode = "x"\n', "OFFER_FIELD_MISSING"),
        (OFFER.format(kind="weird", starts_at="2026-01-01T00:00:00Z"), "OFFER_INVALID"),
        (OFFER.format(kind="earn", starts_at='"soon"'), "DATE_TIME_INVALID"),
    ],
    ids=["not-toml", "no-partner", "unknown-kind", "text-for-a-date"],
)
def test_a_bad_offers_file_is_one_coded_line(
    env: dict[str, str], tmp_path: Path, text: str, code: str
) -> None:
    # given
    offers = tmp_path / "offers.toml"
    offers.write_text(text, encoding="utf-8")

    # when
    result = milesgate(["offers", "add", str(offers)], env)

    # then
    refused_with(result, code)
    assert "0 offers" not in result.output


def test_a_quiz_file_that_is_not_toml_is_one_coded_line(env: dict[str, str], tmp_path: Path) -> None:
    # given
    definition = tmp_path / "quiz.toml"
    definition.write_text('month = "2026-10"\nquestion = ', encoding="utf-8")

    # when
    result = milesgate(["quiz", "create", str(definition), "--operator", "ada"], env)

    # then
    assert f"{definition} is not valid TOML" in refused_with(result, "FILE_INVALID")


def test_a_missing_safelist_directory_is_one_coded_line(env: dict[str, str], tmp_path: Path) -> None:
    # when
    missing = milesgate(["persisted-queries", "list", "--dir", str(tmp_path / "nowhere")], env)
    unset = milesgate(["persisted-queries", "list"], env)

    # then
    refused_with(missing, "SAFELIST_INVALID")
    assert unset.exit_code == 2
    assert unset.stderr.startswith("SAFELIST_DIRECTORY_MISSING: pass --dir")
