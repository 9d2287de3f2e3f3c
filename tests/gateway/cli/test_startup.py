"""Start-up errors in one line (issue 19, item 3): a database without the code's migrations, a URL no client
of ours speaks, and ``MILESGATE_*`` variables that no setting reads.

The production database here is a SQLite file named by ``MILESGATE_DATABASE_URL``: production migrates
nothing by itself whatever the database, and the check compares the migrations recorded in it with the
code's the same way on PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tortoise.migrations.api import migrate as tortoise_migrate
from typer.testing import CliRunner, Result

from gateway.cli import app
from gateway.db import APP_LABEL, close_database, tortoise_config
from gateway.settings import OTHER_VARIABLES, Settings, unknown_variables
from loyalty.engagement.definitions import CHALLENGES_FILE_ENV
from loyalty.rewards.catalogue import CATALOGUE_FILE_ENV
from loyalty.rules import RULES_FILE_ENV
from partners.charts import CHARTS_DIR_ENV
from tests.support import PRODUCTION_MAIL_ENV, SQLITE_FILE, seed_embedded_db

runner = CliRunner()
SECRET = "start-up-secret-" + "s" * 40
MIGRATIONS = sorted(path.stem for path in (Path(__file__).resolve().parents[3] / "migrations").glob("0*.py"))


def milesgate(args: list[str], env: dict[str, str]) -> Result:
    return runner.invoke(app, args, env=env)


def production(data_dir: Path, database: Path) -> dict[str, str]:
    return {
        "MILESGATE_DATA_DIR": str(data_dir),
        "MILESGATE_ENV": "production",
        "MILESGATE_SECRET_KEY": SECRET,
        "MILESGATE_DATABASE_URL": f"sqlite://{database}",
        **PRODUCTION_MAIL_ENV,
    }


def _one_line(result: Result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


# --- migrations -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["partners", "list"],
        ["serve"],
        ["worker"],
        ["status", "show", "123456789"],
        ["inbox", "reprocess"],
    ],
    ids=lambda command: " ".join(command),
)
def test_an_unmigrated_database_is_refused_in_one_line(tmp_path: Path, command: list[str]) -> None:
    # given: a production database file nobody migrated
    database = tmp_path / "empty.sqlite3"
    database.touch()
    env = production(tmp_path, database) | {"MILESGATE_REDIS_URL": "redis://127.0.0.1:1/0"}  # never reached

    # when
    result = milesgate(command, env)

    # then
    assert result.exit_code == 2, result.output
    assert _one_line(result) == (
        f"database at migration none, code needs {MIGRATIONS[-1]}: run `milesgate migrate`"
    )


def test_an_older_database_names_where_it_is_and_migrate_brings_it_up(tmp_path: Path) -> None:
    # given: a production database with the code's last migration rolled back
    seed_embedded_db(tmp_path)
    database = tmp_path / SQLITE_FILE
    asyncio.run(
        tortoise_migrate(
            config=tortoise_config(Settings(database_url=f"sqlite://{database}", data_dir=tmp_path)),
            target=f"{APP_LABEL}.{MIGRATIONS[-2]}",
        )
    )
    asyncio.run(close_database())
    env = production(tmp_path, database)

    # when
    refused = milesgate(["partners", "list"], env)
    migrated = milesgate(["migrate"], env)
    listed = milesgate(["partners", "list"], env)

    # then
    assert refused.exit_code == 2
    assert _one_line(refused) == (
        f"database at migration {MIGRATIONS[-2]}, code needs {MIGRATIONS[-1]}: run `milesgate migrate`"
    )
    assert migrated.exit_code == 0, migrated.output
    assert f"applied milesgate.{MIGRATIONS[-1]}" in migrated.stdout
    assert listed.exit_code == 0, listed.output
    assert "no partners" in listed.stdout


# --- URLs -----------------------------------------------------------------------------------------

PASSWORD = "hunter2-" + "p" * 12


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MILESGATE_DATABASE_URL", f"mysql://app:{PASSWORD}@db:3306/milesgate"),
        ("MILESGATE_DATABASE_URL", f"postgres://app:{PASSWORD}@db:port/milesgate"),
        ("MILESGATE_DATABASE_URL", f"{PASSWORD}"),
        ("MILESGATE_REDIS_URL", f"http://:{PASSWORD}@cache:6379/0"),
        ("MILESGATE_REDIS_URL", f"redis://:{PASSWORD}@[cache:6379/0"),
    ],
)
@pytest.mark.parametrize("command", [["migrate"], ["serve"], ["worker"], ["offers", "list"]])
def test_an_unusable_url_names_its_variable_and_never_its_value(
    tmp_path: Path, variable: str, value: str, command: list[str]
) -> None:
    # when
    result = milesgate(command, {"MILESGATE_DATA_DIR": str(tmp_path), variable: value})

    # then
    assert result.exit_code == 2, result.output
    line = _one_line(result)
    assert line.startswith(f"configuration error: {variable}: is not a ")
    assert PASSWORD not in result.output and "hunter2" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_usable_urls_are_accepted() -> None:
    for url in (
        "postgres://app:pw@db:5432/m",
        "postgresql://db/m",
        "sqlite:///var/lib/m.sqlite3",
        "sqlite://:memory:",
    ):
        assert Settings(database_url=url).database_url is not None
    for url in ("redis://:pw@cache:6379/0", "rediss://cache", "unix:///run/redis.sock"):
        assert Settings(redis_url=url).redis_url is not None


# --- unknown variables ----------------------------------------------------------------------------


def test_a_misspelt_variable_gets_one_warning_with_the_close_name(tmp_path: Path) -> None:
    # given
    seed_embedded_db(tmp_path)

    # when
    result = milesgate(
        ["partners", "list"],
        {
            "MILESGATE_DATA_DIR": str(tmp_path),
            "MILESGATE_REDIS_ULR": "redis://127.0.0.1:6379/0",
            "MILESGATE_WHATEVER": "1",
            "MILESGATE_TEST_ANYTHING": "1",
            "MILESGATE_RULES_FILE": str(Path("loyalty/rules.toml").resolve()),
        },
    )

    # then: the command ran, with one warning line naming both, the misspelling with its setting
    assert result.exit_code == 0, result.output
    assert _one_line(result) == (
        "warning: unknown MILESGATE_ variables, ignored: "
        "MILESGATE_REDIS_ULR (did you mean MILESGATE_REDIS_URL?), MILESGATE_WHATEVER"
    )


def test_a_misspelling_is_named_before_the_configuration_error_it_causes(tmp_path: Path) -> None:
    # when: production's secret key is misspelt
    result = milesgate(
        ["migrate"],
        {
            "MILESGATE_DATA_DIR": str(tmp_path),
            "MILESGATE_ENV": "production",
            "MILESGATE_DATABASE_URL": "postgres://db/m",
            "MILESGATE_SECRET_KY": SECRET,
        },
    )

    # then
    assert result.exit_code == 2
    warning, error = result.stderr.strip().splitlines()
    assert warning.endswith("MILESGATE_SECRET_KY (did you mean MILESGATE_SECRET_KEY?)")
    assert error.startswith("configuration error: MILESGATE_SECRET_KEY")
    assert SECRET not in result.output


def test_variables_read_outside_the_settings_are_known() -> None:
    assert {RULES_FILE_ENV, CATALOGUE_FILE_ENV, CHALLENGES_FILE_ENV, CHARTS_DIR_ENV} <= OTHER_VARIABLES
    assert unknown_variables({name: "x" for name in OTHER_VARIABLES}) == []
    assert unknown_variables({"MILESGATE_TEST_STACK": "production", "MILESGATE_CI_CACHE": "/c"}) == []
    assert unknown_variables({"milesgate_port": "1", "MILESGATE_LOG_LEVEL": "info", "PATH": "/bin"}) == []
