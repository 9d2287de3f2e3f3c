"""One background loop for the outbox-style workers (notification sender, event relay, outbound sender).

A step handles up to ``batch`` rows and returns how many it handled. A full batch is followed at once
by the next. Otherwise the loop waits:

- with a ``wake`` event (the worker's loops): until that event is set, which the LISTEN connection or
  SQLite's in-process triggers do when rows are written (``gateway.workers.listener``); or until the
  next known due time that ``due_in`` reports (a scheduled retry); or for ``every_s`` seconds at most,
  a slow safety sweep for anything no wake-up announced. An idle worker so makes a few queries per sweep
  instead of several a second. The event is cleared before each round, so rows written while a round
  runs wake the next one.
- without one: ``every_s`` seconds (plain polling).

An error pauses the loop ``RETRY_S`` seconds, doubling each time, up to ``max_backoff_s``; wake-ups do
not cut that pause short. Stop it by setting ``stop`` (``webhooks.worker.stop_worker`` does that with a
grace).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from loyalty.cancellation import being_cancelled

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0
RETRY_S = 1.0
"""The first pause after an error, and the relay's pause before it tries a failed event again."""
MIN_DUE_WAIT_S = 0.05
"""The shortest wait for a due time, so rows another process holds for a moment are not spun on."""

DueIn = Callable[[], Awaitable[float | None]]
"""Seconds until the loop's next scheduled work (0: due now); None: none is scheduled."""


async def pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def wait_for_work(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Return when ``wake`` or ``stop`` is set, or after ``seconds``."""
    if wake.is_set() or stop.is_set():
        return
    waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())}
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def run_polling(
    name: str,
    step: Callable[[], Awaitable[int]],
    stop: asyncio.Event,
    *,
    batch: int,
    every_s: float = 1.0,
    max_backoff_s: float = MAX_BACKOFF_S,
    wake: asyncio.Event | None = None,
    due_in: DueIn | None = None,
) -> None:
    failures = 0
    while not stop.is_set():
        if wake is not None:
            wake.clear()
        handled = 0
        wait_s = every_s
        try:
            handled = await step()
            if handled < batch and due_in is not None:
                due = await due_in()
                if due is not None:
                    wait_s = min(every_s, max(due, MIN_DUE_WAIT_S))
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception:
            if being_cancelled():
                raise asyncio.CancelledError from None
            failures += 1
            log.exception("%s error; backing off", name)
        if failures:
            await pause(stop, min(RETRY_S * 2**failures, max_backoff_s))
        elif handled >= batch:
            await asyncio.sleep(0)
        elif wake is None:
            await pause(stop, wait_s)
        else:
            await wait_for_work(stop, wake, wait_s)
