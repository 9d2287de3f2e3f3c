"""The partner hub as operators see it: endpoints, deliveries and their attempts, dead letters,
unmatched accruals, replay and re-processing (admin only: the fields carry the IsOperator permission).

The hub lives in ``webhooks/``, which resolvers do not import; the gateway hands an implementation of
``HubAdmin`` to the GraphQL context (``gateway.hub_admin``), and these views are all the schema sees.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from loyalty.errors import NotFound
from loyalty.paging import Page, PageRequest


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
        self, *, endpoint_id: int | None, failed_only: bool, request: PageRequest
    ) -> Page[DeliveryView]: ...

    async def replay_message(self, webhook_id: str, endpoint_id: int | None) -> int: ...

    async def replay_failed(self, endpoint_id: int, since: dt.datetime) -> int: ...

    async def inbox(self, *, unmatched: bool, request: PageRequest) -> Page[InboxView]: ...

    async def reprocess(self, inbox_ids: list[int] | None) -> int: ...

    async def operational_events(
        self, *, open_only: bool, request: PageRequest
    ) -> Page[OperationalEventView]: ...


def hub_of(hub: HubAdmin | None) -> HubAdmin:
    if hub is None:  # pragma: no cover - the gateway always sets it
        raise RuntimeError("no partner hub in the GraphQL context")
    return hub


def row_id(raw: str, *, field: str, code: str) -> int:
    """The row an ``ID`` names (its decimal form); one that names no row is ``code`` (NOT_FOUND)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise NotFound(f"No such id: {raw[:40]!r}.", field=field, code=code)
    return int(raw)


def endpoint_id(raw: str, *, field: str = "endpointId") -> int:
    return row_id(raw, field=field, code="ENDPOINT_NOT_FOUND")


def inbox_ids(raw: list[str]) -> list[int]:
    return [row_id(item, field="ids", code="INBOX_ROW_NOT_FOUND") for item in raw]
