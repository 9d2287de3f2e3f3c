"""The partner webhook hub's background work from settings: inbox worker options, the outbound sender."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx2

from gateway.loops import MAX_BACKOFF_S, run_polling
from gateway.settings import Settings
from loyalty.ports import RateLimiter
from partners.secret_box import SecretBox
from webhooks.outbound.policy import DeliveryPolicy
from webhooks.outbound.sender import OutboundSender
from webhooks.worker import InboxPolicy

BATCH = 50


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
        "lease_ms": settings.inbox_lease_ms,
        "claim_idle_ms": settings.inbox_claim_idle_ms,
        "sweep_every_s": settings.inbox_sweep_every_s,
        "sweep_older_than_s": settings.inbox_sweep_older_than_s,
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


def http_client(policy: DeliveryPolicy) -> httpx2.AsyncClient:
    """No redirects, no proxies from the environment, no cookies kept between partners."""
    return httpx2.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=policy.timeout_s,
        limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20),
    )


async def run_outbound_sender(
    settings: Settings,
    box: SecretBox,
    rate_limiter: RateLimiter,
    stop: asyncio.Event,
    every_s: float = 0.5,
    *,
    max_backoff_s: float = MAX_BACKOFF_S,
) -> None:
    """Send due outbound deliveries until ``stop`` is set (stop it with ``webhooks.worker.stop_worker``)."""
    policy = delivery_policy(settings)
    async with http_client(policy) as client:
        sender = OutboundSender(box=box, policy=policy, rate_limiter=rate_limiter, client=client, batch=BATCH)
        await run_polling(
            "outbound sender",
            sender.run_once,
            stop,
            batch=BATCH,
            every_s=every_s,
            max_backoff_s=max_backoff_s,
        )
