"""The partner webhook hub's policies from settings: the inbox worker's and the outbound deliveries'."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.settings import Settings
from webhooks.outbound.policy import DeliveryPolicy
from webhooks.worker import InboxPolicy


def inbox_policy(settings: Settings) -> InboxPolicy:
    return InboxPolicy(
        partitions=settings.inbox_partitions,
        max_attempts=settings.inbox_max_attempts,
        retry_base_s=settings.inbox_retry_base_s,
    )


def inbox_worker_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``webhooks.worker.InboxWorker`` from the settings."""
    return {
        "policy": inbox_policy(settings),
        "batch": settings.inbox_batch,
        "batches_per_lease": settings.inbox_batches_per_lease,
        "lease_ms": settings.inbox_lease_ms,
        "lease_keep_max_s": settings.inbox_lease_keep_max_s,
        "claim_idle_ms": settings.inbox_claim_idle_ms,
        "sweep_every_s": settings.inbox_sweep_every_s,
        "sweep_older_than_s": settings.inbox_sweep_older_than_s,
        "unavailable_backoff_max_s": settings.redis_backoff_max_s,
    }


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    allow_http = settings.outbound_allow_http
    return DeliveryPolicy(
        schedule_s=settings.outbound_schedule_s(),
        timeout_s=settings.outbound_timeout_s,
        disable_after=dt.timedelta(days=settings.outbound_disable_after_days),
        rate_limit_per_s=settings.outbound_rate_limit_per_s,
        allowed_hosts=settings.outbound_hosts,
        allow_http=(not settings.is_production) if allow_http is None else allow_http,
    )
