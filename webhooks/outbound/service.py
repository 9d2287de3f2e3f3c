"""Endpoints, the outbound outbox and replay.

Messages are written in the transaction of the change they announce: from the domain-event relay
(``webhooks.outbound.fan_out``, one message per domain event thanks to a unique key) or, for a refused
accrual or a bank's decided or refused purchase, in the inbox worker's transaction (``publish``). Each
message gets one delivery per enabled endpoint subscribed to its type; ``webhooks.outbound.sender`` sends
them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from loyalty.errors import NotFound, ValidationFailed
from loyalty.fixed_sql import dialect, fetch
from loyalty.paging import Page, PageRequest, newest_first
from partners.models import Partner, PartnerState
from partners.secret_box import SecretBox, fingerprint
from partners.signing import generate_signing_secret
from webhooks.outbound.models import (
    DeliveryAttempt,
    DeliveryState,
    EndpointState,
    OperationalEvent,
    OutboundDelivery,
    OutboundMessage,
    PartnerEndpoint,
)
from webhooks.outbound.policy import DeliveryPolicy, check_url

OUTBOUND_EVENT_TYPES: dict[str, str] = {
    "member.status.changed": "A member's status tier changed (reached, renewed, lowered).",
    "accrual.credited": "An accrual the partner sent was credited (to that partner only).",
    "accrual.rejected": "An accrual the partner sent was refused, with the reason (to that partner only).",
    "redemption.created": "A member redeemed miles for a reward.",
    "retro_credit.decided": "A retroactive credit request checked against the partner's flown data was decided "
    "(to that partner only).",
    "offer.activated": "A member activated one of the partner's offers (to that partner only).",
    "receipt.submitted": "A member sent a receipt picture for photo credit (to that partner only): the partner "
    "checks it and answers with receipt.verified.",
    "milespay.decided": "A card purchase the bank reported was paid with miles under the member's MilesPay "
    "opt-in, or in cash and why (to that bank only).",
}


@dataclass(frozen=True, slots=True)
class NewEndpoint:
    endpoint: PartnerEndpoint
    secret: str
    """Shown once: the partner verifies our signatures with it."""


def _event_types(values: Iterable[str]) -> str:
    chosen = sorted({value.strip() for value in values if value.strip()})
    if not chosen:
        raise ValidationFailed(
            "Subscribe to at least one event type.", field="eventTypes", code="EVENT_TYPES_EMPTY"
        )
    unknown = [value for value in chosen if value not in OUTBOUND_EVENT_TYPES]
    if unknown:
        raise ValidationFailed(
            f"Unknown event types: {', '.join(unknown)}.", field="eventTypes", code="EVENT_TYPE_UNKNOWN"
        )
    return ",".join(chosen)


async def _partner(code: str) -> Partner:
    partner = await Partner.get_or_none(code=code)
    if partner is None:
        raise NotFound(f"No partner {code!r}.", field="partner", code="PARTNER_NOT_FOUND")
    return partner


async def get_endpoint(endpoint_id: int) -> PartnerEndpoint:
    endpoint = await PartnerEndpoint.get_or_none(id=endpoint_id).prefetch_related("partner")
    if endpoint is None:
        raise NotFound(f"No endpoint {endpoint_id}.", field="endpoint", code="ENDPOINT_NOT_FOUND")
    return endpoint


async def create_endpoint(
    *,
    partner_code: str,
    url: str,
    event_types: Iterable[str],
    box: SecretBox,
    policy: DeliveryPolicy,
    description: str = "",
    rate_limit_per_s: int | None = None,
) -> NewEndpoint:
    partner = await _partner(partner_code)
    check_url(url, policy)
    if rate_limit_per_s is not None and not 1 <= rate_limit_per_s <= 10_000:
        raise ValidationFailed(
            "The rate limit is 1 to 10000 per second.", field="rateLimit", code="RATE_LIMIT_INVALID"
        )
    secret = generate_signing_secret()
    endpoint = await PartnerEndpoint.create(
        partner_id=partner.id,
        url=url,
        description=description[:200],
        event_types_text=_event_types(event_types),
        secret_ciphertext=box.seal(secret, partner_id=partner.id),
        secret_fingerprint=fingerprint(secret),
        rate_limit_per_s=rate_limit_per_s,
    )
    await endpoint.fetch_related("partner")
    return NewEndpoint(endpoint=endpoint, secret=secret)


async def set_endpoint_enabled(
    endpoint_id: int, *, enabled: bool, reason: str = "by an operator", now: dt.datetime
) -> PartnerEndpoint:
    endpoint = await get_endpoint(endpoint_id)
    if enabled:
        endpoint.state, endpoint.disabled_reason, endpoint.disabled_at = EndpointState.ENABLED, None, None
        endpoint.failing_since = None
    else:
        endpoint.state, endpoint.disabled_reason, endpoint.disabled_at = (
            EndpointState.DISABLED,
            reason[:200],
            now,
        )
    await endpoint.save(update_fields=["state", "disabled_reason", "disabled_at", "failing_since"])
    return endpoint


async def list_endpoints(partner_code: str | None = None) -> list[PartnerEndpoint]:
    query = PartnerEndpoint.all().prefetch_related("partner").order_by("id")
    if partner_code is not None:
        query = query.filter(partner__code=partner_code)
    return await query


def _webhook_id() -> str:
    return f"msg_{secrets.token_urlsafe(18)}"


def answer_webhook_id(event_type: str, partner_id: int, key: str) -> str:
    """The fixed webhook id of the one message of ``event_type`` that answers a partner's ``key`` (say,
    the bank's purchase): a second answer would break the id's uniqueness, so whether it was sent is an
    index look-up (``answered``), and the partner can tell a resend of it by its ``webhook-id``."""
    digest = hashlib.sha256(f"{event_type}\x1f{partner_id}\x1f{key}".encode()).digest()
    return f"msg_{base64.urlsafe_b64encode(digest[:18]).decode()}"


async def answered(event_type: str, partner_id: int, key: str) -> bool:
    """Whether the message ``answer_webhook_id(event_type, partner_id, key)`` was stored."""
    return await OutboundMessage.exists(webhook_id=answer_webhook_id(event_type, partner_id, key))


@dataclass(frozen=True, slots=True)
class NewMessage:
    """One outbound message to store (see ``publish``)."""

    event_type: str
    data: Mapping[str, Any]
    now: dt.datetime
    account_id: int | None = None
    partner_id: int | None = None
    domain_event_id: int | None = None
    webhook_id: str | None = None
    """A fixed id (``answer_webhook_id``), else a random one."""


def _message(item: NewMessage) -> OutboundMessage:
    if item.event_type not in OUTBOUND_EVENT_TYPES:
        raise ValueError(f"not an outbound event type: {item.event_type}")
    return OutboundMessage(
        webhook_id=item.webhook_id or _webhook_id(),
        event_type=item.event_type,
        payload={"type": item.event_type, "timestamp": item.now.isoformat(), "data": dict(item.data)},
        account_id=item.account_id,
        partner_id=item.partner_id,
        domain_event_id=item.domain_event_id,
        created_at=item.now,
    )


def _deliveries(
    message_id: int, item: NewMessage, endpoints: Iterable[PartnerEndpoint]
) -> list[OutboundDelivery]:
    """A delivery for every endpoint (enabled, of an active partner) subscribed to the message."""
    return [
        OutboundDelivery(
            message_id=message_id, endpoint_id=endpoint.id, next_attempt_at=item.now, created_at=item.now
        )
        for endpoint in endpoints
        if (item.partner_id is None or endpoint.partner_id == item.partner_id)
        and item.event_type in endpoint.event_types
    ]


def _live_endpoints() -> QuerySet[PartnerEndpoint]:
    return PartnerEndpoint.filter(state=EndpointState.ENABLED, partner__state=PartnerState.ACTIVE)


async def publish(
    *,
    event_type: str,
    data: Mapping[str, Any],
    now: dt.datetime,
    account_id: int | None = None,
    partner_id: int | None = None,
    domain_event_id: int | None = None,
    webhook_id: str | None = None,
) -> OutboundMessage:
    """Store one message and a delivery for every enabled endpoint subscribed to it; call it inside the
    transaction of the change it announces."""
    item = NewMessage(event_type, data, now, account_id, partner_id, domain_event_id, webhook_id)
    message = _message(item)
    await message.save()
    endpoints = _live_endpoints()
    if partner_id is not None:
        endpoints = endpoints.filter(partner_id=partner_id)
    await OutboundDelivery.bulk_create(_deliveries(message.id, item, await endpoints))
    return message


INSERT_MESSAGES_SQL = """
INSERT INTO outbound_messages (webhook_id, event_type, payload, account_id, partner_id, domain_event_id, created_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::bigint[], $5::bigint[], $6::bigint[],
                     $7::timestamptz[])
RETURNING webhook_id, id
"""
INSERT_DELIVERIES_SQL = """
INSERT INTO outbound_deliveries (state, step, attempts, next_attempt_at, created_at, message_id, endpoint_id)
SELECT $1::text, 0, 0, t, t, m, e FROM unnest($2::bigint[], $3::bigint[], $4::timestamptz[]) AS d(m, e, t)
"""
"""PostgreSQL: the messages, then their deliveries, with one statement each whatever their number."""


async def publish_many(items: Sequence[NewMessage]) -> int:
    """``publish`` for many messages at once, stored in their order: three or four statements whatever
    their number (the messages, on SQLite their ids, the endpoints, the deliveries). Returns how many."""
    if not items:
        return 0
    messages = [_message(item) for item in items]
    ids = await _insert_messages(messages)
    endpoints = await _live_endpoints()
    deliveries = [
        delivery
        for message, item in zip(messages, items, strict=True)
        for delivery in _deliveries(ids[message.webhook_id], item, endpoints)
    ]
    await _insert_deliveries(deliveries)
    return len(messages)


async def _insert_messages(messages: Sequence[OutboundMessage]) -> dict[str, int]:
    """Store the messages; their ids by webhook id."""
    if dialect() != "postgres":
        await OutboundMessage.bulk_create(messages)
        found = await OutboundMessage.filter(webhook_id__in=[m.webhook_id for m in messages]).values_list(
            "webhook_id", "id"
        )
        return {str(webhook_id): int(id_) for webhook_id, id_ in found}
    rows = await fetch(
        INSERT_MESSAGES_SQL,
        [message.webhook_id for message in messages],
        [message.event_type for message in messages],
        [orjson.dumps(message.payload).decode() for message in messages],
        [message.account_id for message in messages],
        [message.partner_id for message in messages],
        [message.domain_event_id for message in messages],
        [message.created_at for message in messages],
    )
    return {str(row["webhook_id"]): int(row["id"]) for row in rows}


async def _insert_deliveries(deliveries: Sequence[OutboundDelivery]) -> None:
    if not deliveries:
        return
    if dialect() != "postgres":
        await OutboundDelivery.bulk_create(deliveries)
        return
    await fetch(
        INSERT_DELIVERIES_SQL,
        DeliveryState.PENDING.value,
        [delivery.message_id for delivery in deliveries],
        [delivery.endpoint_id for delivery in deliveries],
        [delivery.created_at for delivery in deliveries],
    )


async def replay_message(webhook_id: str, *, now: dt.datetime, endpoint_id: int | None = None) -> int:
    """Send a message again to its endpoints (or one), from the start of the schedule; returns how many
    deliveries were queued. An enabled endpoint that subscribed after the message was sent gets it too."""
    message = await OutboundMessage.get_or_none(webhook_id=webhook_id)
    if message is None:
        raise NotFound(f"No message {webhook_id!r}.", field="message", code="MESSAGE_NOT_FOUND")
    endpoints = PartnerEndpoint.filter(state=EndpointState.ENABLED)
    if message.partner_id is not None:
        endpoints = endpoints.filter(partner_id=message.partner_id)
    if endpoint_id is not None:
        endpoints = endpoints.filter(id=endpoint_id)
    targets = [endpoint for endpoint in await endpoints if message.event_type in endpoint.event_types]
    if endpoint_id is not None and not targets:
        raise ValidationFailed(
            "That endpoint is disabled or does not take this message.",
            field="endpoint",
            code="ENDPOINT_NOT_SUBSCRIBED",
        )
    for endpoint in targets:
        delivery, created = await OutboundDelivery.get_or_create(
            message_id=message.id,
            endpoint_id=endpoint.id,
            defaults={"next_attempt_at": now, "created_at": now},
        )
        if not created:
            await _requeue(delivery, now)
    return len(targets)


async def _requeue(delivery: OutboundDelivery, now: dt.datetime) -> None:
    delivery.state, delivery.step, delivery.next_attempt_at = DeliveryState.PENDING, 0, now
    delivery.finished_at, delivery.leased_until = None, None
    await delivery.save(update_fields=["state", "step", "next_attempt_at", "finished_at", "leased_until"])


async def replay_failed(endpoint_id: int, *, since: dt.datetime, now: dt.datetime) -> int:
    """Queue again every failed delivery of an endpoint whose message is from ``since`` on."""
    endpoint = await get_endpoint(endpoint_id)
    if endpoint.state is not EndpointState.ENABLED:
        raise ValidationFailed("Enable the endpoint first.", field="endpoint", code="ENDPOINT_DISABLED")
    failed = await OutboundDelivery.filter(
        endpoint_id=endpoint_id, state=DeliveryState.FAILED, message__created_at__gte=since
    )
    for delivery in failed:
        await _requeue(delivery, now)
    return len(failed)


def _deliveries_query(*, endpoint_id: int | None, state: DeliveryState | None) -> QuerySet[OutboundDelivery]:
    query = OutboundDelivery.all().prefetch_related("message", "endpoint__partner")
    if endpoint_id is not None:
        query = query.filter(endpoint_id=endpoint_id)
    if state is not None:
        query = query.filter(state=state)
    return query


async def deliveries(
    *,
    endpoint_id: int | None = None,
    state: DeliveryState | None = None,
    limit: int = 100,
) -> list[OutboundDelivery]:
    return await _deliveries_query(endpoint_id=endpoint_id, state=state).order_by("-id").limit(limit)


async def delivery_page(
    *, endpoint_id: int | None, state: DeliveryState | None, request: PageRequest
) -> Page[OutboundDelivery]:
    """One keyset page of deliveries, newest first (by id): one query past the cursor."""
    return await newest_first(_deliveries_query(endpoint_id=endpoint_id, state=state), request)


async def attempts_of(delivery_ids: list[int]) -> dict[int, list[DeliveryAttempt]]:
    """Every attempt of these deliveries, oldest first, by delivery id (one query)."""
    grouped: dict[int, list[DeliveryAttempt]] = {}
    for attempt in await DeliveryAttempt.filter(delivery_id__in=delivery_ids).order_by("id"):
        grouped.setdefault(attempt.delivery_id, []).append(attempt)
    return grouped


async def raise_operational_event(
    kind: str, subject: str, detail: Mapping[str, Any], *, now: dt.datetime
) -> OperationalEvent:
    return await OperationalEvent.create(
        kind=kind, subject=subject[:200], detail=dict(detail), occurred_at=now
    )


def _operational_events_query(*, open_only: bool) -> QuerySet[OperationalEvent]:
    query = OperationalEvent.all()
    return query.filter(Q(acknowledged_at__isnull=True)) if open_only else query


async def operational_events(*, open_only: bool = True, limit: int = 100) -> list[OperationalEvent]:
    return await _operational_events_query(open_only=open_only).order_by("-id").limit(limit)


async def operational_event_page(*, open_only: bool, request: PageRequest) -> Page[OperationalEvent]:
    """One keyset page of operational events, newest first (by id)."""
    return await newest_first(_operational_events_query(open_only=open_only), request)
