"""Keyset pages, newest first: the one implementation of cursors and page sizes every list that grows
with time uses (the statement, a member's redemptions and histories, the operators' hub lists).

A page is read with one query whatever its size: ``LIMIT first + 1`` rows past the cursor's key, the
extra row only telling whether another page follows. The key is either (a time, the row's id), both
descending, for lists ordered by when something happened (the id breaks ties within a microsecond), or
the id alone, for lists ordered by insertion.

A cursor is opaque to clients: URL-safe base64 of ``v1:`` and the key's parts as decimal integers (a
time in microseconds since 1970 UTC), e.g. ``v1:<µs>:<id>``. Unlike an offset it names a position in
the ordering, so rows added after the first page was read neither shift nor repeat the next one. A
cursor of the wrong shape for the list (a time-keyed cursor for an id-keyed list, say), or one this
module did not produce, is ``CURSOR_INVALID``; a page size outside 1 to ``MAX_PAGE_SIZE``,
``PAGE_SIZE_INVALID``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from loyalty.errors import ValidationFailed

MAX_PAGE_SIZE = 100
"""The largest page any connection hands out."""
DEFAULT_PAGE_SIZE = 20
"""A connection's page size when the client names none."""

_VERSION = "v1"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)

T = TypeVar("T")
M = TypeVar("M", bound=Model)


class CursorInvalid(ValidationFailed):
    code = "CURSOR_INVALID"


class PageSizeInvalid(ValidationFailed):
    code = "PAGE_SIZE_INVALID"


@dataclass(frozen=True, slots=True)
class PageRequest:
    """``first`` items after the ``after`` cursor (None: from the newest)."""

    first: int = DEFAULT_PAGE_SIZE
    after: str | None = None


def check_page_size(first: int, *, maximum: int = MAX_PAGE_SIZE, field: str = "first") -> None:
    if not 1 <= first <= maximum:
        raise PageSizeInvalid(f"A page holds 1 to {maximum} entries.", field=field)


def micros_of(moment: dt.datetime) -> int:
    """A time as microseconds since 1970 UTC (the cursor's integer form)."""
    return (moment - _EPOCH) // _MICROSECOND


def moment_of(micros: int) -> dt.datetime:
    return _EPOCH + micros * _MICROSECOND


def encode_cursor(*parts: int) -> str:
    raw = ":".join((_VERSION, *(str(part) for part in parts)))
    return base64.urlsafe_b64encode(raw.encode("ascii")).decode("ascii")


def decode_cursor(cursor: str, *, parts: int, field: str = "after") -> tuple[int, ...]:
    """The ``parts`` non-negative integers a cursor holds; CURSOR_INVALID for anything ``encode_cursor``
    did not produce with that many parts (the last, an id, is at least 1)."""
    invalid = CursorInvalid("The cursor is not one this list handed out.", field=field)
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (UnicodeError, binascii.Error, ValueError):
        raise invalid from None
    version, *values = raw.split(":")
    if version != _VERSION or len(values) != parts or not all(v.isascii() and v.isdigit() for v in values):
        raise invalid
    numbers = tuple(int(value) for value in values)
    if numbers[-1] < 1 or encode_cursor(*numbers) != cursor:
        raise invalid  # not canonical (leading zeros, padding games): not one of ours
    return numbers


def decode_time_key(cursor: str, *, field: str = "after") -> tuple[dt.datetime, int]:
    """The (time, id) a time-keyed cursor names."""
    micros, row_id = decode_cursor(cursor, parts=2, field=field)
    try:
        return moment_of(micros), row_id
    except OverflowError:
        raise CursorInvalid("The cursor is not one this list handed out.", field=field) from None


def time_cursor(moment: dt.datetime, row_id: int) -> str:
    return encode_cursor(micros_of(moment), row_id)


def id_cursor(row_id: int) -> str:
    return encode_cursor(row_id)


@dataclass(frozen=True, slots=True)
class Edge(Generic[T]):
    cursor: str
    node: T


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page, newest first: each item with the cursor to continue after it."""

    edges: list[Edge[T]]
    has_next_page: bool

    @property
    def end_cursor(self) -> str | None:
        return self.edges[-1].cursor if self.edges else None

    def map(self, convert: Callable[[T], Any]) -> Page[Any]:
        """The same page with each item converted (cursors and continuation unchanged)."""
        return Page([Edge(edge.cursor, convert(edge.node)) for edge in self.edges], self.has_next_page)


def page_of(rows: Sequence[T], first: int, cursor: Callable[[T], str]) -> Page[T]:
    """A page from up to ``first + 1`` rows read in order (the extra row says another page follows)."""
    return Page([Edge(cursor(row), row) for row in rows[:first]], has_next_page=len(rows) > first)


async def newest_first(query: QuerySet[M], request: PageRequest, *, time_field: str | None = None) -> Page[M]:
    """One page of ``query``'s rows, newest first: by ``time_field`` and id (both descending), or by id
    alone without one. One query: the rows after the cursor's key, ``first + 1`` of them."""
    check_page_size(request.first)
    if time_field is None:
        if request.after is not None:
            (last_id,) = decode_cursor(request.after, parts=1)
            query = query.filter(id__lt=last_id)
        rows = await query.order_by("-id").limit(request.first + 1)
        return page_of(rows, request.first, lambda row: id_cursor(row.pk))
    if request.after is not None:
        at, last_id = decode_time_key(request.after)
        earlier: dict[str, Any] = {f"{time_field}__lt": at}
        same_time: dict[str, Any] = {time_field: at, "id__lt": last_id}
        query = query.filter(Q(**earlier) | Q(**same_time))
    rows = await query.order_by(f"-{time_field}", "-id").limit(request.first + 1)
    return page_of(rows, request.first, lambda row: time_cursor(getattr(row, time_field), row.pk))
