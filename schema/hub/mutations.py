"""Operating the partner webhook hub: endpoints, replays, re-processing (admin schema only)."""

from __future__ import annotations

import strawberry

from resolvers.hub import endpoint_id, hub_of, inbox_ids
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
    ReplayFailedDeliveriesInput,
    ReplayOutboundMessageInput,
    ReprocessInboxInput,
    SetPartnerEndpointEnabledInput,
)
from schema.permissions import IsOperator


@strawberry.type
class HubMutations:
    @mutation(
        description="Register a partner endpoint for our events; answers its signing secret, shown once.",
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
        description="Enable (its failure run starts afresh) or disable an endpoint.",
        permission_classes=[IsOperator],
    )
    async def set_partner_endpoint_enabled(
        self, info: Info, input: SetPartnerEndpointEnabledInput
    ) -> PartnerEndpointResult:
        endpoint = endpoint_id(str(input.id), field="id")
        return PartnerEndpoint.from_view(
            await hub_of(info.context.hub).set_endpoint_enabled(endpoint, input.enabled)
        )

    @mutation(
        description="Send one message again (to one endpoint, or all that take it), from the start of the "
        "retry schedule.",
        permission_classes=[IsOperator],
    )
    async def replay_outbound_message(self, info: Info, input: ReplayOutboundMessageInput) -> QueuedResult:
        endpoint = None if input.endpoint_id is None else endpoint_id(str(input.endpoint_id))
        return Queued(count=await hub_of(info.context.hub).replay_message(input.webhook_id, endpoint))

    @mutation(
        description="Send again every failed message of an endpoint from a time on.",
        permission_classes=[IsOperator],
    )
    async def replay_failed_deliveries(self, info: Info, input: ReplayFailedDeliveriesInput) -> QueuedResult:
        endpoint = endpoint_id(str(input.endpoint_id))
        return Queued(count=await hub_of(info.context.hub).replay_failed(endpoint, input.since))

    @mutation(
        description="Process parked or failed partner deliveries again (no ids: every unmatched one). An "
        "accrual credited meanwhile posts nothing more.",
        permission_classes=[IsOperator],
    )
    async def reprocess_inbox(self, info: Info, input: ReprocessInboxInput | None = None) -> QueuedResult:
        ids = None if input is None or input.ids is None else inbox_ids([str(item) for item in input.ids])
        return Queued(count=await hub_of(info.context.hub).reprocess(ids))
