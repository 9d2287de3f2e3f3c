"""The partner webhook hub as operators see it: endpoints, deliveries, dead letters, unmatched accruals
(admin only)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON

from schema.errors import InputError

if TYPE_CHECKING:
    from resolvers.hub import AttemptView, DeliveryView, EndpointView, InboxView, OperationalEventView


@strawberry.type(description="A partner's URL for our events, with the event types it takes.")
class PartnerEndpoint:
    id: int
    partner_code: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool = strawberry.field(description="False after a 410, five days of failures, or an operator.")
    disabled_reason: str | None
    failing_since: dt.datetime | None = strawberry.field(description="Start of the current run of failures.")
    rate_limit_per_s: int | None = strawberry.field(description="Its own limit; null: the global one.")
    created_at: dt.datetime

    @classmethod
    def from_view(cls, view: EndpointView) -> PartnerEndpoint:
        return cls(
            id=view.id,
            partner_code=view.partner_code,
            url=view.url,
            description=view.description,
            event_types=list(view.event_types),
            enabled=view.enabled,
            disabled_reason=view.disabled_reason,
            failing_since=view.failing_since,
            rate_limit_per_s=view.rate_limit_per_s,
            created_at=view.created_at,
        )


@strawberry.type(description="One HTTP attempt of a delivery.")
class DeliveryAttempt:
    attempted_at: dt.datetime
    status_code: int | None = strawberry.field(description="The endpoint's answer; null: no answer.")
    error: str | None = strawberry.field(description="Why there was no answer (timeout, refused URL...).")
    response_excerpt: str
    duration_ms: int

    @classmethod
    def from_view(cls, view: AttemptView) -> DeliveryAttempt:
        return cls(
            attempted_at=view.attempted_at,
            status_code=view.status_code,
            error=view.error,
            response_excerpt=view.response_excerpt,
            duration_ms=view.duration_ms,
        )


@strawberry.type(description="One message to one endpoint; state failed is a dead letter until replayed.")
class OutboundDelivery:
    id: int
    webhook_id: str
    event_type: str
    endpoint_id: int
    state: str = strawberry.field(description="pending, succeeded or failed.")
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status: int | None
    last_error: str | None
    created_at: dt.datetime
    attempt_log: list[DeliveryAttempt]

    @classmethod
    def from_view(cls, view: DeliveryView) -> OutboundDelivery:
        return cls(
            id=view.id,
            webhook_id=view.webhook_id,
            event_type=view.event_type,
            endpoint_id=view.endpoint_id,
            state=view.state,
            attempts=view.attempts,
            next_attempt_at=view.next_attempt_at,
            last_status=view.last_status,
            last_error=view.last_error,
            created_at=view.created_at,
            attempt_log=[DeliveryAttempt.from_view(item) for item in view.attempt_log],
        )


@strawberry.type(description="A partner delivery that failed or waits unmatched, with its reason.")
class InboxDelivery:
    id: int
    partner_code: str
    webhook_id: str
    event_type: str
    state: str = strawberry.field(description="failed or unmatched.")
    error_code: str | None
    error_message: str | None
    attempts: int
    received_at: dt.datetime
    payload: JSON

    @classmethod
    def from_view(cls, view: InboxView) -> InboxDelivery:
        return cls(
            id=view.id,
            partner_code=view.partner_code,
            webhook_id=view.webhook_id,
            event_type=view.event_type,
            state=view.state,
            error_code=view.error_code,
            error_message=view.error_message,
            attempts=view.attempts,
            received_at=view.received_at,
            payload=cast(JSON, view.payload),
        )


@strawberry.type(
    description="Something operators must act on, e.g. an endpoint disabled after days of failures."
)
class OperationalEvent:
    id: int
    kind: str
    subject: str
    detail: JSON
    occurred_at: dt.datetime

    @classmethod
    def from_view(cls, view: OperationalEventView) -> OperationalEvent:
        return cls(
            id=view.id,
            kind=view.kind,
            subject=view.subject,
            detail=cast(JSON, view.detail),
            occurred_at=view.occurred_at,
        )


@strawberry.type(description="The new endpoint and its signing secret, shown once.")
class NewPartnerEndpoint:
    endpoint: PartnerEndpoint
    secret: str = strawberry.field(description="whsec_...: the partner verifies our signatures with it.")


@strawberry.type(description="How many deliveries or inbox rows were queued again.")
class Queued:
    count: int


@strawberry.input(description="A partner endpoint for our events.")
class AddPartnerEndpointInput:
    partner_code: str
    url: str = strawberry.field(description="An https URL on a host the operators allowed.")
    event_types: list[str]
    description: str = ""
    rate_limit_per_s: int | None = None


NewPartnerEndpointResult = Annotated[
    NewPartnerEndpoint | InputError,
    strawberry.union("NewPartnerEndpointResult", description="The endpoint and its secret, or why not."),
]
PartnerEndpointResult = Annotated[
    PartnerEndpoint | InputError,
    strawberry.union("PartnerEndpointResult", description="The endpoint as it is now, or why not."),
]
QueuedResult = Annotated[
    Queued | InputError, strawberry.union("QueuedResult", description="What was queued again, or why not.")
]
