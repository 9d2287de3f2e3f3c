"""The ledger as the member sees it: balances, miles expiring, and the statement as a Relay connection (keyset cursors; see ``loyalty.ledger.statement``).

Hand-written rather than ``strawberry.relay.ListConnection``: that one slices a list by offset, and its
cursors are positions, which shift when a posting is booked between two pages. ``PageInfo`` is Relay's own.
"""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.relay import PageInfo

from loyalty.ledger.models import Currency as Held
from loyalty.ledger.statement import StatementItem, StatementPage
from schema.connections import page_info
from schema.ledger.enums import Currency


@strawberry.type(description="What one statement entry moved in one currency, from the member's side.")
class StatementAmount:
    currency: Currency = strawberry.field(description="The currency moved.")
    amount: int = strawberry.field(description="Signed: positive credits the member, negative debits.")


@strawberry.type(
    description="One transaction on the member's statement: a flight, a partner purchase, a bonus, a "
    "redemption, expiry or a correction, with what it moved in each currency."
)
class StatementEntry:
    posting_id: strawberry.ID = strawberry.field(description="The ledger posting this entry shows.")
    activity_date: dt.date = strawberry.field(
        description="When it happened (flight date, purchase date); expiry of award miles counts from it."
    )
    booked_at: dt.datetime = strawberry.field(
        description="When the programme booked it; the statement is ordered by it, newest first."
    )
    source: str = strawberry.field(
        description="Where it came from: PARTNER_ACCRUAL, RETRO_CREDIT, PROGRAMME_BONUS, REDEMPTION, "
        "EXPIRY, a reversal or an adjustment."
    )
    partner_code: str | None = strawberry.field(
        description="The partner that reported it (e.g. swiss), if a partner did."
    )
    partner_reference: str | None = strawberry.field(
        description="The partner's reference, partner code:transaction id, to quote when asking about it."
    )
    description: str = strawberry.field(description="What it was, as the partner or programme put it.")
    amounts: list[StatementAmount] = strawberry.field(
        description="What it moved, per currency (only currencies it moved)."
    )

    @classmethod
    def from_item(cls, item: StatementItem) -> StatementEntry:
        return cls(
            posting_id=strawberry.ID(str(item.posting_id)),
            activity_date=item.activity_date,
            booked_at=item.booked_at,
            source=item.source,
            partner_code=item.partner_code,
            partner_reference=item.partner_reference,
            description=item.description,
            amounts=[StatementAmount(currency=c, amount=a) for c, a in item.amounts.items()],
        )


@strawberry.type(description="A statement entry and the cursor to continue after it.")
class StatementEdge:
    cursor: str = strawberry.field(description="Opaque; pass it as `after` to read the entries after this.")
    node: StatementEntry = strawberry.field(description="The statement entry.")


@strawberry.type(description="One page of the member's statement, newest first.")
class StatementConnection:
    edges: list[StatementEdge] = strawberry.field(description="The entries of this page, newest first.")
    page_info: PageInfo = strawberry.field(description="Whether more entries follow, and where to continue.")

    @classmethod
    def from_page(cls, page: StatementPage) -> StatementConnection:
        edges = [
            StatementEdge(cursor=item.cursor, node=StatementEntry.from_item(item)) for item in page.items
        ]
        return cls(edges=edges, page_info=page_info([edge.cursor for edge in edges], page.has_next_page))


@strawberry.type(description="What the member holds in each currency of the programme.")
class Balances:
    award_miles: int = strawberry.field(
        description="Award miles: redeemable from 3,000; each credit expires."
    )
    points: int = strawberry.field(description="Points of this calendar year: they count towards status.")
    qualifying_points: int = strawberry.field(description="Qualifying Points of this calendar year.")
    hon_circle_points: int = strawberry.field(description="HON Circle Points of this calendar year.")
    lifetime_qualifying_points: int = strawberry.field(
        description="All Qualifying Points ever (lifetime status)."
    )

    @classmethod
    def from_amounts(cls, amounts: dict[Held, int]) -> Balances:
        return cls(
            award_miles=amounts[Currency.AWARD_MILES],
            points=amounts[Currency.POINTS],
            qualifying_points=amounts[Currency.QUALIFYING_POINTS],
            hon_circle_points=amounts[Currency.HON_CIRCLE_POINTS],
            lifetime_qualifying_points=amounts[Currency.LIFETIME_QUALIFYING_POINTS],
        )


@strawberry.type(
    description="Award miles that expire at the end of a quarter unless spent first (36 months, then quarter end)."
)
class ExpiringMiles:
    expires_on: dt.date = strawberry.field(
        description="Last day of the quarter; the miles are gone the day after."
    )
    miles: int = strawberry.field(description="How many award miles expire then.")

    @classmethod
    def listed(cls, rows: list[tuple[dt.date, int]]) -> list[ExpiringMiles]:
        return [cls(expires_on=day, miles=miles) for day, miles in rows]
