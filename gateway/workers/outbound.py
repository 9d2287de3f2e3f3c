"""The outbound webhook sender loop: due deliveries signed and sent with the retry schedule."""

from __future__ import annotations

import asyncio

import httpx2

from gateway.partner_hub import delivery_policy
from gateway.settings import Settings
from gateway.workers.loops import MAX_BACKOFF_S, run_polling
from loyalty.ports import RateLimiter
from partners.secret_box import SecretBox
from webhooks.outbound.policy import DeliveryPolicy
from webhooks.outbound.sender import OutboundSender

BATCH = 50


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
