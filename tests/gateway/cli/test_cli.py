"""The ``milesgate`` command line, run with Typer's CliRunner on an embedded SQLite data directory.

CliRunner calls ``asyncio.run`` inside, so these are plain (sync) tests; the database is inspected
afterwards with its own short ``asyncio.run``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

import pytest
from typer.testing import CliRunner, Result

from gateway.cli import app
from loyalty.members.models import Member
from tests.support import PRODUCTION_MAIL_ENV, collapse, in_embedded_db

T = TypeVar("T")
runner = CliRunner()


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """``worker`` configures logging for a process; undo that so later tests keep their handlers."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    uvicorn = {name: logging.getLogger(name) for name in ("uvicorn", "uvicorn.error", "uvicorn.access")}
    saved = {name: (lg.handlers[:], lg.propagate, lg.disabled) for name, lg in uvicorn.items()}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, (lg_handlers, propagate, disabled) in saved.items():
        uvicorn[name].handlers[:] = lg_handlers
        uvicorn[name].propagate = propagate
        uvicorn[name].disabled = disabled


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An embedded (SQLite) installation in the test's own data directory; wide output, no wrapping."""
    return {"MILESGATE_DATA_DIR": str(tmp_path), "COLUMNS": "200"}


def milesgate(args: list[str], env: dict[str, str]) -> Result:
    return runner.invoke(app, args, env=env)


def test_version_is_printed_without_touching_the_database(env: dict[str, str], tmp_path: Path) -> None:
    result = milesgate(["--version"], env)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"milesgate {version('milesgate')}"
    assert not (tmp_path / "milesgate.sqlite3").exists()


# --- migrate, demo -------------------------------------------------------------------------------


def test_migrate_brings_a_new_database_up_to_date(env: dict[str, str], tmp_path: Path):
    # when
    first = milesgate(["migrate"], env)
    second = milesgate(["migrate"], env)

    # then
    assert first.exit_code == 0, first.output
    assert "applied milesgate.0001_initial" in first.stdout
    assert "migrations up to date" in first.stdout
    assert (tmp_path / "milesgate.sqlite3").is_file()
    assert second.exit_code == 0, second.output
    assert "applied" not in second.stdout
    assert "migrations up to date" in second.stdout
    assert in_embedded_db(tmp_path, lambda: Member.all().count()) == 0


# the demo's data and its way in: tests/gateway/cli/test_demo.py


def test_demo_is_refused_in_production(env: dict[str, str], tmp_path: Path):
    # given: a valid production configuration
    production = {
        **env,
        "MILESGATE_ENV": "production",
        "MILESGATE_SECRET_KEY": "p" * 40,
        "MILESGATE_DATABASE_URL": "postgres://nobody@127.0.0.1:1/never-contacted",
        **PRODUCTION_MAIL_ENV,
    }

    # when
    result = milesgate(["demo", "--members", "3"], production)

    # then
    assert result.exit_code == 2
    assert "development databases only" in collapse(result.stderr)
    assert not (tmp_path / "milesgate.sqlite3").exists()


# --- worker, serve, configuration errors ----------------------------------------------------------


def test_worker_without_redis_exits_2(env: dict[str, str]):
    # when
    result = milesgate(["worker"], env)

    # then
    assert result.exit_code == 2
    assert "needs MILESGATE_REDIS_URL" in collapse(result.stderr)
    assert "Traceback" not in result.output


def test_serve_with_several_workers_without_redis_exits_2(env: dict[str, str]):
    # when: refused before anything listens
    result = milesgate(["serve", "--workers", "2"], env)

    # then
    assert result.exit_code == 2
    assert "needs MILESGATE_REDIS_URL" in collapse(result.stderr)


@pytest.mark.parametrize("command", [["migrate"], ["partners", "list"], ["worker"], ["demo"]])
def test_production_without_secret_key_is_a_configuration_error(
    env: dict[str, str], tmp_path: Path, command: list[str]
):
    # given
    production = {**env, "MILESGATE_ENV": "production", "MILESGATE_DATABASE_URL": "postgres://db/milesgate"}

    # when
    result = milesgate(command, production)

    # then
    assert result.exit_code == 2
    assert "configuration error" in result.stderr
    assert "MILESGATE_SECRET_KEY" in collapse(result.stderr)
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


LEAKY_SECRET = "do-not-print-me-" + "q" * 30
PRODUCTION = {"MILESGATE_ENV": "production", "MILESGATE_DATABASE_URL": "postgres://app:db-password@db/m"}


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        pytest.param({"MILESGATE_SECRET_KEY": "short-" + "k" * 20}, "MILESGATE_SECRET_KEY", id="short-key"),
        pytest.param(
            {"MILESGATE_SECRET_KEY": LEAKY_SECRET, "MILESGATE_TRAVEL_ID_ALLOW_HTTP": "true"},
            "MILESGATE_TRAVEL_ID_ALLOW_HTTP",
            id="http-issuer-beside-a-good-key",
        ),
        pytest.param(
            {
                "MILESGATE_SECRET_KEY": LEAKY_SECRET,
                "MILESGATE_FEDERATION_ROUTER_SECRET": "router-" + "r" * 12,
            },
            "MILESGATE_FEDERATION_ROUTER_SECRET",
            id="short-router-secret",
        ),
        pytest.param(
            {"MILESGATE_SECRET_KEY": LEAKY_SECRET, "MILESGATE_METRICS_TOKEN": "metrics-" + "m" * 10},
            "MILESGATE_METRICS_TOKEN",
            id="short-metrics-token",
        ),
        pytest.param(
            {"MILESGATE_SECRET_KEY": LEAKY_SECRET, "MILESGATE_PORT": "not-a-port"},
            "MILESGATE_PORT",
            id="bad-port-beside-a-good-key",
        ),
    ],
)
def test_a_configuration_error_names_the_variable_and_prints_no_value(
    env: dict[str, str], variables: dict[str, str], named: str
):
    # when
    result = milesgate(["migrate"], {**env, **PRODUCTION, **variables})

    # then
    assert result.exit_code == 2, result.output
    assert named in collapse(result.stderr)
    printed = result.stdout + result.stderr
    for value in [*variables.values(), "db-password"]:
        if value not in ("true", "not-a-port"):
            assert value not in printed and value[-22:] not in printed, printed
    assert "input_value" not in printed and "Traceback" not in printed


def test_configuration_error_with_markup_in_a_value_exits_2(env: dict[str, str]):
    # when
    result = milesgate(["migrate"], {**env, "MILESGATE_PORT": "[/x]"})

    # then
    assert result.exit_code == 2
    assert "configuration error" in result.stderr
