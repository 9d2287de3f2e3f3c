"""One background polling loop for the outbox-style workers (notification sender, event relay).

A step handles up to ``batch`` rows and returns how many it handled. A full batch is followed at once
by the next; otherwise the loop pauses ``every_s`` seconds. An error doubles the pause, up to
``max_backoff_s``. Stop it by setting ``stop`` (``webhooks.worker.stop_worker`` does that with a grace).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0


def being_cancelled() -> bool:
    """True when this task is being cancelled (some libraries turn a cancellation into another error)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def run_polling(
    name: str,
    step: Callable[[], Awaitable[int]],
    stop: asyncio.Event,
    *,
    batch: int,
    every_s: float = 1.0,
    max_backoff_s: float = MAX_BACKOFF_S,
) -> None:
    failures = 0
    while not stop.is_set():
        handled = 0
        try:
            handled = await step()
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception:
            if being_cancelled():
                raise asyncio.CancelledError from None
            failures += 1
            log.exception("%s error; backing off", name)
        if handled >= batch:
            await asyncio.sleep(0)
        else:
            await pause(stop, min(every_s * 2**failures, max_backoff_s))
