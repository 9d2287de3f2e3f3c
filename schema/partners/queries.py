"""The partner registry for operators."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import partners
from resolvers.partners import directory_of
from schema.context import Info
from schema.partners.arguments import PARTNER_CODE
from schema.partners.types import Partner
from schema.permissions import IsOperator


@strawberry.type
class PartnerQueries:
    @strawberry.field(
        description="Every partner with its capabilities and signing keys.",
        permission_classes=[IsOperator],
    )
    async def partners(self, info: Info) -> list[Partner]:
        views = await directory_of(info.context.partners).list_partners()
        return [Partner.from_view(view) for view in views]

    @strawberry.field(description="One partner by code, or null.", permission_classes=[IsOperator])
    async def partner(
        self, info: Info, code: Annotated[str, strawberry.argument(description=PARTNER_CODE)]
    ) -> Partner | None:
        view = await partners.partner(directory_of(info.context.partners), code)
        return None if view is None else Partner.from_view(view)
