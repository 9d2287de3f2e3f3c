"""``milesgate privacy`` and ``milesgate notices`` on an embedded SQLite data directory."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import typer
from typer.testing import CliRunner, Result

from gateway.cli.privacy import notices_app, privacy_app
from loyalty.members.models import Member
from tests.factories import make_member
from tests.support import collapse, in_embedded_db, seed_embedded_db

runner = CliRunner()
app = typer.Typer()
app.add_typer(privacy_app, name="privacy")
app.add_typer(notices_app, name="notices")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    seed_embedded_db(tmp_path)  # a migrated copy: migrating anew takes seconds a test
    return {"MILESGATE_DATA_DIR": str(tmp_path), "COLUMNS": "200"}


def milesgate(args: list[str], env: dict[str, str]) -> Result:
    return runner.invoke(app, args, env=env)


async def _account_number() -> str:
    return str((await make_member()).member.account_number)


def test_export_then_erase_then_audit(env: dict[str, str], tmp_path: Path) -> None:
    number = in_embedded_db(tmp_path, _account_number)
    out = tmp_path / "export.json"
    exported = milesgate(["privacy", "export", number, "--operator", "ada", "--out", str(out)], env)
    assert exported.exit_code == 0, exported.output
    assert orjson.loads(out.read_bytes())["profile"]["account_number"] == number

    refused = milesgate(["privacy", "erase", number, "--operator", "ada", "--reason", "R-1"], env)
    assert refused.exit_code == 1  # confirmation not given
    erased = milesgate(["privacy", "erase", number, "--operator", "ada", "--reason", "R-1", "--yes"], env)
    assert erased.exit_code == 0, erased.output
    assert "profile" in collapse(erased.output)

    async def family_name() -> str:
        return str((await Member.get(account_number=number)).family_name)

    assert in_embedded_db(tmp_path, family_name) == "erased"
    again = milesgate(["privacy", "erase", number, "--operator", "ada", "--reason", "R-1", "--yes"], env)
    assert again.exit_code == 1
    audit = collapse(milesgate(["privacy", "audit", number], env).output)
    assert "privacy.erase" in audit
    assert "privacy.export" in audit
    unknown = milesgate(["privacy", "export", "000000000", "--operator", "ada"], env)
    assert unknown.exit_code == 1
    assert "MEMBER_NOT_FOUND: No member has account number 000000000." in collapse(unknown.output)


def test_notices_publish_list_withdraw(env: dict[str, str], tmp_path: Path) -> None:
    published = milesgate(
        ["notices", "publish", "--title", "Beware", "--body", "No PIN by e-mail", "--operator", "ada"], env
    )
    assert published.exit_code == 0, published.output
    assert "published notice 1 (en, WARNING)" in collapse(published.output)
    assert "Beware" in collapse(milesgate(["notices", "list"], env).output)
    assert milesgate(["notices", "withdraw", "1", "--operator", "ada"], env).exit_code == 0
    assert "Beware" not in collapse(milesgate(["notices", "list"], env).output)
    bad = milesgate(["notices", "publish", "--title", " ", "--body", "x", "--operator", "ada"], env)
    assert bad.exit_code == 1
