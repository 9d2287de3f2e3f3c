"""Operating the partner webhook hub: endpoints, replays, re-processing (admin only)."""

from __future__ import annotations

import datetime as dt

import strawberry

from resolvers.hub import hub_of
from schema.context import Info
from schema.fields import mutation
from schema.hub.types import (
    AddPartnerEndpointInput,
    NewPartnerEndpoint,
    NewPartnerEndpointResult,
    PartnerEndpoint,
    PartnerEndpointResult,
    Queued,
    QueuedResult,
)
from schema.permissions import IsOperator


@strawberry.type
class HubMutations:
    @mutation(
        description="Admin only: register a partner endpoint for our events; answers its signing secret, shown once.",
        permission_classes=[IsOperator],
    )
    async def add_partner_endpoint(
        self, info: Info, input: AddPartnerEndpointInput
    ) -> NewPartnerEndpointResult:
        created = await hub_of(info.context.hub).add_endpoint(
            partner_code=input.partner_code,
            url=input.url,
            event_types=input.event_types,
            description=input.description,
            rate_limit_per_s=input.rate_limit_per_s,
        )
        return NewPartnerEndpoint(endpoint=PartnerEndpoint.from_view(created.endpoint), secret=created.secret)

    @mutation(
        description="Admin only: enable (its failure run starts afresh) or disable an endpoint.",
        permission_classes=[IsOperator],
    )
    async def set_partner_endpoint_enabled(self, info: Info, id: int, enabled: bool) -> PartnerEndpointResult:
        return PartnerEndpoint.from_view(await hub_of(info.context.hub).set_endpoint_enabled(id, enabled))

    @mutation(
        description="Admin only: send one message again (to one endpoint, or all that take it), from the start "
        "of the retry schedule.",
        permission_classes=[IsOperator],
    )
    async def replay_outbound_message(
        self, info: Info, webhook_id: str, endpoint_id: int | None = None
    ) -> QueuedResult:
        return Queued(count=await hub_of(info.context.hub).replay_message(webhook_id, endpoint_id))

    @mutation(
        description="Admin only: send again every failed message of an endpoint from a time on.",
        permission_classes=[IsOperator],
    )
    async def replay_failed_deliveries(
        self, info: Info, endpoint_id: int, since: dt.datetime
    ) -> QueuedResult:
        return Queued(count=await hub_of(info.context.hub).replay_failed(endpoint_id, since))

    @mutation(
        description="Admin only: process parked or failed partner deliveries again (none given: every unmatched "
        "one). An accrual credited meanwhile posts nothing more.",
        permission_classes=[IsOperator],
    )
    async def reprocess_inbox(self, info: Info, ids: list[int] | None = None) -> QueuedResult:
        return Queued(count=await hub_of(info.context.hub).reprocess(ids))
