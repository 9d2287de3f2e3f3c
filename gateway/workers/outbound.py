"""The outbound webhook sender loop: due deliveries signed and sent with the retry schedule."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx2
from tortoise.expressions import Q

from gateway.partner_hub import delivery_policy
from gateway.settings import Settings
from gateway.workers.loops import MAX_BACKOFF_S, run_polling
from loyalty.ports import RateLimiter
from partners.secret_box import SecretBox
from webhooks.outbound.models import DeliveryState, EndpointState, OutboundDelivery
from webhooks.outbound.policy import DeliveryPolicy
from webhooks.outbound.sender import OutboundSender, utc_now
from webhooks.outbound.transport import PerNameTransport

BATCH = 50


def http_client(policy: DeliveryPolicy) -> httpx2.AsyncClient:
    """No redirects, no proxies from the environment, no cookies kept between partners; a connection
    pool per partner host name (``PerNameTransport``: a connection is reused for its own name only)."""

    def pool() -> httpx2.AsyncBaseTransport:
        limits = httpx2.Limits(max_connections=20, max_keepalive_connections=4)
        return httpx2.AsyncHTTPTransport(trust_env=False, limits=limits)

    return httpx2.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=policy.timeout_s,
        transport=PerNameTransport(pool),
    )


async def next_due_in(now: dt.datetime) -> float | None:
    """Seconds until the next pending, unleased delivery to an enabled endpoint is due (0 if one is due
    now); None if there is none. A lease left by a sender that died runs out unannounced: the safety sweep
    finds its delivery."""
    due = (
        await OutboundDelivery.filter(state=DeliveryState.PENDING, endpoint__state=EndpointState.ENABLED)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .order_by("next_attempt_at")
        .first()
        .values_list("next_attempt_at", flat=True)
    )
    if not isinstance(due, dt.datetime):
        return None
    return max((due - now).total_seconds(), 0.0)


async def run_outbound_sender(
    settings: Settings,
    box: SecretBox,
    rate_limiter: RateLimiter,
    stop: asyncio.Event,
    every_s: float = 0.5,
    *,
    max_backoff_s: float = MAX_BACKOFF_S,
    wake: asyncio.Event | None = None,
) -> None:
    """Send due outbound deliveries until ``stop`` is set (stop it with ``webhooks.worker.stop_worker``).

    With ``wake`` (set when deliveries are queued), the loop sleeps until then, until the next retry is
    due, or for ``every_s`` at most (the safety sweep); see ``gateway.workers.loops.run_polling``."""
    policy = delivery_policy(settings)
    async with http_client(policy) as client:
        sender = OutboundSender(box=box, policy=policy, rate_limiter=rate_limiter, client=client, batch=BATCH)

        async def due_in() -> float | None:
            return await next_due_in(utc_now())

        await run_polling(
            "outbound sender",
            sender.run_once,
            stop,
            batch=BATCH,
            every_s=every_s,
            max_backoff_s=max_backoff_s,
            wake=wake,
            due_in=due_in if wake is not None else None,
        )
