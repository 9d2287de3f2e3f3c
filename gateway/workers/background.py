"""Every long-running loop of a worker process (``milesgate worker``), or of ``serve`` when embedded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from gateway.backends.memory import Wakeups
from gateway.metrics import BacklogMetrics
from gateway.partner_hub import inbox_worker_options
from gateway.settings import Settings
from gateway.workers.event_relay import run_event_relay
from gateway.workers.listener import EVENTS, NOTIFICATIONS, OUTBOUND, change_listener
from gateway.workers.metrics import run_backlog_metrics
from gateway.workers.notifications import notification_sender, run_notification_sender
from gateway.workers.outbound import run_outbound_sender
from gateway.workers.sweepers import run_expired_code_sweeper
from loyalty.ports import Backends
from loyalty.rules import ProgrammeRules
from partners.secret_box import SecretBox
from webhooks.worker import InboxWorker

Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
"""A loop, started with the event that stops it."""


def background_loops(
    settings: Settings,
    ports: Backends,
    *,
    box: SecretBox,
    rules: ProgrammeRules,
    consumer: str,
    backlog: BacklogMetrics | None = None,
) -> dict[str, Loop]:
    """The inbox worker (as ``consumer``), the notification sender, the domain-event relay, the
    outbound webhook sender and the sweeper of expired e-mailed codes, by name, and the change listener that wakes the last three when their rows
    are written (each also looks every ``worker_sweep_s`` seconds); and the reader of the ``backlog`` gauges
    when given."""
    inbox = InboxWorker(queue=ports.queue, rules=rules, consumer=consumer, **inbox_worker_options(settings))
    wakeups = Wakeups()
    sweep_s, codes_every_s = settings.worker_sweep_s, settings.expired_codes_sweep_s
    notified, relay_woken, outbound_woken = (
        wakeups.waiter(name) for name in (NOTIFICATIONS, EVENTS, OUTBOUND)
    )
    loops: dict[str, Loop] = {
        "inbox-worker": lambda stop: inbox.run(stop=stop),
        "change-listener": change_listener(settings, wakeups).run,
        # SMTP, or in development the sealed outbox file (MILESGATE_NOTIFICATION_SINK).
        "notification-sender": lambda stop: run_notification_sender(
            notification_sender(settings), stop, sweep_s, wake=notified
        ),
        "event-relay": lambda stop: run_event_relay(
            ports.pubsub, stop, sweep_s, rules=rules, wake=relay_woken
        ),
        "outbound-sender": lambda stop: run_outbound_sender(
            settings, box, ports.rate_limiter, stop, sweep_s, wake=outbound_woken
        ),
        "expired-code-sweeper": lambda stop: run_expired_code_sweeper(stop, codes_every_s),
    }
    if backlog is not None:
        gauges, every_s = backlog, settings.worker_metrics_interval_s
        loops["backlog-metrics"] = lambda stop: run_backlog_metrics(gauges, stop, every_s=every_s)
    return loops
