"""Sending the notification outbox: the development file sink and the background sender loop.

Production would plug an SMTP or push provider in as the ``NotificationSender``; that is not built yet.
Development and the tests use ``FileSink``, which appends every sent message to ``<data_dir>/outbox.jsonl``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path
from typing import Any

import orjson

from gateway.workers.loops import MAX_BACKOFF_S, run_polling
from loyalty.notifications.models import Notification
from loyalty.notifications.service import NotificationSender, RenderedMessage, deliver_pending

log = logging.getLogger(__name__)

OUTBOX_FILE = "outbox.jsonl"
BATCH = 100


class FileSink:
    """Development sink: one JSON line per sent message (id, channel, recipient, subject, body, template,
    payload) in ``<data_dir>/outbox.jsonl``. The payload holds reset codes in clear text: this sink is for
    development and tests only; production sends through an SMTP or push provider instead."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / OUTBOX_FILE
        self._lock = asyncio.Lock()

    async def send(self, message: RenderedMessage, notification: Notification) -> None:
        line = orjson.dumps(
            {
                "id": notification.id,
                "channel": notification.channel.value,
                "recipient": notification.recipient,
                "subject": message.subject,
                "body": message.body,
                "template": notification.template,
                "payload": notification.payload,
            }
        )
        async with self._lock:
            await asyncio.to_thread(self._append, line + b"\n")

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open(
            "ab"
        ) as handle:  # one write per line: appends from other processes interleave whole
            handle.write(line)


def read_outbox(data_dir: Path) -> list[dict[str, Any]]:
    """Every message the ``FileSink`` in ``data_dir`` has sent, oldest first."""
    path = data_dir / OUTBOX_FILE
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


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
