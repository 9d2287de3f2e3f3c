"""Condition waits that hand back what they waited for, on top of ``tests.support.wait_for``.

Their deadlines stretch with ``MILESGATE_TEST_TIMEOUT_SCALE`` like every other wait for another task or
process; a passing test goes on as soon as the value is there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tests.support import wait_for
from webhooks.models import InboxState, PartnerInbox

T = TypeVar("T")


async def eventually(
    fetch: Callable[[], Awaitable[T]],
    ready: Callable[[T], object] = bool,
    *,
    timeout_s: float = 10.0,
    interval_s: float = 0.05,
    what: str = "the value",
) -> T:
    """Fetch (async) until ``ready(value)`` holds and return that value; fail after the stretched deadline."""
    latest: list[T] = []

    async def check() -> bool:
        value = await fetch()
        latest[:] = [value]
        return bool(ready(value))

    await wait_for(check, timeout_s=timeout_s, interval_s=interval_s, what=what)
    return latest[0]


async def settled_inbox_row(
    inbox_id: int, *, timeout_s: float = 10.0, interval_s: float = 0.02
) -> PartnerInbox:
    """The inbox row once a worker is done with it (no longer pending)."""
    return await eventually(
        lambda: PartnerInbox.get(id=inbox_id),
        lambda row: row.state is not InboxState.PENDING,
        timeout_s=timeout_s,
        interval_s=interval_s,
        what=f"inbox row {inbox_id} settles",
    )
