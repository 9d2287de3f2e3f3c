"""Whether the running asyncio task is being cancelled: one answer for every long-running loop.

Some libraries turn a cancellation into another error (a Redis call ending in ``ConnectionError``), and an
``await`` on a cancelled helper task ends in ``CancelledError`` whether or not the caller itself was told
to stop. A loop that catches either asks this before it carries on, so a stop is never swallowed. It lives
at the bottom layer because both sides of the service run such loops: ``gateway/workers`` and the inbox
worker in ``webhooks``, which may not import ``gateway``.
"""

from __future__ import annotations

import asyncio


def being_cancelled() -> bool:
    """True when this task is being cancelled (some libraries turn a cancellation into another error)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
