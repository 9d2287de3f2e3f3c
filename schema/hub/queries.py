"""The partner webhook hub for operators: endpoints, deliveries, dead letters, unmatched accruals (admin
schema only). The lists that grow with time are connections (``schema.connections``)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty.paging import DEFAULT_PAGE_SIZE
from resolvers.hub import endpoint_id, hub_of
from schema.connections import After, Connection, First, connection, page_request
from schema.context import Info
from schema.hub.types import InboxDelivery, OperationalEvent, OutboundDelivery, PartnerEndpoint
from schema.partners.arguments import PARTNER_CODE
from schema.permissions import IsOperator


@strawberry.type
class HubQueries:
    @strawberry.field(description="Partners' endpoints for our events.", permission_classes=[IsOperator])
    async def partner_endpoints(
        self,
        info: Info,
        partner_code: Annotated[str | None, strawberry.argument(description=PARTNER_CODE)] = None,
    ) -> list[PartnerEndpoint]:
        views = await hub_of(info.context.hub).endpoints(partner_code)
        return [PartnerEndpoint.from_view(view) for view in views]

    @strawberry.field(
        description="Outbound deliveries newest first, with every attempt; failedOnly: the dead letters.",
        permission_classes=[IsOperator],
    )
    async def outbound_deliveries(
        self,
        info: Info,
        endpoint_id_: Annotated[
            strawberry.ID | None,
            strawberry.argument(name="endpointId", description="Only this endpoint's deliveries."),
        ] = None,
        failed_only: Annotated[
            bool, strawberry.argument(description="Only the dead letters (state failed).")
        ] = False,
        first: First = DEFAULT_PAGE_SIZE,
        after: After = None,
    ) -> Connection[OutboundDelivery]:
        hub = hub_of(info.context.hub)
        endpoint = None if endpoint_id_ is None else endpoint_id(str(endpoint_id_))
        return await connection(
            lambda request: hub.deliveries(endpoint_id=endpoint, failed_only=failed_only, request=request),
            page_request(first, after),
            OutboundDelivery.from_view,
        )

    @strawberry.field(
        description="Partner deliveries that failed (refused, or out of attempts), newest first.",
        permission_classes=[IsOperator],
    )
    async def inbox_dead_letters(
        self, info: Info, first: First = DEFAULT_PAGE_SIZE, after: After = None
    ) -> Connection[InboxDelivery]:
        hub = hub_of(info.context.hub)
        return await connection(
            lambda request: hub.inbox(unmatched=False, request=request),
            page_request(first, after),
            InboxDelivery.from_view,
        )

    @strawberry.field(
        description="Accruals parked because the member they name is not known (yet), newest first.",
        permission_classes=[IsOperator],
    )
    async def unmatched_accruals(
        self, info: Info, first: First = DEFAULT_PAGE_SIZE, after: After = None
    ) -> Connection[InboxDelivery]:
        hub = hub_of(info.context.hub)
        return await connection(
            lambda request: hub.inbox(unmatched=True, request=request),
            page_request(first, after),
            InboxDelivery.from_view,
        )

    @strawberry.field(
        description="Operational events to act on (an endpoint disabled, say), newest first.",
        permission_classes=[IsOperator],
    )
    async def operational_events(
        self,
        info: Info,
        include_acknowledged: Annotated[
            bool, strawberry.argument(description="Also the events operators acknowledged.")
        ] = False,
        first: First = DEFAULT_PAGE_SIZE,
        after: After = None,
    ) -> Connection[OperationalEvent]:
        hub = hub_of(info.context.hub)
        return await connection(
            lambda request: hub.operational_events(open_only=not include_acknowledged, request=request),
            page_request(first, after),
            OperationalEvent.from_view,
        )
