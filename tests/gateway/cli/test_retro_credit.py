"""``milesgate retro-credit sweep --as-of`` on an embedded SQLite data directory (CliRunner)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from gateway.cli.retro_credit import retro_credit_app
from loyalty.retro_credit.models import RetroCreditReason, RetroCreditRequest, RetroCreditState
from loyalty.retro_credit.service import request_retro_credit
from loyalty.rules import current_rules
from partners.charts import current_earning_chart
from tests.factories import make_member
from tests.loyalty.retro_credit_helpers import NOW, claim
from tests.support import collapse, in_embedded_db, seed_embedded_db

runner = CliRunner()
app = typer.Typer()  # the same wiring gateway/cli/__init__.py uses
app.add_typer(retro_credit_app, name="retro-credit")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    seed_embedded_db(tmp_path)  # a migrated copy: migrating anew takes seconds a test
    return {"MILESGATE_DATA_DIR": str(tmp_path), "COLUMNS": "200"}


def milesgate(args: list[str], env: dict[str, str]) -> Result:
    return runner.invoke(app, args, env=env)


async def _pending() -> int:
    member = (await make_member()).member
    request = await request_retro_credit(
        account_id=member.id, claim=claim(), rules=current_rules(), chart=current_earning_chart(), now=NOW
    )
    return int(request.id)


async def _request(request_id: int) -> RetroCreditRequest:
    return await RetroCreditRequest.get(id=request_id)


def test_sweep_rejects_requests_that_waited_too_long_once(env: dict[str, str], tmp_path: Path) -> None:
    request_id = in_embedded_db(tmp_path, _pending)
    wait = current_rules().retro_credit.partner_data_wait_days

    early = milesgate(
        ["retro-credit", "sweep", "--as-of", (NOW.date() + dt.timedelta(days=1)).isoformat()], env
    )
    assert early.exit_code == 0, early.output
    assert "looked at 1 open requests: 0 accepted, 0 rejected, 1 still waiting" in collapse(early.output)

    as_of = (NOW.date() + dt.timedelta(days=wait)).isoformat()
    late = milesgate(["retro-credit", "sweep", "--as-of", as_of], env)
    assert "looked at 1 open requests: 0 accepted, 1 rejected, 0 still waiting" in collapse(late.output)
    again = milesgate(["retro-credit", "sweep", "--as-of", as_of], env)
    assert "looked at 0 open requests" in collapse(again.output)

    row = in_embedded_db(tmp_path, lambda: _request(request_id))
    assert (row.state, row.reason) == (RetroCreditState.REJECTED, RetroCreditReason.TICKET_NOT_FOUND)


def test_sweep_needs_a_date(env: dict[str, str]) -> None:
    result = milesgate(["retro-credit", "sweep", "--as-of", "someday"], env)
    assert result.exit_code == 2
