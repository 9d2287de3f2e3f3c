"""Statement resolver: one keyset page of the member's postings.

A bad cursor, page size or date range is a ``DomainError`` (CURSOR_INVALID, PAGE_SIZE_INVALID,
DATE_RANGE_INVALID) naming the argument; ``Member.statement`` is a field, not a mutation, so the schema
answers it as a GraphQL error with that code.
"""

from __future__ import annotations

import datetime as dt

from loyalty.ledger.models import Currency
from loyalty.ledger.statement import StatementPage, statement_page


async def member_statement(
    *,
    account_id: int,
    first: int,
    after: str | None,
    currency: Currency | None,
    source: str | None,
    from_date: dt.date | None,
    to_date: dt.date | None,
) -> StatementPage:
    """``Member.statement``: two queries per page, whatever its size."""
    return await statement_page(
        account_id=account_id,
        first=first,
        after=after,
        currency=currency,
        source=source,
        from_date=from_date,
        to_date=to_date,
    )
