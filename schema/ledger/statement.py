"""The statement field's one page: a keyset page as a Relay connection, or the coded GraphQL error."""

from __future__ import annotations

import datetime as dt

from loyalty.errors import DomainError
from resolvers.statement import member_statement
from schema.errors import field_error
from schema.ledger.enums import Currency
from schema.ledger.types import StatementConnection


async def statement_connection(
    *,
    account_id: int,
    first: int,
    after: str | None,
    currency: Currency | None,
    source: str | None,
    from_date: dt.date | None,
    to_date: dt.date | None,
) -> StatementConnection:
    """A statement page, or the GraphQL error (CURSOR_INVALID, PAGE_SIZE_INVALID…) naming the argument."""
    try:
        page = await member_statement(
            account_id=account_id,
            first=first,
            after=after,
            currency=currency,
            source=source,
            from_date=from_date,
            to_date=to_date,
        )
    except DomainError as error:
        raise field_error(error) from error
    return StatementConnection.from_page(page)
