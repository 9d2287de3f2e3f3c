"""Relay connections over ``loyalty.paging``'s keyset pages: one generic ``Connection``/``Edge`` pair (a
``Connection[Redemption]`` is the type ``RedemptionConnection``), the shared ``first``/``after``
arguments, and the one place a bad page size or cursor becomes a GraphQL error.

Why an error and not a typed result: a Relay client paginates a field only when it returns a connection
type (Relay's ``@connection``), so a connection field cannot answer a union with ``InputError``. The
codes are announced instead: ``PAGE_SIZE_INVALID`` (first outside 1 to 100) and ``CURSOR_INVALID``
(an ``after`` this list did not hand out), each with the argument in ``extensions.field``.

``StatementConnection`` (``schema/ledger/types.py``) predates this module and keeps its name; it is built
the same way (``page_info``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from strawberry.relay import PageInfo

from loyalty.errors import DomainError
from loyalty.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageRequest
from schema.errors import field_error

NodeT = TypeVar("NodeT")

First = Annotated[
    int,
    strawberry.argument(
        description=f"Items per page, 1 to {MAX_PAGE_SIZE} (PAGE_SIZE_INVALID otherwise; default "
        f"{DEFAULT_PAGE_SIZE})."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description="The endCursor of the previous page; none: from the newest (CURSOR_INVALID for a "
        "cursor this list did not hand out)."
    ),
]


@strawberry.type(description="An item of a page and the cursor to continue after it.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Opaque; pass it as `after` to read the items after this one.")
    node: NodeT = strawberry.field(description="The item.")


@strawberry.type(description="One page of a list, newest first (a Relay connection with keyset cursors).")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The items of this page, newest first.")
    page_info: PageInfo = strawberry.field(description="Whether more items follow, and where to continue.")

    @classmethod
    def of(cls, page: Page[Any], convert: Callable[[Any], NodeT]) -> Connection[NodeT]:
        edges = [Edge(cursor=edge.cursor, node=convert(edge.node)) for edge in page.edges]
        return cls(edges=edges, page_info=page_info([edge.cursor for edge in edges], page.has_next_page))


def page_info(cursors: list[str], has_next_page: bool) -> PageInfo:
    return PageInfo(
        has_next_page=has_next_page,
        # Forward-only (first/after): Relay allows false here rather than a second query.
        has_previous_page=False,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


def page_request(first: int, after: str | None) -> PageRequest:
    return PageRequest(first=first, after=after)


async def connection(
    read: Callable[[PageRequest], Awaitable[Page[Any]]],
    request: PageRequest,
    convert: Callable[[Any], NodeT],
) -> Connection[NodeT]:
    """Read one page and answer it as a connection; a refused page size or cursor is the coded GraphQL
    error naming the argument."""
    try:
        page = await read(request)
    except DomainError as error:
        raise field_error(error) from error
    return Connection.of(page, convert)
