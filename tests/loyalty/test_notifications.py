"""The notification outbox: templates per language, delivery with retries, sealed secrets, the file sink, the
sender loop."""

from __future__ import annotations

import asyncio
import datetime as dt
import stat
from pathlib import Path
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from gateway.notification_secrets import outbox_box
from gateway.settings import Settings
from gateway.workers import loops as gateway_loops
from gateway.workers import notifications as gateway_notifications
from gateway.workers.notifications import (
    OUTBOX_FILE,
    FileSink,
    OutboxUnreadable,
    read_outbox,
    run_notification_sender,
)
from loyalty.notifications import service as service_module
from loyalty.notifications.models import Channel, Notification, NotificationState
from loyalty.notifications.service import (
    MAX_ATTEMPTS,
    REDACTED,
    RETRY_AFTER,
    SEALED_PREFIX,
    PermanentDeliveryError,
    RenderedMessage,
    TemplateError,
    deliver_pending,
    enqueue_notification,
    load_templates,
    open_payload,
    render,
)
from partners.secret_box import SecretBox
from tests.support import deadline_s, wait_for
from webhooks.worker import stop_worker

RESET_PAYLOAD = {"given_name": "Grace", "token": "s3cr3t-code", "expires_minutes": 30}
BOX = SecretBox(b"k" * 32)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sink(settings: Settings) -> FileSink:
    return FileSink(settings.data_dir, outbox_box(settings))


def _outbox(settings: Settings) -> list[dict[str, Any]]:
    return read_outbox(settings.data_dir, outbox_box(settings))


async def _enqueue(template: str = "pin_reset", payload: dict[str, Any] | None = None) -> Notification:
    return await enqueue_notification(
        account_id=7,
        channel=Channel.EMAIL,
        recipient="grace@example.com",
        template=template,
        language="en",
        payload=payload or RESET_PAYLOAD,
    )


class FailingSender:
    def __init__(self) -> None:
        self.calls = 0

    async def send(self, message: RenderedMessage, notification: Notification) -> None:
        self.calls += 1
        raise ConnectionError("mail relay unreachable")


def test_every_template_speaks_english_and_german() -> None:
    templates = load_templates()
    for name in ("pin_reset", "password_reset", "user_id_reminder", "miles_credited", "status_reached"):
        assert {"en", "de"} <= set(templates[name]), name


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("en", "Your Miles & More PIN reset"),
        ("de", "Ihre neue Miles & More PIN"),
        ("de-CH", "Ihre neue Miles & More PIN"),
        ("DE_at", "Ihre neue Miles & More PIN"),
        ("fr", "Your Miles & More PIN reset"),
        ("", "Your Miles & More PIN reset"),
    ],
)
def test_render_uses_the_members_language_and_falls_back_to_english(language: str, subject: str) -> None:
    message = render("pin_reset", language, RESET_PAYLOAD)
    assert message.subject == subject
    assert "s3cr3t-code" in message.body
    assert "Grace" in message.body
    assert "30" in message.body


def test_render_refuses_a_payload_without_a_placeholder() -> None:
    with pytest.raises(TemplateError, match="expires_minutes"):
        render("pin_reset", "de", {"given_name": "Grace", "token": "x"})


def test_render_refuses_an_unknown_template() -> None:
    with pytest.raises(TemplateError, match="unknown template"):
        render("no_such_template", "en", {})


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"de": '[t]\nsubject = "Hallo"\nbody = "{name}"\n'}, "no en.toml"),
        (
            {"en": '[t]\nsubject = "Hi"\nbody = "{name}"\n', "de": '[u]\nsubject = "Hallo"\nbody = "x"\n'},
            "'u' has no 'en' version",
        ),
        (
            {
                "en": '[t]\nsubject = "Hi"\nbody = "{name}"\n',
                "de": '[t]\nsubject = "Hallo"\nbody = "{nom}"\n',
            },
            "different placeholders in 'de'",
        ),
        ({"en": '[t]\nsubject = "Hi"\nbody = "{name.__class__}"\n'}, "plain name"),
        ({"en": '[t]\nsubject = "Hi"\nbody = "{0}"\n'}, "plain name"),
        ({"en": '[t]\nsubject = "Hi"\n'}, "needs a subject and a body"),
    ],
)
def test_malformed_templates_are_refused_when_loaded(
    tmp_path: Path, files: dict[str, str], reason: str
) -> None:
    for language, text in files.items():
        (tmp_path / f"{language}.toml").write_text(text, encoding="utf-8")
    with pytest.raises(TemplateError, match=reason):
        load_templates(tmp_path)


def test_templates_are_one_file_per_language_and_a_language_may_lack_some(tmp_path: Path) -> None:
    (tmp_path / "en.toml").write_text('[a]\nsubject = "A"\nbody = "{x}"\n[b]\nsubject = "B"\nbody = ""\n')
    (tmp_path / "fr.toml").write_text('[a]\nsubject = "Un"\nbody = "{x} !"\n')
    templates = load_templates(tmp_path)
    assert set(templates["a"]) == {"en", "fr"}
    assert set(templates["b"]) == {"en"}


def test_the_shipped_templates_are_files_per_language_inside_the_package() -> None:
    directory = Path(service_module.__file__).with_name("templates")
    assert {path.name for path in directory.glob("*.toml")} >= {"en.toml", "de.toml"}
    assert set(load_templates(directory)) == set(load_templates())


async def test_enqueue_refuses_a_payload_the_template_cannot_use(db: Settings) -> None:
    with pytest.raises(TemplateError):
        await _enqueue(payload={"given_name": "Grace"})
    assert await Notification.all().count() == 0


async def test_a_notification_rolls_back_with_the_change_it_reports(db: Settings) -> None:
    async def change_that_fails() -> None:
        async with in_transaction():
            await _enqueue()
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await change_that_fails()
    assert await Notification.all().count() == 0


async def test_deliver_pending_sends_marks_sent_and_writes_the_sink(db: Settings, tmp_path: Path) -> None:
    # given
    first = await _enqueue()
    second = await _enqueue("user_id_reminder", {"given_name": "Grace", "user_id": "grace.h"})
    sink, now = _sink(db), _now()
    # when
    sent = await deliver_pending(sender=sink, now=now)
    # then
    assert sent == 2
    lines = _outbox(db)
    assert [line["id"] for line in lines] == [first.id, second.id]
    assert lines[0]["recipient"] == "grace@example.com"
    assert lines[0]["channel"] == "EMAIL"
    assert lines[0]["template"] == "pin_reset"
    assert lines[0]["subject"] == "Your Miles & More PIN reset"
    assert "s3cr3t-code" in lines[0]["body"]
    assert lines[0]["payload"]["token"] == "s3cr3t-code"
    assert "grace.h" in lines[1]["body"]
    row = await Notification.get(id=first.id)
    assert (row.state, row.attempts, row.sent_at) == (NotificationState.SENT, 1, now)
    assert row.payload == {**RESET_PAYLOAD, "token": REDACTED}  # the code does not stay in the table
    assert await deliver_pending(sender=sink, now=now) == 0
    assert len(_outbox(db)) == 2


async def test_deliver_pending_honours_the_limit(db: Settings, tmp_path: Path) -> None:
    for _ in range(3):
        await _enqueue()
    sink = _sink(db)
    assert await deliver_pending(sender=sink, limit=2, now=_now()) == 2
    assert await deliver_pending(sender=sink, limit=2, now=_now()) == 1


async def test_a_failing_send_is_retried_on_schedule_then_failed(db: Settings, tmp_path: Path) -> None:
    # given
    row = await _enqueue()
    sender = FailingSender()
    # when / then: each retry waits for its slot in RETRY_AFTER, counted from creation
    for attempt in range(1, MAX_ATTEMPTS + 1):
        due = row.created_at + RETRY_AFTER[attempt - 1]
        assert await deliver_pending(sender=sender, now=due) == 0
        assert await deliver_pending(sender=sender, now=due) == 0  # not due again yet: not tried
        row = await Notification.get(id=row.id)
        assert row.attempts == attempt
        final = attempt == MAX_ATTEMPTS
        assert row.state is (NotificationState.FAILED if final else NotificationState.PENDING)
        assert row.payload["token"] == REDACTED if final else row.payload["token"].startswith(SEALED_PREFIX)
    assert sender.calls == MAX_ATTEMPTS
    assert await deliver_pending(sender=sender, now=_now() + dt.timedelta(days=1)) == 0
    assert sender.calls == MAX_ATTEMPTS


async def test_a_row_that_cannot_be_rendered_fails_at_once(db: Settings, tmp_path: Path) -> None:
    row = await _enqueue()
    await Notification.filter(id=row.id).update(template="gone_template")
    assert await deliver_pending(sender=_sink(db), now=_now()) == 0
    row = await Notification.get(id=row.id)
    assert (row.state, row.attempts) == (NotificationState.FAILED, 1)
    assert _outbox(db) == []


async def test_the_sender_loop_delivers_and_stops_when_asked(db: Settings, tmp_path: Path) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run_notification_sender(_sink(db), stop, every_s=0.02))
    await _enqueue()
    await wait_for(lambda: _outbox(db), timeout_s=5, interval_s=0.02, what="the loop sends")
    assert len(_outbox(db)) == 1
    await stop_worker(task, stop, grace_s=deadline_s(2.0))
    assert task.done()
    assert not task.cancelled()


async def test_the_sender_loop_backs_off_on_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stop = asyncio.Event()
    pauses: list[float] = []

    calls: list[int] = []

    async def broken(**_: Any) -> int:
        calls.append(1)
        if len(calls) <= 3:
            raise OSError("database unreachable")
        return 0

    async def pause(event: asyncio.Event, seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 5:
            stop.set()

    monkeypatch.setattr(gateway_notifications, "deliver_pending", broken)
    monkeypatch.setattr(gateway_loops, "pause", pause)
    await asyncio.wait_for(
        run_notification_sender(FileSink(tmp_path, BOX), stop, every_s=1.0, max_backoff_s=5.0),
        timeout=deadline_s(2.0),
    )
    # doubling and bounded while it fails, back to the normal pace once it works again
    assert pauses == [2.0, 4.0, 5.0, 1.0, 1.0]


async def test_a_cancellation_hidden_by_a_library_error_still_stops_the_loop(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started = asyncio.Event()

    async def swallowing(**_: Any) -> int:
        started.set()
        try:
            await asyncio.sleep(10)  # stands for a slow library call: the test cancels it long before
        except asyncio.CancelledError:
            raise ConnectionError("connection closed") from None  # what some drivers do
        return 0

    monkeypatch.setattr(gateway_notifications, "deliver_pending", swallowing)
    task = asyncio.create_task(run_notification_sender(FileSink(tmp_path, BOX), asyncio.Event()))
    await started.wait()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=deadline_s(2.0))
    assert done == {task}
    assert task.cancelled()


@pytest.mark.postgres
async def test_parallel_senders_send_each_message_once(pg_db: Settings) -> None:
    # given
    for _ in range(20):
        await _enqueue()
    sent_ids: list[int] = []

    class SlowSender:
        async def send(self, message: RenderedMessage, notification: Notification) -> None:
            await asyncio.sleep(0.01)  # deliberate: hold the row lock while the others look for work
            sent_ids.append(notification.id)

    # when
    counts = await asyncio.gather(*[deliver_pending(sender=SlowSender(), now=_now()) for _ in range(4)])
    # then
    assert sum(counts) == 20
    assert sorted(sent_ids) == sorted(set(sent_ids))
    assert len(sent_ids) == 20
    assert max(counts) < 20  # the work was shared, not waited for
    assert await Notification.filter(state=NotificationState.SENT).count() == 20


async def test_a_reset_code_is_stored_sealed_and_blanked_once_sent(db: Settings) -> None:
    # given
    row = await _enqueue()
    # then: neither the model nor the raw column holds the code in clear
    stored = await Notification.get(id=row.id)
    assert stored.payload["token"].startswith(SEALED_PREFIX)
    assert stored.payload["given_name"] == "Grace"
    raw = await Notification.filter(id=row.id).values_list("payload", flat=True)
    assert "s3cr3t-code" not in str(raw)
    assert open_payload(stored) == RESET_PAYLOAD
    # when
    assert await deliver_pending(sender=_sink(db), now=_now()) == 1
    # then: the message carried the code, the row no longer holds it in any form
    assert "s3cr3t-code" in _outbox(db)[0]["body"]
    assert (await Notification.get(id=row.id)).payload["token"] == REDACTED


async def test_a_sealed_secret_does_not_open_for_another_message(db: Settings) -> None:
    row = await _enqueue()
    await Notification.filter(id=row.id).update(recipient="mallory@example.com")
    assert await deliver_pending(sender=_sink(db), now=_now()) == 0
    failed = await Notification.get(id=row.id)
    assert (failed.state, failed.attempts) == (NotificationState.FAILED, 1)
    assert _outbox(db) == []


async def test_a_permanent_refusal_fails_the_row_at_once(db: Settings) -> None:
    class RefusingSender:
        calls = 0

        async def send(self, message: RenderedMessage, notification: Notification) -> None:
            RefusingSender.calls += 1
            raise PermanentDeliveryError("550 no such mailbox")

    row = await _enqueue()
    assert await deliver_pending(sender=RefusingSender(), now=_now()) == 0
    failed = await Notification.get(id=row.id)
    assert (failed.state, failed.attempts, failed.payload["token"]) == (NotificationState.FAILED, 1, REDACTED)
    assert await deliver_pending(sender=RefusingSender(), now=_now() + dt.timedelta(days=1)) == 0
    assert RefusingSender.calls == 1


async def test_the_outbox_file_is_private_and_holds_no_code_in_clear(db: Settings) -> None:
    # given: a file an older version left world-readable
    path = db.data_dir / OUTBOX_FILE
    path.write_bytes(b"")
    path.chmod(0o644)
    await _enqueue()
    # when
    assert await deliver_pending(sender=_sink(db), now=_now()) == 1
    # then
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    assert b"s3cr3t-code" not in raw
    assert b"grace@example.com" not in raw
    assert b"Grace" not in raw
    [line] = _outbox(db)
    assert line["payload"]["token"] == "s3cr3t-code"
    assert (line["template"], line["language"], line["recipient"]) == ("pin_reset", "en", "grace@example.com")
    with pytest.raises(OutboxUnreadable, match="line 1 does not open"):
        read_outbox(db.data_dir, SecretBox(b"x" * 32))


async def test_a_new_outbox_file_is_created_private(db: Settings) -> None:
    await _enqueue()
    assert await deliver_pending(sender=_sink(db), now=_now()) == 1
    assert stat.S_IMODE((db.data_dir / OUTBOX_FILE).stat().st_mode) == 0o600
