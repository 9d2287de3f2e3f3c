"""The partner hub as operators see it: endpoints, deliveries and their attempts, dead letters,
unmatched accruals, replay and re-processing (admin only: the fields carry the IsOperator permission).

The hub lives in ``webhooks/``, which resolvers do not import; the gateway hands an implementation of
``HubAdmin`` to the GraphQL context (``gateway.hub_admin``), and these views are all the schema sees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from loyalty.errors import DomainError
from schema.errors import InputError
from schema.hub import (
    AddPartnerEndpointInput,
    InboxDelivery,
    NewPartnerEndpoint,
    OperationalEvent,
    OutboundDelivery,
    PartnerEndpoint,
    Queued,
)

if TYPE_CHECKING:
    from schema.context import Info


@dataclass(frozen=True, slots=True)
class EndpointView:
    id: int
    partner_code: str
    url: str
    description: str
    event_types: tuple[str, ...]
    enabled: bool
    disabled_reason: str | None
    failing_since: dt.datetime | None
    rate_limit_per_s: int | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AttemptView:
    attempted_at: dt.datetime
    status_code: int | None
    error: str | None
    response_excerpt: str
    duration_ms: int


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    webhook_id: str
    event_type: str
    endpoint_id: int
    state: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status: int | None
    last_error: str | None
    created_at: dt.datetime
    attempt_log: tuple[AttemptView, ...]


@dataclass(frozen=True, slots=True)
class InboxView:
    id: int
    partner_code: str
    webhook_id: str
    event_type: str
    state: str
    error_code: str | None
    error_message: str | None
    attempts: int
    received_at: dt.datetime
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OperationalEventView:
    id: int
    kind: str
    subject: str
    detail: dict[str, Any]
    occurred_at: dt.datetime


@dataclass(frozen=True, slots=True)
class NewEndpointView:
    endpoint: EndpointView
    secret: str


class HubAdmin(Protocol):
    """What the admin GraphQL operations need of the partner hub; errors are ``DomainError``s."""

    async def endpoints(self, partner_code: str | None) -> list[EndpointView]: ...

    async def add_endpoint(
        self,
        *,
        partner_code: str,
        url: str,
        event_types: list[str],
        description: str,
        rate_limit_per_s: int | None,
    ) -> NewEndpointView: ...

    async def set_endpoint_enabled(self, endpoint_id: int, enabled: bool) -> EndpointView: ...

    async def deliveries(
        self, *, endpoint_id: int | None, failed_only: bool, limit: int
    ) -> list[DeliveryView]: ...

    async def replay_message(self, webhook_id: str, endpoint_id: int | None) -> int: ...

    async def replay_failed(self, endpoint_id: int, since: dt.datetime) -> int: ...

    async def inbox(self, *, unmatched: bool, limit: int) -> list[InboxView]: ...

    async def reprocess(self, inbox_ids: list[int] | None) -> int: ...

    async def operational_events(self, open_only: bool) -> list[OperationalEventView]: ...


def hub_of(info: Info) -> HubAdmin:
    hub = info.context.hub
    if hub is None:  # pragma: no cover - the gateway always sets it
        raise RuntimeError("no partner hub in the GraphQL context")
    return hub


async def endpoints(info: Info, partner_code: str | None) -> list[PartnerEndpoint]:
    return [PartnerEndpoint.from_view(view) for view in await hub_of(info).endpoints(partner_code)]


async def add_endpoint(info: Info, data: AddPartnerEndpointInput) -> NewPartnerEndpoint | InputError:
    try:
        created = await hub_of(info).add_endpoint(
            partner_code=data.partner_code,
            url=data.url,
            event_types=data.event_types,
            description=data.description,
            rate_limit_per_s=data.rate_limit_per_s,
        )
    except DomainError as exc:
        return InputError.from_domain(exc)
    return NewPartnerEndpoint(endpoint=PartnerEndpoint.from_view(created.endpoint), secret=created.secret)


async def set_endpoint_enabled(info: Info, endpoint_id: int, enabled: bool) -> PartnerEndpoint | InputError:
    try:
        return PartnerEndpoint.from_view(await hub_of(info).set_endpoint_enabled(endpoint_id, enabled))
    except DomainError as exc:
        return InputError.from_domain(exc)


async def deliveries(
    info: Info, endpoint_id: int | None, failed_only: bool, first: int
) -> list[OutboundDelivery]:
    views = await hub_of(info).deliveries(
        endpoint_id=endpoint_id, failed_only=failed_only, limit=_bounded(first)
    )
    return [OutboundDelivery.from_view(view) for view in views]


async def inbox(info: Info, *, unmatched: bool, first: int) -> list[InboxDelivery]:
    return [
        InboxDelivery.from_view(view)
        for view in await hub_of(info).inbox(unmatched=unmatched, limit=_bounded(first))
    ]


async def queued(work: Awaitable[int]) -> Queued | InputError:
    try:
        return Queued(count=await work)
    except DomainError as exc:
        return InputError.from_domain(exc)


async def operational_events(info: Info, include_acknowledged: bool) -> list[OperationalEvent]:
    views = await hub_of(info).operational_events(open_only=not include_acknowledged)
    return [OperationalEvent.from_view(view) for view in views]


MAX_PAGE = 500


def _bounded(first: int) -> int:
    return max(1, min(first, MAX_PAGE))
