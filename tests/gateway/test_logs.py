"""The JSON logs (issue 19, item 7): no terminal colours in them, and every process's first line says how it
is configured without giving away a secret: ``serve``, each of its uvicorn worker processes, and
``milesgate worker``."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from gateway.logs import MASKED, JsonFormatter, redacted_url, settings_for_log
from gateway.settings import Settings
from tests.support import (
    APP_REDIS_URL,
    PRODUCTION_MAIL_ENV,
    REDIS_PREFIX,
    clear_redis,
    deadline_s,
    free_port,
    require_service,
    seed_embedded_db,
    served_process,
    wait_for_sync,
)

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "MILESGATE_SECRET_KEY": "log-secret-key-" + "k" * 40,
    "MILESGATE_METRICS_TOKEN": "log-metrics-token-" + "m" * 30,
    "MILESGATE_FEDERATION_ROUTER_SECRET": "log-router-secret-" + "r" * 30,
    "MILESGATE_TRAVEL_ID_CLIENT_SECRET": "log-travel-id-client-secret",
}
DB_PASSWORD = "log-db-password-x9"  # PostgreSQL trusts loopback here: the password is sent, never needed


def _format(record: logging.LogRecord) -> dict[str, Any]:
    line = JsonFormatter().format(record)
    assert "\x1b" not in line and "\\u001b" not in line, line
    parsed: dict[str, Any] = orjson.loads(line)
    return parsed


def test_uvicorn_colour_message_and_escapes_stay_out_of_the_json() -> None:
    # given: a record the way uvicorn logs it, the coloured copy of the message in ``color_message``
    record = logging.makeLogRecord(
        {
            "name": "uvicorn.error",
            "levelname": "INFO",
            "msg": "Started server process [%d]",
            "args": (4242,),
            "color_message": "Started server process [\x1b[36m%d\x1b[0m]",
            "detail": "\x1b[1mbold\x1b[0m",
        }
    )

    # when
    entry = _format(record)

    # then
    assert entry["msg"] == "Started server process [4242]"
    assert "color_message" not in entry
    assert entry["detail"] == "bold"


def test_settings_for_log_mask_secrets_and_url_passwords() -> None:
    # given
    settings = Settings(
        database_url=f"postgres://app:{DB_PASSWORD}@db.internal:5432/milesgate",
        redis_url=f"redis://:{DB_PASSWORD}@cache:6379/0",
        secret_key=SECRETS["MILESGATE_SECRET_KEY"],
        metrics_token=SECRETS["MILESGATE_METRICS_TOKEN"],
        travel_id_issuer="https://id.example",
    )

    # when
    shown = settings_for_log(settings)

    # then
    assert shown["database_url"] == f"postgres://app:{MASKED}@db.internal:5432/milesgate"
    assert shown["redis_url"] == f"redis://:{MASKED}@cache:6379/0"
    assert shown["secret_key"] == MASKED and shown["metrics_token"] == MASKED
    assert shown["federation_router_secret"] is None
    assert shown["travel_id_issuer"] == "https://id.example"
    assert shown["port"] == 8000 and shown["env"] == "development"
    text = orjson.dumps(shown).decode()
    for secret in (DB_PASSWORD, SECRETS["MILESGATE_SECRET_KEY"], SECRETS["MILESGATE_METRICS_TOKEN"]):
        assert secret not in text


def test_redacted_url_keeps_everything_but_the_password() -> None:
    assert redacted_url("postgres://app@db/m") == "postgres://app@db/m"
    assert redacted_url("postgres://app:pw@[::1]:5432/m") == f"postgres://app:{MASKED}@[::1]:5432/m"
    assert redacted_url("not a url") is None
    assert redacted_url("postgres://app:pw@db:port/m") is None
    assert SecretStr("x")  # the type settings_for_log masks whole when it is no URL


# --- processes ------------------------------------------------------------------------------------


def _env(**variables: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("MILESGATE_")}
    env.pop("FORWARDED_ALLOW_IPS", None)
    return env | {"PYTHONPATH": str(ROOT), **SECRETS, **variables}


def _lines(log: Path) -> list[dict[str, Any]]:
    text = log.read_text(encoding="utf-8")
    assert "\x1b" not in text and "\\u001b" not in text and "color_message" not in text
    for secret in [*SECRETS.values(), DB_PASSWORD]:
        assert secret not in text
    json_lines = [line for line in text.splitlines() if line.startswith("{")]
    return [orjson.loads(line) for line in json_lines]


def _with_config(lines: list[dict[str, Any]], msg: str) -> list[dict[str, Any]]:
    found = [line for line in lines if line["msg"] == msg]
    for line in found:
        assert line["config"]["secret_key"] == MASKED
        assert line["config"]["metrics_token"] == MASKED
        assert line["config"]["federation_router_secret"] == MASKED
        assert line["config"]["travel_id_client_secret"] == MASKED
    return found


def test_serve_logs_json_and_its_configuration_once_started(tmp_path: Path) -> None:
    # given
    data_dir = tmp_path / "data"
    seed_embedded_db(data_dir)
    port = free_port()
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "gateway.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]

    # when: it serves
    with served_process(
        command,
        port=port,
        env=_env(MILESGATE_DATA_DIR=str(data_dir)),
        log=log,
        ready_path="/healthz",
        cwd=ROOT,
    ):
        wait_for_sync(
            lambda: any(line["msg"] == "started" for line in _lines(log)),
            timeout_s=30,
            what="the started line",
        )

    # then: uvicorn's own lines are JSON without colours, and both start lines carry the configuration
    lines = _lines(log)
    assert any(
        line["logger"].startswith("uvicorn") and "Started server process" in line["msg"] for line in lines
    )
    (starting,) = _with_config(lines, "serve starting")
    assert (starting["port"], starting["workers"]) == (port, 1)
    assert starting["config"]["data_dir"] == str(data_dir)
    (started,) = _with_config(lines, "started")
    assert started["pid"] == starting["pid"]


@pytest.fixture
def production_env(postgres_ready: str, tmp_path: Path) -> dict[str, str]:
    """PostgreSQL (migrated, with a password in its URL) and Redis, for production processes."""

    try:
        asyncio.run(clear_redis())
    except OSError as exc:
        require_service("Redis", exc)
    url = postgres_ready.replace("://postgres@", f"://postgres:{DB_PASSWORD}@", 1)
    assert DB_PASSWORD in url, "the test database URL names the postgres user"
    return _env(
        MILESGATE_ENV="production",
        MILESGATE_DATABASE_URL=url,
        MILESGATE_REDIS_URL=APP_REDIS_URL,
        MILESGATE_REDIS_PREFIX=REDIS_PREFIX,
        MILESGATE_DATA_DIR=str(tmp_path / "data"),
        **PRODUCTION_MAIL_ENV,
    )


def test_each_uvicorn_worker_logs_its_configuration(tmp_path: Path, production_env: dict[str, str]) -> None:
    # given
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(free_port()), "--workers", "2"]

    # when: both worker processes have started (each imports the whole service: slow on a busy machine)
    with _running(command, production_env, log) as process:
        wait_for_sync(
            lambda: process.poll() is None and sum(line["msg"] == "started" for line in _lines(log)) == 2,
            timeout_s=90,
            what="two started lines",
        )

    # then: the supervisor and each worker said how they are configured, each in its own JSON line
    lines = _lines(log)
    (starting,) = _with_config(lines, "serve starting")
    started = _with_config(lines, "started")
    assert len({line["pid"] for line in started} | {starting["pid"]}) == 3
    for line in [starting, *started]:
        assert line["config"]["database_url"].startswith(f"postgres://postgres:{MASKED}@")
        assert line["config"]["env"] == "production"


@contextmanager
def _running(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` in a process of its own, its output in ``log``; stopped with SIGTERM afterwards."""
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=deadline_s(30))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_worker_logs_its_configuration_and_that_it_started(
    tmp_path: Path, production_env: dict[str, str]
) -> None:
    # given
    log = tmp_path / "worker.log"
    command = [sys.executable, "-m", "gateway.cli", "worker", "--name", "log-test"]

    # when
    with _running(command, production_env, log) as process:
        wait_for_sync(
            lambda: process.poll() is None and any(line["msg"] == "worker started" for line in _lines(log)),
            timeout_s=60,
            what="the worker's started line",
        )

    # then
    lines = _lines(log)
    (starting,) = _with_config(lines, "worker starting")
    assert starting["consumer"] == "log-test"
    assert starting["config"]["database_url"].startswith(f"postgres://postgres:{MASKED}@")
    assert [line["consumer"] for line in lines if line["msg"] == "worker started"] == ["log-test"]
