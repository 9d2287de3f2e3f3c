"""``resolvers.hub.HubAdmin`` on top of ``webhooks``: what the admin GraphQL operations call."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from loyalty.paging import Page, PageRequest
from loyalty.ports import Queue
from partners.secret_box import SecretBox
from resolvers.hub import (
    AttemptView,
    DeliveryView,
    EndpointView,
    InboxView,
    NewEndpointView,
    OperationalEventView,
)
from webhooks.models import InboxState, PartnerInbox
from webhooks.outbound import service
from webhooks.outbound.models import (
    DeliveryAttempt,
    DeliveryState,
    EndpointState,
    OutboundDelivery,
    PartnerEndpoint,
)
from webhooks.outbound.policy import DeliveryPolicy
from webhooks.worker import inbox_page, reprocess


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def endpoint_view(row: PartnerEndpoint) -> EndpointView:
    return EndpointView(
        id=row.id,
        partner_code=row.partner.code,
        url=row.url,
        description=row.description,
        event_types=row.event_types,
        enabled=row.state is EndpointState.ENABLED,
        disabled_reason=row.disabled_reason,
        failing_since=row.failing_since,
        rate_limit_per_s=row.rate_limit_per_s,
        created_at=row.created_at,
    )


def delivery_view(row: OutboundDelivery, tried: list[DeliveryAttempt]) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        webhook_id=row.message.webhook_id,
        event_type=row.message.event_type,
        endpoint_id=row.endpoint_id,
        state=row.state.value,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status=row.last_status,
        last_error=row.last_error,
        created_at=row.created_at,
        attempt_log=tuple(
            AttemptView(
                attempted_at=attempt.attempted_at,
                status_code=attempt.status_code,
                error=attempt.error,
                response_excerpt=attempt.response_excerpt,
                duration_ms=attempt.duration_ms,
            )
            for attempt in tried
        ),
    )


def inbox_view(row: PartnerInbox) -> InboxView:
    return InboxView(
        id=row.id,
        partner_code=row.partner.code,
        webhook_id=row.webhook_id,
        event_type=row.event_type,
        state=row.state.value,
        error_code=row.error_code,
        error_message=row.error_message,
        attempts=row.attempts,
        received_at=row.received_at,
        payload=row.payload,
    )


@dataclass
class WebhookHubAdmin:
    box: SecretBox
    policy: DeliveryPolicy
    queue: Queue
    partitions: int

    async def endpoints(self, partner_code: str | None) -> list[EndpointView]:
        return [endpoint_view(row) for row in await service.list_endpoints(partner_code)]

    async def add_endpoint(
        self,
        *,
        partner_code: str,
        url: str,
        event_types: list[str],
        description: str,
        rate_limit_per_s: int | None,
    ) -> NewEndpointView:
        created = await service.create_endpoint(
            partner_code=partner_code,
            url=url,
            event_types=event_types,
            box=self.box,
            policy=self.policy,
            description=description,
            rate_limit_per_s=rate_limit_per_s,
        )
        return NewEndpointView(endpoint=endpoint_view(created.endpoint), secret=created.secret)

    async def set_endpoint_enabled(self, endpoint_id: int, enabled: bool) -> EndpointView:
        await service.set_endpoint_enabled(endpoint_id, enabled=enabled, now=_now())
        return endpoint_view(await service.get_endpoint(endpoint_id))

    async def deliveries(
        self, *, endpoint_id: int | None, failed_only: bool, request: PageRequest
    ) -> Page[DeliveryView]:
        page = await service.delivery_page(
            endpoint_id=endpoint_id, state=DeliveryState.FAILED if failed_only else None, request=request
        )
        tried = await service.attempts_of([edge.node.id for edge in page.edges])
        return page.map(lambda row: delivery_view(row, tried.get(row.id, [])))

    async def replay_message(self, webhook_id: str, endpoint_id: int | None) -> int:
        return await service.replay_message(webhook_id, endpoint_id=endpoint_id, now=_now())

    async def replay_failed(self, endpoint_id: int, since: dt.datetime) -> int:
        return await service.replay_failed(endpoint_id, since=since, now=_now())

    async def inbox(self, *, unmatched: bool, request: PageRequest) -> Page[InboxView]:
        page = await inbox_page(InboxState.UNMATCHED if unmatched else InboxState.FAILED, request)
        return page.map(inbox_view)

    async def reprocess(self, inbox_ids: list[int] | None) -> int:
        return await reprocess(inbox_ids, self.queue, partitions=self.partitions)

    async def operational_events(
        self, *, open_only: bool, request: PageRequest
    ) -> Page[OperationalEventView]:
        page = await service.operational_event_page(open_only=open_only, request=request)
        return page.map(
            lambda event: OperationalEventView(
                id=event.id,
                kind=event.kind,
                subject=event.subject,
                detail=event.detail,
                occurred_at=event.occurred_at,
            )
        )
