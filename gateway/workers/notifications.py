"""Sending the notification outbox: the senders the settings choose, the development file sink, the loop.

Production sends e-mail over SMTP (``gateway.workers.smtp.SmtpSender``) and SMS codes through Twilio
(``gateway.workers.sms.TwilioSender``). Development may use ``FileSink``
instead, which appends every sent message to ``<data_dir>/outbox.jsonl`` (mode 0600), each line sealed with a
key derived from the service's secret key, so no reset code is written to disk in clear; ``read_outbox``
(and ``milesgate mail outbox``) open it for developers and tests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from gateway.notification_secrets import outbox_box
from gateway.settings import NotificationSink, Settings, SmsProvider
from gateway.workers.loops import MAX_BACKOFF_S, run_polling
from gateway.workers.sms import TwilioSender
from gateway.workers.smtp import SmtpSender
from loyalty.notifications.models import Channel, Notification
from loyalty.notifications.service import (
    NotificationSender,
    PermanentDeliveryError,
    RenderedMessage,
    deliver_pending,
    open_payload,
)
from partners.secret_box import SecretBox, SecretBoxError

log = logging.getLogger(__name__)

OUTBOX_FILE = "outbox.jsonl"
OUTBOX_MODE = 0o600
OUTBOX_CONTEXT = b"milesgate development outbox line"
BATCH = 100


class OutboxUnreadable(Exception):
    """A line of the outbox file does not open with this key (another MILESGATE_SECRET_KEY wrote it)."""


def notification_sender(settings: Settings) -> NotificationSender:
    """The senders the settings choose, by channel: e-mail over SMTP (or in development the file sink), SMS
    through Twilio (or in development the same file sink; with no provider, SMS fail at once). The settings
    refuse the file sink in production."""
    sink = FileSink(settings.data_dir, outbox_box(settings))
    mail: NotificationSender = sink
    if settings.resolved_notification_sink is NotificationSink.SMTP:
        mail = SmtpSender(settings)
    sms: NotificationSender | None = None
    if settings.resolved_sms_provider is SmsProvider.TWILIO:
        sms = TwilioSender(settings)
    elif settings.resolved_sms_provider is SmsProvider.FILE:
        sms = sink
    return ChannelSenders(default=mail, by_channel={Channel.SMS: sms})


class ChannelSenders:
    """One ``NotificationSender`` per channel: a channel listed with None has no provider, and its
    messages fail at once; channels not listed go to ``default``."""

    def __init__(
        self, *, default: NotificationSender, by_channel: Mapping[Channel, NotificationSender | None]
    ) -> None:
        self.default = default
        self.by_channel = dict(by_channel)

    async def send(self, message: RenderedMessage, notification: Notification) -> None:
        if notification.channel not in self.by_channel:
            await self.default.send(message, notification)
            return
        sender = self.by_channel[notification.channel]
        if sender is None:
            raise PermanentDeliveryError(f"no provider is configured for {notification.channel.value}")
        await sender.send(message, notification)


class FileSink:
    """Development sink: one line per sent message in ``<data_dir>/outbox.jsonl``. Only the id, channel,
    template and language are in clear; recipient, subject, body and payload (with its reset codes) are
    sealed in ``sealed``. The file is created with mode 0600, and an older file is narrowed to it."""

    def __init__(self, data_dir: Path, box: SecretBox) -> None:
        self.path = data_dir / OUTBOX_FILE
        self._box = box
        self._lock = asyncio.Lock()

    async def send(self, message: RenderedMessage, notification: Notification) -> None:
        secret = orjson.dumps(
            {
                "recipient": notification.recipient,
                "subject": message.subject,
                "body": message.body,
                "payload": open_payload(notification),
            }
        )
        line = orjson.dumps(
            {
                "id": notification.id,
                "channel": notification.channel.value,
                "template": notification.template,
                "language": notification.language,
                "sealed": self._box.seal_bound(secret.decode(), OUTBOX_CONTEXT),
            }
        )
        async with self._lock:
            await asyncio.to_thread(self._append, line + b"\n")

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, OUTBOX_MODE)
        try:
            if os.fstat(fd).st_mode & 0o777 != OUTBOX_MODE:
                os.fchmod(fd, OUTBOX_MODE)  # a file left by an older version was world-readable
            os.write(fd, line)  # one write per line: appends from other processes interleave whole
        finally:
            os.close(fd)


def read_outbox(data_dir: Path, box: SecretBox) -> list[dict[str, Any]]:
    """Every message the ``FileSink`` in ``data_dir`` has sent, oldest first, opened: id, channel,
    template, language, recipient, subject, body and payload."""
    path = data_dir / OUTBOX_FILE
    if not path.exists():
        return []
    messages = []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        if not raw.strip():
            continue
        line = orjson.loads(raw)
        sealed = line.pop("sealed", None)
        if not isinstance(sealed, str):
            raise OutboxUnreadable(f"{path.name} line {number} is not sealed (written by an older version)")
        try:
            line |= orjson.loads(box.open_bound(sealed, OUTBOX_CONTEXT))
        except (SecretBoxError, orjson.JSONDecodeError) as exc:
            raise OutboxUnreadable(f"{path.name} line {number} does not open with this key") from exc
        messages.append(line)
    return messages


async def run_notification_sender(
    sender: NotificationSender,
    stop: asyncio.Event,
    every_s: float = 1.0,
    *,
    max_backoff_s: float = MAX_BACKOFF_S,
    wake: asyncio.Event | None = None,
) -> None:
    """Deliver the outbox every ``every_s`` seconds until ``stop`` is set (stop it with
    ``webhooks.worker.stop_worker``); with ``wake`` (set when messages are written), as soon as that is set
    and every ``every_s`` at most. See ``gateway.workers.loops.run_polling`` for batching and backoff."""

    async def step() -> int:
        return await deliver_pending(sender=sender, limit=BATCH, now=dt.datetime.now(dt.UTC))

    await run_polling(
        "notification sender",
        step,
        stop,
        batch=BATCH,
        every_s=every_s,
        max_backoff_s=max_backoff_s,
        wake=wake,
    )
