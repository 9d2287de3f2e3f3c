"""The signed-in member: ``me``, with what the document asks of them read ahead in one go."""

from __future__ import annotations

import strawberry

from resolvers import members
from schema.context import Info
from schema.errors import NotAuthenticated
from schema.ledger.types import ExpiringMiles, StatementConnection
from schema.members.selections import wanted
from schema.members.types import Member, MemberReads
from schema.offers.types import Offer
from schema.permissions import signed_in


@strawberry.type
class MemberQueries:
    @strawberry.field(description="The signed-in member (needs a bearer token).")
    async def me(self, info: Info) -> Member:
        """The member and what the document asks of them that can be read ahead (the first statement
        page, offers, miles expiring), together: the fields then answer from memory, and the whole
        dashboard completes without a task per field."""
        principal = signed_in(info.context)
        asked = wanted(info)
        dashboard = await members.dashboard(
            account_id=principal.account_id,
            statement_pages=asked.statement_pages,
            offer_counts=asked.offer_counts,
            miles_expiring=asked.miles_expiring,
        )
        if dashboard is None:
            raise NotAuthenticated()
        expiring = dashboard.miles_expiring
        reads = MemberReads(
            statement_pages={
                size: StatementConnection.from_page(page) for size, page in dashboard.statement_pages.items()
            },
            offers={
                count: [Offer.from_view(view) for view in views] for count, views in dashboard.offers.items()
            },
            miles_expiring=None if expiring is None else ExpiringMiles.listed(expiring),
        )
        return Member.from_snapshot(dashboard.member, reads)
