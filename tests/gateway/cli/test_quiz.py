"""``milesgate quiz create|draw|verify`` on an embedded SQLite data directory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from gateway.cli.engagement import quiz_app
from loyalty.engagement import quiz
from tests.factories import make_member
from tests.support import collapse, in_embedded_db, seed_embedded_db

runner = CliRunner()
app = typer.Typer()
app.add_typer(quiz_app, name="quiz")

QUIZ = """
month = "2026-10"
question = "Where is SWISS based?"
options = ["Zurich", "Geneva"]
correct_option = 0
opens_at = 2026-10-01T00:00:00Z
closes_at = 2026-10-31T23:00:00Z

[[prizes]]
partner = "swiss"
prize = "Chocolate"
count = 2
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    seed_embedded_db(tmp_path)  # a migrated copy: migrating anew takes seconds a test
    return {"MILESGATE_DATA_DIR": str(tmp_path), "COLUMNS": "200"}


def milesgate(args: list[str], env: dict[str, str]) -> Result:
    return runner.invoke(app, args, env=env)


async def _entries() -> None:
    for n in range(3):
        account = int((await make_member(f"q{n}@example.com")).member.id)
        await quiz.enter_quiz(account_id=account, answer=0, now=dt.datetime(2026, 10, 10, tzinfo=dt.UTC))


def test_create_draw_verify(env: dict[str, str], tmp_path: Path) -> None:
    definition = tmp_path / "quiz.toml"
    definition.write_text(QUIZ)
    created = milesgate(["quiz", "create", str(definition), "--operator", "ada"], env)
    assert created.exit_code == 0, created.output
    assert "quiz 2026-10 created (2 options)" in collapse(created.output)
    assert milesgate(["quiz", "create", str(definition), "--operator", "ada"], env).exit_code == 1

    in_embedded_db(tmp_path, _entries)
    drawn = milesgate(["quiz", "draw", "2026-10", "--operator", "ada", "--seed", "fixed-seed"], env)
    assert drawn.exit_code == 0, drawn.output
    assert "seed fixed-seed (recorded" in collapse(drawn.output)
    assert collapse(drawn.output).count("Chocolate") == 2
    verified = milesgate(["quiz", "verify", "2026-10"], env)
    assert verified.exit_code == 0
    assert "matches its seed and entries" in collapse(verified.output)
    assert milesgate(["quiz", "draw", "2026-10", "--operator", "ada"], env).exit_code == 1
