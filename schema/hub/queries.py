"""The partner webhook hub for operators: endpoints, deliveries, dead letters, unmatched accruals."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.hub import bounded, hub_of
from schema.context import Info
from schema.hub.types import InboxDelivery, OperationalEvent, OutboundDelivery, PartnerEndpoint
from schema.partners.arguments import PARTNER_CODE
from schema.permissions import IsOperator


@strawberry.type
class HubQueries:
    @strawberry.field(
        description="Admin only: partners' endpoints for our events.", permission_classes=[IsOperator]
    )
    async def partner_endpoints(
        self,
        info: Info,
        partner_code: Annotated[str | None, strawberry.argument(description=PARTNER_CODE)] = None,
    ) -> list[PartnerEndpoint]:
        views = await hub_of(info.context.hub).endpoints(partner_code)
        return [PartnerEndpoint.from_view(view) for view in views]

    @strawberry.field(
        description="Admin only: outbound deliveries newest first, with every attempt; failedOnly: the dead letters.",
        permission_classes=[IsOperator],
    )
    async def outbound_deliveries(
        self, info: Info, endpoint_id: int | None = None, failed_only: bool = False, first: int = 50
    ) -> list[OutboundDelivery]:
        views = await hub_of(info.context.hub).deliveries(
            endpoint_id=endpoint_id, failed_only=failed_only, limit=bounded(first)
        )
        return [OutboundDelivery.from_view(view) for view in views]

    @strawberry.field(
        description="Admin only: partner deliveries that failed (refused, or out of attempts), newest first.",
        permission_classes=[IsOperator],
    )
    async def inbox_dead_letters(self, info: Info, first: int = 50) -> list[InboxDelivery]:
        views = await hub_of(info.context.hub).inbox(unmatched=False, limit=bounded(first))
        return [InboxDelivery.from_view(view) for view in views]

    @strawberry.field(
        description="Admin only: accruals parked because the member they name is not known (yet).",
        permission_classes=[IsOperator],
    )
    async def unmatched_accruals(self, info: Info, first: int = 50) -> list[InboxDelivery]:
        views = await hub_of(info.context.hub).inbox(unmatched=True, limit=bounded(first))
        return [InboxDelivery.from_view(view) for view in views]

    @strawberry.field(
        description="Admin only: operational events to act on (an endpoint disabled, say).",
        permission_classes=[IsOperator],
    )
    async def operational_events(
        self, info: Info, include_acknowledged: bool = False
    ) -> list[OperationalEvent]:
        views = await hub_of(info.context.hub).operational_events(open_only=not include_acknowledged)
        return [OperationalEvent.from_view(view) for view in views]
