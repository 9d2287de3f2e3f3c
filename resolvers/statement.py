"""Statement resolver: one keyset page of the member's postings, or a GraphQL error with a code.

``Member.statement`` is a field, not a mutation, so a bad cursor or page size cannot come back as a typed
result: it is a GraphQL error whose ``extensions.code`` says which (CURSOR_INVALID, PAGE_SIZE_INVALID,
DATE_RANGE_INVALID) and ``extensions.field`` which argument.
"""

from __future__ import annotations

import datetime as dt

from graphql import GraphQLError
from strawberry.utils.str_converters import to_camel_case

from loyalty.errors import DomainError
from loyalty.ledger.models import Currency
from loyalty.ledger.statement import statement_page
from schema.statement import StatementConnection


async def member_statement(
    *,
    account_id: int,
    first: int,
    after: str | None,
    currency: Currency | None,
    source: str | None,
    from_date: dt.date | None,
    to_date: dt.date | None,
) -> StatementConnection:
    """``Member.statement``: two queries per page, whatever its size."""
    try:
        page = await statement_page(
            account_id=account_id,
            first=first,
            after=after,
            currency=currency,
            source=source,
            from_date=from_date,
            to_date=to_date,
        )
    except DomainError as error:
        field = to_camel_case(error.field) if error.field else None
        raise GraphQLError(error.message, extensions={"code": error.code, "field": field}) from error
    return StatementConnection.from_page(page)
