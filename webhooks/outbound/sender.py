"""Sending outbound deliveries: sign, POST, record the attempt, schedule the next one.

A sender claims due deliveries with ``FOR UPDATE SKIP LOCKED`` and a lease (``leased_until``) in a short
transaction, sends them outside any transaction (at most ``timeout_s`` each, in parallel) and records each
outcome in its own transaction. A sender that dies mid-send leaves the lease to run out; the delivery is
then sent again with the same webhook id, which receivers use to drop the repeat. Time comes from the
``clock`` so tests can move it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx2
import orjson
from svix.webhooks import Webhook
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from loyalty.errors import ValidationFailed
from loyalty.ports import RateLimiter
from partners.secret_box import SecretBox
from webhooks.outbound.models import (
    DeliveryAttempt,
    DeliveryState,
    EndpointState,
    OutboundDelivery,
    PartnerEndpoint,
)
from webhooks.outbound.policy import (
    DeliveryPolicy,
    Resolver,
    check_url,
    checked_address,
    pinned_request,
    retry_after_s,
    system_resolver,
)
from webhooks.outbound.service import raise_operational_event

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
USER_AGENT = "milesgate-webhooks/1"
EXCERPT = 300


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    excerpt: str = ""
    error: str | None = None
    retry_after_s: int | None = None
    duration_ms: int = 0

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class OutboundSender:
    """Delivers due messages; ``run_once`` is one round, ``run`` loops until stopped."""

    box: SecretBox
    policy: DeliveryPolicy
    rate_limiter: RateLimiter
    client: httpx2.AsyncClient
    clock: Clock = utc_now
    batch: int = 50
    check_dns: bool = True
    resolver: Resolver = system_resolver
    _secrets: dict[int, str] = field(default_factory=dict)

    async def claim(self, now: dt.datetime) -> list[int]:
        enabled = await PartnerEndpoint.filter(state=EndpointState.ENABLED).values_list("id", flat=True)
        if not enabled:
            return []
        async with in_transaction():
            due = (
                await OutboundDelivery.filter(
                    state=DeliveryState.PENDING, next_attempt_at__lte=now, endpoint_id__in=list(enabled)
                )
                .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
                .order_by("next_attempt_at", "id")
                .limit(self.batch)
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)
            )
            ids = [int(value) for value in due]  # type: ignore[call-overload]
            if ids:
                await OutboundDelivery.filter(id__in=ids).update(
                    leased_until=now + dt.timedelta(seconds=self.policy.lease_s)
                )
        return ids

    async def run_once(self) -> int:
        """Send every delivery due now (up to ``batch``); returns how many were handled."""
        now = self.clock()
        ids = await self.claim(now)
        if ids:
            await asyncio.gather(*(self._deliver(delivery_id, now) for delivery_id in ids))
        return len(ids)

    async def _secret(self, endpoint: PartnerEndpoint) -> str:
        secret = self._secrets.get(endpoint.id)
        if secret is None:
            secret = self.box.open(endpoint.secret_ciphertext, partner_id=endpoint.partner_id)
            self._secrets[endpoint.id] = secret
        return secret

    async def _deliver(self, delivery_id: int, now: dt.datetime) -> None:
        try:
            delivery = await OutboundDelivery.get(id=delivery_id).prefetch_related("message", "endpoint")
            endpoint = delivery.endpoint
            limit = endpoint.rate_limit_per_s or self.policy.rate_limit_per_s
            decision = await self.rate_limiter.hit(f"outbound:{{ep{endpoint.id}}}", limit=limit, window_s=1)
            if not decision.allowed:
                # Over the endpoint's rate: wait without spending an attempt.
                wait = dt.timedelta(seconds=max(decision.retry_after_s, 0.1))
                await OutboundDelivery.filter(id=delivery_id).update(
                    next_attempt_at=now + wait, leased_until=None
                )
                return
            outcome = await self._send(delivery, endpoint, now)
            await self._record(delivery_id, outcome, now)
        except Exception:
            # The lease runs out and another round tries again; nothing was recorded as an attempt.
            log.exception("outbound delivery failed unexpectedly", extra={"delivery_id": delivery_id})

    async def _send(self, delivery: OutboundDelivery, endpoint: PartnerEndpoint, now: dt.datetime) -> Outcome:
        try:
            check_url(endpoint.url, self.policy)
            address = await checked_address(endpoint.url, self.resolver) if self.check_dns else None
        except ValidationFailed as refused:
            return Outcome(None, error=f"{refused.code}: {refused.message}")
        target = pinned_request(endpoint.url, address)
        message = delivery.message
        body = orjson.dumps(message.payload).decode()
        signature = Webhook(await self._secret(endpoint)).sign(message.webhook_id, now, body)
        headers = {
            **target.headers,
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": message.webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        }
        started = time.perf_counter()
        try:
            response = await self.client.post(
                target.url,
                content=body.encode(),
                headers=headers,
                timeout=self.policy.timeout_s,
                follow_redirects=False,
                extensions=target.extensions,
            )
        except httpx2.HTTPError as exc:
            return Outcome(
                None,
                error=f"{type(exc).__name__}: {exc}"[:EXCERPT],
                duration_ms=int((time.perf_counter() - started) * 1000),
            )
        return Outcome(
            response.status_code,
            excerpt=response.text[:EXCERPT],
            retry_after_s=retry_after_s(response.headers.get("retry-after"), now=now),
            duration_ms=int((time.perf_counter() - started) * 1000),
        )

    async def _record(self, delivery_id: int, outcome: Outcome, now: dt.datetime) -> None:
        async with in_transaction():
            delivery = await OutboundDelivery.filter(id=delivery_id).select_for_update().get()
            endpoint = await PartnerEndpoint.filter(id=delivery.endpoint_id).select_for_update().get()
            await DeliveryAttempt.create(
                delivery_id=delivery.id,
                attempted_at=now,
                status_code=outcome.status_code,
                response_excerpt=outcome.excerpt,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
            delivery.attempts += 1
            delivery.last_status, delivery.last_error = outcome.status_code, outcome.error
            delivery.leased_until = None
            if outcome.succeeded:
                delivery.state, delivery.finished_at, delivery.next_attempt_at = (
                    DeliveryState.SUCCEEDED,
                    now,
                    None,
                )
                if endpoint.failing_since is not None:
                    endpoint.failing_since = None
                    await endpoint.save(update_fields=["failing_since"])
            elif outcome.status_code == 410:
                delivery.state, delivery.finished_at, delivery.next_attempt_at = (
                    DeliveryState.FAILED,
                    now,
                    None,
                )
                await self._disable(endpoint, "the endpoint answered 410 Gone", now)
            else:
                self._schedule_retry(delivery, outcome, now)
                if endpoint.failing_since is None:
                    endpoint.failing_since = now
                    await endpoint.save(update_fields=["failing_since"])
                elif now - endpoint.failing_since >= self.policy.disable_after:
                    days = self.policy.disable_after.total_seconds() / 86400
                    await self._disable(endpoint, f"failing without a success for {days:g} days", now)
            await delivery.save()

    def _schedule_retry(self, delivery: OutboundDelivery, outcome: Outcome, now: dt.datetime) -> None:
        delivery.step += 1
        delay = self.policy.delay_before(delivery.step)
        if delay is None:
            delivery.state, delivery.finished_at, delivery.next_attempt_at = DeliveryState.FAILED, now, None
            return
        if outcome.status_code in (429, 503) and outcome.retry_after_s is not None:
            asked = dt.timedelta(seconds=min(outcome.retry_after_s, self.policy.max_retry_after_s))
            delay = max(delay, asked)
        delivery.next_attempt_at = now + delay

    async def _disable(self, endpoint: PartnerEndpoint, reason: str, now: dt.datetime) -> None:
        """Disable once: parallel attempts to the same endpoint each hold its row lock in turn."""
        if endpoint.state is EndpointState.DISABLED:
            return
        endpoint.state, endpoint.disabled_reason, endpoint.disabled_at = EndpointState.DISABLED, reason, now
        await endpoint.save(update_fields=["state", "disabled_reason", "disabled_at"])
        await raise_operational_event(
            "endpoint.disabled",
            f"endpoint {endpoint.id} ({endpoint.url})",
            {"endpointId": endpoint.id, "partnerId": endpoint.partner_id, "reason": reason},
            now=now,
        )
        log.error("outbound endpoint disabled", extra={"endpoint_id": endpoint.id, "reason": reason})
