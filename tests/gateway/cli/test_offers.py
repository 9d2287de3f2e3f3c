"""``milesgate offers add FILE`` (issue 19): every offer of the file, or none."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gateway.cli.stacks import milesgate, stack_env

OFFER = """
[[offers]]
code = "{code}"
partner = "swiss"
kind = "earn"
title = "Fly SWISS {code}"
starts_at = 2026-01-01T00:00:00Z
ends_at = 2026-12-31T00:00:00Z
bonus_miles = {bonus}
"""


@pytest.fixture
def env(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    return stack_env(tmp_path, request)


def _listed(env: dict[str, str]) -> set[str]:
    result = milesgate(["offers", "list"], env)
    assert result.exit_code == 0, result.output
    return {code for code in ("FIRST", "SECOND", "THIRD", "AGAIN") if code in result.stdout}


def _file(tmp_path: Path, *entries: tuple[str, int]) -> str:
    path = tmp_path / "offers.toml"
    path.write_text("".join(OFFER.format(code=code, bonus=bonus) for code, bonus in entries))
    return str(path)


@pytest.mark.parametrize(
    "bad",
    [("SECOND", 0), ("FIRST", 500)],
    ids=["invalid-entry", "duplicate-code-within-the-file"],
)
def test_a_bad_entry_in_the_middle_adds_nothing(
    tmp_path: Path, env: dict[str, str], bad: tuple[str, int]
) -> None:
    result = milesgate(["offers", "add", _file(tmp_path, ("FIRST", 500), bad, ("THIRD", 500))], env)
    assert result.exit_code == 1, result.output
    assert _listed(env) == set()


def test_a_good_file_adds_every_offer_and_a_repeated_one_adds_nothing_more(
    tmp_path: Path, env: dict[str, str]
) -> None:
    good = milesgate(["offers", "add", _file(tmp_path, ("FIRST", 500), ("SECOND", 700))], env)
    assert good.exit_code == 0, good.output
    assert "2 offers added" in good.stdout
    # a file whose last entry exists already: the new one before it is not added either
    again = milesgate(["offers", "add", _file(tmp_path, ("AGAIN", 300), ("FIRST", 500))], env)
    assert again.exit_code == 1, again.output
    assert _listed(env) == {"FIRST", "SECOND"}
