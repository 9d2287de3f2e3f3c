"""The member's lists that grow with time, as Relay connections with keyset cursors (``schema.connections``):
each field reads one page in one query, whatever its size. ``Member`` takes these fields from
``MemberConnections``; the plain lists they replace stay on ``Member``, deprecated."""

from __future__ import annotations

import strawberry

from loyalty.paging import DEFAULT_PAGE_SIZE
from resolvers import cards, consents, retro_credit, rewards, status
from schema.cards.types import CardOrder, ServiceCard
from schema.connections import After, Connection, First, connection, page_request
from schema.consents.types import Consent
from schema.retro_credit.types import PhotoCreditReceipt, RetroCreditRequest
from schema.rewards.types import Redemption
from schema.status.types import StatusHistoryEntry

PAGED = "A page at a time, newest first (Relay connection with keyset cursors)."


def replaced_by(field: str) -> str:
    """The deprecation reason of a plain list that ``field`` (a connection) replaces."""
    return f"Use {field}: the same items, newest first, a page at a time with keyset cursors."


@strawberry.type
class MemberConnections:
    account_id: strawberry.Private[int]

    @strawberry.field(
        description=f"Rewards the member redeemed with award miles, cancelled ones too. {PAGED}"
    )
    async def redemptions_connection(
        self, first: First = DEFAULT_PAGE_SIZE, after: After = None
    ) -> Connection[Redemption]:
        return await connection(
            lambda request: rewards.member_redemption_page(account_id=self.account_id, request=request),
            page_request(first, after),
            lambda listed: Redemption.from_model(listed.redemption, listed.reward),
        )

    @strawberry.field(description=f"Every change of the member's status. {PAGED}")
    async def status_history_connection(
        self, first: First = DEFAULT_PAGE_SIZE, after: After = None
    ) -> Connection[StatusHistoryEntry]:
        return await connection(
            lambda request: status.member_status_history_page(account_id=self.account_id, request=request),
            page_request(first, after),
            StatusHistoryEntry.from_model,
        )

    @strawberry.field(description=f"Every consent decision of the member. {PAGED}")
    async def consent_history_connection(
        self, first: First = DEFAULT_PAGE_SIZE, after: After = None
    ) -> Connection[Consent]:
        return await connection(
            lambda request: consents.consent_history_page(account_id=self.account_id, request=request),
            page_request(first, after),
            lambda record: Consent.from_record(record.purpose, record),
        )

    @strawberry.field(
        description="The member's retro-credit requests (flights credited afterwards), with their state "
        f"and, when rejected, the reason. {PAGED}"
    )
    async def retro_credit_requests_connection(
        self, first: First = DEFAULT_PAGE_SIZE, after: After = None
    ) -> Connection[RetroCreditRequest]:
        return await connection(
            lambda request: retro_credit.member_retro_credit_request_page(
                account_id=self.account_id, request=request
            ),
            page_request(first, after),
            RetroCreditRequest.from_model,
        )

    @strawberry.field(
        description="Receipt photos sent for photo credit (POST /photo-credit/receipts), with the partner's "
        f"verdict. {PAGED}"
    )
    async def receipts_connection(
        self, first: First = DEFAULT_PAGE_SIZE, after: After = None
    ) -> Connection[PhotoCreditReceipt]:
        return await connection(
            lambda request: retro_credit.member_receipt_page(account_id=self.account_id, request=request),
            page_request(first, after),
            PhotoCreditReceipt.from_model,
        )

    @strawberry.field(
        description="Every service card number the member has held: the active one, superseded ones and "
        f"blocked ones. {PAGED}"
    )
    async def card_history_connection(
        self, first: First = DEFAULT_PAGE_SIZE, after: After = None
    ) -> Connection[ServiceCard]:
        return await connection(
            lambda request: cards.card_history_page(account_id=self.account_id, request=request),
            page_request(first, after),
            ServiceCard.from_model,
        )

    @strawberry.field(description=f"Physical status cards ordered for the member. {PAGED}")
    async def card_orders_connection(
        self, first: First = DEFAULT_PAGE_SIZE, after: After = None
    ) -> Connection[CardOrder]:
        return await connection(
            lambda request: cards.card_order_page(account_id=self.account_id, request=request),
            page_request(first, after),
            CardOrder.from_model,
        )
