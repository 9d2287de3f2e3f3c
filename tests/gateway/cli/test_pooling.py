"""``milesgate pools combine`` on an embedded SQLite data directory (CliRunner)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from typer.testing import CliRunner

from gateway.cli.pooling import pools_app
from loyalty.pooling.models import MembershipState, PoolMembership
from tests.loyalty.pooling_helpers import NOW, join, person
from tests.support import collapse, in_embedded_db, seed_embedded_db

runner = CliRunner()
app = typer.Typer()
app.add_typer(pools_app, name="pools")  # the same wiring gateway/cli/__init__.py uses


async def _accepted_pool() -> None:
    await join(await person(40), await person(9))


async def _states() -> list[MembershipState]:
    return [row.state for row in await PoolMembership.all().order_by("id")]


def test_combine_marks_members_due_and_is_idempotent(tmp_path: Path) -> None:
    seed_embedded_db(tmp_path)  # a migrated copy: migrating anew takes seconds a test
    env = {"MILESGATE_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    in_embedded_db(tmp_path, _accepted_pool)
    early = runner.invoke(
        app, ["pools", "combine", "--as-of", (NOW + dt.timedelta(days=1)).date().isoformat()], env=env
    )
    assert early.exit_code == 0, early.output
    assert "combined 0 pool members" in collapse(early.output)
    due = (NOW + dt.timedelta(days=2)).date().isoformat()
    done = runner.invoke(app, ["pools", "combine", "--as-of", due], env=env)
    assert "combined 1 pool members" in collapse(done.output)
    assert in_embedded_db(tmp_path, _states) == [MembershipState.COMBINED, MembershipState.COMBINED]
    again = runner.invoke(app, ["pools", "combine", "--as-of", due], env=env)
    assert "combined 0 pool members" in collapse(again.output)
