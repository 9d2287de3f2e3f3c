"""The member's statement: their postings, newest first, one keyset page at a time.

A page is read with two queries whatever its size: the postings (``LIMIT first + 1``, the extra row only
tells whether another page follows) and the member entries of exactly those postings. A page without
filters (the dashboard's) is one fixed statement: those postings joined to their entries.

The key is (``created_at``, ``id``), both descending. ``created_at`` is when the programme booked the
posting, which is what "newest first" means to the member, and what the ``(account_id, created_at)``
index serves; the id only breaks ties between postings booked in the same microsecond. Posting ids alone
would also be monotonic today (one sequence), but they stop saying "when" once postings are written on
several shards, and the key should not depend on how ids are handed out.

The cursor is opaque to clients: URL-safe base64 of ``v1:<booked_at in µs since 1970 UTC>:<posting id>``
(``loyalty.paging``'s time-keyed cursor, shared with every other connection).
Unlike an offset, it names a position in the ordering, so postings booked after the first page was read
neither shift nor repeat the next one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q, Subquery

from loyalty.errors import ValidationFailed
from loyalty.fixed_sql import as_date, as_datetime, enum_by_value, fetch
from loyalty.ledger.models import Currency, Entry, Posting
from loyalty.paging import check_page_size, decode_time_key, time_cursor


class DateRangeInvalid(ValidationFailed):
    code = "DATE_RANGE_INVALID"


@dataclass(frozen=True, slots=True)
class StatementKey:
    """A posting's place in the statement's order."""

    booked_at: dt.datetime
    posting_id: int


@dataclass(frozen=True, slots=True)
class StatementItem:
    """One line of the statement: a posting and what it moved on the member's side."""

    posting_id: int
    activity_date: dt.date
    booked_at: dt.datetime
    source: str
    partner_code: str | None
    partner_reference: str | None
    description: str
    amounts: dict[Currency, int]

    @property
    def cursor(self) -> str:
        return encode_cursor(StatementKey(booked_at=self.booked_at, posting_id=self.posting_id))


@dataclass(frozen=True, slots=True)
class StatementPage:
    items: list[StatementItem]
    has_next_page: bool
    end_cursor: str | None

    def head(self, first: int) -> StatementPage:
        """The first ``first`` entries of this page, as the page of that size would be."""
        if first >= len(self.items):
            return self
        items = self.items[:first]
        return StatementPage(items=items, has_next_page=True, end_cursor=items[-1].cursor if items else None)


def encode_cursor(key: StatementKey) -> str:
    return time_cursor(key.booked_at, key.posting_id)


def decode_cursor(cursor: str) -> StatementKey:
    """The key a cursor names; CURSOR_INVALID for anything ``encode_cursor`` did not produce."""
    booked_at, posting_id = decode_time_key(cursor)
    return StatementKey(booked_at=booked_at, posting_id=posting_id)


def partner_code_of(partner_reference: str | None) -> str | None:
    """The partner's code in a ``code:transaction`` reference (see webhooks/accruals.py); None otherwise."""
    if partner_reference is None:
        return None
    code, separator, _ = partner_reference.partition(":")
    return code if separator and code else None


async def statement_page(
    *,
    account_id: int,
    first: int,
    after: str | None,
    currency: Currency | None,
    source: str | None,
    from_date: dt.date | None,
    to_date: dt.date | None,
) -> StatementPage:
    """The member's postings, newest booked first, ``first`` (1 to 100) after the ``after`` cursor.

    Filters: postings that moved ``currency``; of ``source``; with an activity date from ``from_date`` to
    ``to_date`` (both inclusive).
    """
    check_page_size(first)
    if from_date is not None and to_date is not None and from_date > to_date:
        raise DateRangeInvalid("The date range ends before it starts.", field="to_date")
    key = decode_cursor(after) if after is not None else None
    if currency is None and source is None and from_date is None and to_date is None:
        return await _unfiltered_page(account_id=account_id, first=first, key=key)
    postings = Posting.filter(account_id=account_id)
    if currency is not None:
        moved = Entry.filter(account_id=account_id, currency=currency).values("posting_id")
        postings = postings.filter(id__in=Subquery(moved))
    if source is not None:
        postings = postings.filter(source=source)
    if from_date is not None:
        postings = postings.filter(activity_date__gte=from_date)
    if to_date is not None:
        postings = postings.filter(activity_date__lte=to_date)
    if key is not None:
        postings = postings.filter(
            Q(created_at__lt=key.booked_at) | Q(created_at=key.booked_at, id__lt=key.posting_id)
        )
    rows = await postings.order_by("-created_at", "-id").limit(first + 1)
    page = rows[:first]
    amounts = await _member_amounts(account_id=account_id, posting_ids=[posting.id for posting in page])
    items = [_item(posting, amounts[posting.id]) for posting in page]
    return StatementPage(
        items=items, has_next_page=len(rows) > first, end_cursor=items[-1].cursor if items else None
    )


_PAGE_COLUMNS = """p.id, p.activity_date, p.created_at, p.source, p.partner_reference, p.description,
       e.currency, e.amount"""
FIRST_PAGE_SQL = f"""
SELECT {_PAGE_COLUMNS}
FROM (SELECT id, activity_date, created_at, source, partner_reference, description FROM postings
      WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2) p
LEFT JOIN ledger_entries e ON e.account_id = $1 AND e.posting_id = p.id
ORDER BY p.created_at DESC, p.id DESC
"""  # noqa: S608 - constant fragments, no input
_PAGE_AFTER_SQL = f"""
SELECT {_PAGE_COLUMNS}
FROM (SELECT id, activity_date, created_at, source, partner_reference, description FROM postings
      WHERE account_id = $1 AND (created_at < $3 OR (created_at = $3 AND id < $4))
      ORDER BY created_at DESC, id DESC LIMIT $2) p
LEFT JOIN ledger_entries e ON e.account_id = $1 AND e.posting_id = p.id
ORDER BY p.created_at DESC, p.id DESC
"""  # noqa: S608 - constant fragments, no input


async def _unfiltered_page(*, account_id: int, first: int, key: StatementKey | None) -> StatementPage:
    """A page without filters, the common case (the dashboard's): postings and their member entries in
    one fixed statement (the page's postings, joined to their entries)."""
    if key is None:
        rows = await fetch(FIRST_PAGE_SQL, account_id, first + 1)
    else:
        rows = await fetch(_PAGE_AFTER_SQL, account_id, first + 1, key.booked_at, key.posting_id)
    return page_from_rows(rows, first)


_CURRENCY = enum_by_value(Currency)


def page_from_rows(rows: list[dict[str, Any]], first: int) -> StatementPage:
    """A page of ``first`` entries from the rows of ``FIRST_PAGE_SQL`` or ``_PAGE_AFTER_SQL`` (up to
    ``first + 1`` postings, each joined to its entries, newest first)."""
    postings: dict[int, dict[str, Any]] = {}
    amounts: dict[int, dict[Currency, int]] = {}
    for row in rows:
        posting_id = int(row["id"])
        if posting_id not in postings:
            postings[posting_id], amounts[posting_id] = row, {}
        if row["currency"] is not None:
            currency = _CURRENCY(row["currency"])
            moved = amounts[posting_id]
            moved[currency] = moved.get(currency, 0) + int(row["amount"])
    page = list(postings.items())[:first]
    items = [
        StatementItem(
            posting_id=posting_id,
            activity_date=as_date(row["activity_date"]),
            booked_at=as_datetime(row["created_at"]),
            source=row["source"],
            partner_code=partner_code_of(row["partner_reference"]),
            partner_reference=row["partner_reference"],
            description=row["description"],
            amounts=_in_currency_order(amounts[posting_id]),
        )
        for posting_id, row in page
    ]
    return StatementPage(
        items=items, has_next_page=len(postings) > first, end_cursor=items[-1].cursor if items else None
    )


_CURRENCY_ORDER = tuple(Currency)


def _in_currency_order(amounts: dict[Currency, int]) -> dict[Currency, int]:
    if len(amounts) < 2:
        return amounts
    return {currency: amounts[currency] for currency in _CURRENCY_ORDER if currency in amounts}


async def _member_amounts(*, account_id: int, posting_ids: list[int]) -> dict[int, dict[Currency, int]]:
    """The member's entries of these postings, in one query."""
    grouped: dict[int, dict[Currency, int]] = defaultdict(dict)
    if not posting_ids:
        return grouped
    rows = await Entry.filter(account_id=account_id, posting_id__in=posting_ids).values_list(
        "posting_id", "currency", "amount"
    )
    for posting_id, currency, amount in rows:
        by_currency = grouped[int(posting_id)]
        by_currency[Currency(currency)] = by_currency.get(Currency(currency), 0) + int(amount)
    return grouped


def _item(posting: Posting, amounts: dict[Currency, int]) -> StatementItem:
    return StatementItem(
        posting_id=posting.id,
        activity_date=posting.activity_date,
        booked_at=posting.created_at,
        source=posting.source,
        partner_code=partner_code_of(posting.partner_reference),
        partner_reference=posting.partner_reference,
        description=posting.description,
        amounts=_in_currency_order(amounts),
    )
