"""The partner webhook hub as operators see it: endpoints, deliveries, dead letters, unmatched accruals
(admin only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from resolvers.hub import AttemptView, DeliveryView, EndpointView, InboxView, OperationalEventView
from schema.errors import InputError


@strawberry.type(description="A partner's URL for our events, with the event types it takes.")
class PartnerEndpoint:
    id: strawberry.ID = strawberry.field(
        description="Pass it to setPartnerEndpointEnabled, outboundDeliveries and replays."
    )
    partner_code: str = strawberry.field(description="The partner's code.")
    url: str = strawberry.field(description="Where deliveries go.")
    description: str = strawberry.field(description="The operator's note.")
    event_types: list[str] = strawberry.field(description="The event types it takes.")
    enabled: bool = strawberry.field(description="False after a 410, five days of failures, or an operator.")
    disabled_reason: str | None = strawberry.field(description="Why it was disabled, if it is.")
    failing_since: dt.datetime | None = strawberry.field(description="Start of the current run of failures.")
    rate_limit_per_s: int | None = strawberry.field(description="Its own limit; null: the global one.")
    created_at: dt.datetime = strawberry.field(description="When it was registered.")

    @classmethod
    def from_view(cls, view: EndpointView) -> PartnerEndpoint:
        return cls(
            id=strawberry.ID(str(view.id)),
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
    attempted_at: dt.datetime = strawberry.field(description="When the attempt was made.")
    status_code: int | None = strawberry.field(description="The endpoint's answer; null: no answer.")
    error: str | None = strawberry.field(description="Why there was no answer (timeout, refused URL...).")
    response_excerpt: str = strawberry.field(description="The start of the endpoint's answer.")
    duration_ms: int = strawberry.field(description="How long the attempt took.")

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
    id: strawberry.ID = strawberry.field(description="The delivery's id.")
    webhook_id: str = strawberry.field(
        description="The message's webhook-id (the same on every attempt and endpoint)."
    )
    event_type: str = strawberry.field(description="The event type.")
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint it goes to.")
    state: str = strawberry.field(description="pending, succeeded or failed.")
    attempts: int = strawberry.field(description="Attempts so far.")
    next_attempt_at: dt.datetime | None = strawberry.field(
        description="When it is tried next; null when it is done."
    )
    last_status: int | None = strawberry.field(description="The last HTTP status, if there was an answer.")
    last_error: str | None = strawberry.field(
        description="The last error without an answer (timeout, refused URL...)."
    )
    created_at: dt.datetime = strawberry.field(description="When the message was written.")
    attempt_log: list[DeliveryAttempt] = strawberry.field(description="Every attempt, oldest first.")

    @classmethod
    def from_view(cls, view: DeliveryView) -> OutboundDelivery:
        return cls(
            id=strawberry.ID(str(view.id)),
            webhook_id=view.webhook_id,
            event_type=view.event_type,
            endpoint_id=strawberry.ID(str(view.endpoint_id)),
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
    id: strawberry.ID = strawberry.field(description="The inbox row's id (pass it to reprocessInbox).")
    partner_code: str = strawberry.field(description="The partner that sent it.")
    webhook_id: str = strawberry.field(description="The partner's webhook-id.")
    event_type: str = strawberry.field(description="The event type.")
    state: str = strawberry.field(description="failed or unmatched.")
    error_code: str | None = strawberry.field(description="Why it failed or waits, as a code.")
    error_message: str | None = strawberry.field(description="Why, in a sentence.")
    attempts: int = strawberry.field(description="Processing attempts so far.")
    received_at: dt.datetime = strawberry.field(description="When it was stored.")
    payload: JSON = strawberry.field(description="The event as the partner sent it.")

    @classmethod
    def from_view(cls, view: InboxView) -> InboxDelivery:
        return cls(
            id=strawberry.ID(str(view.id)),
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
    id: strawberry.ID = strawberry.field(description="The event's id.")
    kind: str = strawberry.field(description="What happened, e.g. endpoint.disabled.")
    subject: str = strawberry.field(description="What it concerns.")
    detail: JSON = strawberry.field(description="The particulars.")
    occurred_at: dt.datetime = strawberry.field(description="When it happened.")

    @classmethod
    def from_view(cls, view: OperationalEventView) -> OperationalEvent:
        return cls(
            id=strawberry.ID(str(view.id)),
            kind=view.kind,
            subject=view.subject,
            detail=cast(JSON, view.detail),
            occurred_at=view.occurred_at,
        )


@strawberry.type(description="The new endpoint and its signing secret, shown once.")
class NewPartnerEndpoint:
    endpoint: PartnerEndpoint = strawberry.field(description="The endpoint as registered.")
    secret: str = strawberry.field(description="whsec_...: the partner verifies our signatures with it.")


@strawberry.type(description="How many deliveries or inbox rows were queued again.")
class Queued:
    count: int = strawberry.field(description="How many were queued again.")


@strawberry.input(description="A partner endpoint for our events.")
class AddPartnerEndpointInput:
    partner_code: str = strawberry.field(description="The partner's code.")
    url: str = strawberry.field(description="An https URL on a host the operators allowed.")
    event_types: list[str] = strawberry.field(
        description="The event types it takes (see the README's table)."
    )
    description: str = strawberry.field(default="", description="A note for operators.")
    rate_limit_per_s: int | None = strawberry.field(
        default=None, description="Requests per second at most; null: the global limit."
    )


@strawberry.input(description="Enable or disable one endpoint.")
class SetPartnerEndpointEnabledInput:
    id: strawberry.ID = strawberry.field(description="The endpoint's id (partnerEndpoints).")
    enabled: bool = strawberry.field(
        description="True: deliveries resume (its failure run starts afresh); false: they stop."
    )


@strawberry.input(description="One message to send again, from the start of the retry schedule.")
class ReplayOutboundMessageInput:
    webhook_id: str = strawberry.field(description="The message's webhook-id (outboundDeliveries).")
    endpoint_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only to this endpoint; null: to every endpoint that takes it."
    )


@strawberry.input(description="An endpoint's failed messages to send again.")
class ReplayFailedDeliveriesInput:
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint's id.")
    since: dt.datetime = strawberry.field(description="Messages that failed from this time on.")


@strawberry.input(description="Partner deliveries to process again.")
class ReprocessInboxInput:
    ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="Inbox ids (inboxDeadLetters, unmatchedAccruals); null: every unmatched accrual.",
    )


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
