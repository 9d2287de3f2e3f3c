"""``milesgate mail outbox``: the development outbox file, sealed on disk, opened for a developer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.notification_secrets import outbox_box
from gateway.settings import Settings
from gateway.workers.notifications import OUTBOX_FILE, FileSink
from loyalty.notifications.models import Channel, Notification
from loyalty.notifications.service import RenderedMessage

runner = CliRunner()
KEY = "k" * 40


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"MILESGATE_DATA_DIR": str(tmp_path), "MILESGATE_SECRET_KEY": KEY, "COLUMNS": "200"}


def _write(tmp_path: Path, key: str = KEY) -> None:
    sink = FileSink(tmp_path, outbox_box(Settings(data_dir=tmp_path, secret_key=key)))
    for number, template in enumerate(("pin_reset", "user_id_reminder"), start=1):
        row = Notification(
            id=number,
            channel=Channel.EMAIL,
            recipient="ada@example.com",
            template=template,
            language="de",
            payload={"token": f"code-{number}"},
        )
        message = RenderedMessage(f"Betreff [[{number}]]", f"Ihr Code: code-{number}")
        asyncio.run(sink.send(message, row))


def test_the_outbox_is_shown_opened_while_the_file_holds_it_sealed(
    env: dict[str, str], tmp_path: Path
) -> None:
    # given
    _write(tmp_path)
    assert b"code-1" not in (tmp_path / OUTBOX_FILE).read_bytes()
    # when
    shown = runner.invoke(app, ["mail", "outbox"], env=env)
    only_resets = runner.invoke(app, ["mail", "outbox", "--template", "pin_reset", "--json"], env=env)
    # then
    assert shown.exit_code == 0, shown.output
    assert "Ihr Code: code-1" in shown.stdout and "Ihr Code: code-2" in shown.stdout
    assert "Subject: Betreff [[1]]" in shown.stdout  # printed as it is, no markup
    assert "To: ada@example.com" in shown.stdout
    assert only_resets.exit_code == 0, only_resets.output
    [line] = only_resets.stdout.splitlines()
    assert orjson.loads(line)["payload"] == {"token": "code-1"}


def test_an_outbox_of_another_key_is_refused_with_a_code(env: dict[str, str], tmp_path: Path) -> None:
    _write(tmp_path, key="o" * 40)
    result = runner.invoke(app, ["mail", "outbox"], env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith("OUTBOX_UNREADABLE: outbox.jsonl line 1 does not open with this key")
    assert "code-1" not in result.output


def test_no_outbox_yet(env: dict[str, str], tmp_path: Path) -> None:
    result = runner.invoke(app, ["mail", "outbox"], env=env)
    assert result.exit_code == 0
    assert "no messages" in result.stdout
