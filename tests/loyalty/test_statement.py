"""The member's statement: newest first, keyset pages, filters, error codes, two queries per page."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import strawberry
from graphql import GraphQLEnumType, GraphQLObjectType
from tortoise import connections

from gateway.settings import Settings
from loyalty.crediting import post
from loyalty.errors import DomainError
from loyalty.ledger.models import Currency, Posting, PostingSource
from loyalty.ledger.statement import StatementPage, decode_cursor, encode_cursor, statement_page
from loyalty.rules import current_rules
from schema.ledger.statement import statement_connection
from schema.ledger.types import StatementConnection
from tests.factories import make_member

MILES = Currency.AWARD_MILES
DAY = dt.date(2026, 3, 1)


async def _post(
    account_id: int,
    key: str,
    amounts: dict[Currency, int] | None = None,
    *,
    source: PostingSource = PostingSource.TEST,
    activity_date: dt.date = DAY,
    partner_reference: str | None = None,
    description: str = "",
) -> int:
    result = await post(
        account_id=account_id,
        amounts=amounts or {MILES: 100},
        source=source,
        idempotency_key=key,
        activity_date=activity_date,
        rule_version="test",
        rules=current_rules(),
        partner_reference=partner_reference,
        description=description,
    )
    return result.posting_id


async def _page(account_id: int, first: int = 20, after: str | None = None, **filters: Any) -> StatementPage:
    arguments: dict[str, Any] = {"currency": None, "source": None, "from_date": None, "to_date": None}
    arguments.update(filters)
    return await statement_page(account_id=account_id, first=first, after=after, **arguments)


def _ids(page: StatementPage) -> list[int]:
    return [item.posting_id for item in page.items]


async def _member_with_postings(count: int, email: str = "statement@example.com") -> tuple[int, list[int]]:
    member = await make_member(email)
    ids = [await _post(member.member.id, f"{email}:{n}", {MILES: 100 + n}) for n in range(count)]
    return member.member.id, ids


async def _all_pages(account_id: int, first: int, **filters: Any) -> list[StatementPage]:
    pages = [await _page(account_id, first, **filters)]
    while pages[-1].has_next_page:
        pages.append(await _page(account_id, first, pages[-1].end_cursor, **filters))
    return pages


@contextmanager
def _counted_queries() -> Iterator[list[str]]:
    """Every SQL statement the default connection runs inside the block."""
    connection = connections.get("default")
    seen: list[str] = []
    originals = {name: getattr(connection, name) for name in ("execute_query", "execute_query_dict")}

    def counting(name: str) -> Any:
        async def run(sql: str, values: list[Any] | None = None) -> Any:
            seen.append(sql)
            return await originals[name](sql, values)

        return run

    for name in originals:
        setattr(connection, name, counting(name))
    try:
        yield seen
    finally:
        for name in originals:
            delattr(connection, name)


async def test_entries_are_newest_first_and_say_what_where_and_who(db: Settings) -> None:
    # given
    member = await make_member()
    account = member.member.id
    bonus = await _post(
        account, "bonus", {MILES: 500}, source=PostingSource.PROGRAMME_BONUS, description="Welcome"
    )
    flight = await _post(
        account,
        "flight",
        {MILES: 1200, Currency.POINTS: 300, Currency.QUALIFYING_POINTS: 300},
        source=PostingSource.PARTNER_ACCRUAL,
        activity_date=dt.date(2026, 2, 14),
        partner_reference="swiss:LX1234-2026-02-14",
        description="ZRH-JFK LX14",
    )
    # when
    page = await _page(account)
    # then
    assert _ids(page) == [flight, bonus]
    assert not page.has_next_page
    newest, oldest = page.items
    assert (newest.source, newest.partner_code, newest.description) == (
        "PARTNER_ACCRUAL",
        "swiss",
        "ZRH-JFK LX14",
    )
    assert newest.partner_reference == "swiss:LX1234-2026-02-14"
    assert newest.activity_date == dt.date(2026, 2, 14)
    # Qualifying Points also move the lifetime counter, in the same posting.
    assert newest.amounts == {
        MILES: 1200,
        Currency.POINTS: 300,
        Currency.QUALIFYING_POINTS: 300,
        Currency.LIFETIME_QUALIFYING_POINTS: 300,
    }
    assert (oldest.partner_code, oldest.amounts) == (None, {MILES: 500})
    assert newest.booked_at >= oldest.booked_at


async def test_pages_of_two_cover_every_posting_exactly_once(db: Settings) -> None:
    account, ids = await _member_with_postings(5)
    pages = await _all_pages(account, 2)
    assert [_ids(page) for page in pages] == [ids[4:2:-1], ids[2:0:-1], ids[0:1]]
    assert [page.has_next_page for page in pages] == [True, True, False]
    assert pages[-1].end_cursor == encode_cursor(decode_cursor(pages[-1].end_cursor or ""))


async def test_a_posting_booked_after_page_one_neither_shifts_nor_repeats_page_two(db: Settings) -> None:
    # given
    account, ids = await _member_with_postings(5)
    first = await _page(account, 2)
    # when
    newer = await _post(account, "booked-later", {MILES: 7})
    second = await _page(account, 2, first.end_cursor)
    # then: an offset of 2 would have repeated ids[3]
    assert _ids(second) == [ids[2], ids[1]]
    assert _ids(await _page(account, 10)) == [newer, *reversed(ids)]


async def test_postings_booked_in_the_same_microsecond_page_by_id(db: Settings) -> None:
    account, ids = await _member_with_postings(5)
    await Posting.filter(id__in=ids).update(created_at=dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC))
    pages = await _all_pages(account, 2)
    assert [posting for page in pages for posting in _ids(page)] == list(reversed(ids))


async def test_filter_by_currency_keeps_postings_that_moved_it(db: Settings) -> None:
    member = await make_member()
    account = member.member.id
    await _post(account, "miles-only", {MILES: 100})
    both = await _post(account, "both", {MILES: 100, Currency.POINTS: 40})
    points_only = await _post(account, "points-only", {Currency.POINTS: 60})
    page = await _page(account, currency=Currency.POINTS)
    assert _ids(page) == [points_only, both]
    assert page.items[1].amounts == {MILES: 100, Currency.POINTS: 40}  # the whole posting, not just POINTS
    assert _ids(await _page(account, currency=Currency.HON_CIRCLE_POINTS)) == []


async def test_filter_by_source_and_by_activity_dates_inclusive(db: Settings) -> None:
    member = await make_member()
    account = member.member.id
    early = await _post(account, "early", activity_date=dt.date(2026, 1, 31))
    start = await _post(
        account, "start", activity_date=dt.date(2026, 2, 1), source=PostingSource.PROGRAMME_BONUS
    )
    end = await _post(account, "end", activity_date=dt.date(2026, 2, 28))
    late = await _post(account, "late", activity_date=dt.date(2026, 3, 1))
    february: dict[str, Any] = {"from_date": dt.date(2026, 2, 1), "to_date": dt.date(2026, 2, 28)}
    assert _ids(await _page(account, **february)) == [end, start]
    assert _ids(await _page(account, from_date=dt.date(2026, 2, 28))) == [late, end]
    assert _ids(await _page(account, to_date=dt.date(2026, 1, 31))) == [early]
    assert _ids(await _page(account, source="PROGRAMME_BONUS")) == [start]
    assert _ids(await _page(account, source="TEST", **february)) == [end]


async def test_filters_hold_across_pages(db: Settings) -> None:
    member = await make_member()
    account = member.member.id
    wanted = []
    for n in range(6):
        posting = await _post(
            account, f"p{n}", source=PostingSource.PROGRAMME_BONUS if n % 2 else PostingSource.TEST
        )
        if n % 2:
            wanted.append(posting)
    pages = await _all_pages(account, 1, source="PROGRAMME_BONUS")
    assert [posting for page in pages for posting in _ids(page)] == list(reversed(wanted))


async def test_another_members_postings_never_appear(db: Settings) -> None:
    account, ids = await _member_with_postings(3)
    other, _ = await _member_with_postings(3, email="other@example.com")
    assert [p for page in await _all_pages(account, 2) for p in _ids(page)] == list(reversed(ids))
    assert _ids(await _page(account, currency=MILES)) == list(reversed(ids))
    # a cursor names a position, not an account: the other member's cursor still shows only this member's
    foreign_cursor = (await _page(other, 1)).end_cursor
    assert set(_ids(await _page(account, 10, foreign_cursor))) <= set(ids)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64 at all!",
        "ünïcode",
        _b64("v2:1772366400000000:1"),
        _b64("v1:1772366400000000"),
        _b64("v1:-1:1"),
        _b64("v1:1772366400000000:0"),
        _b64("v1:1772366400000000:01"),
        _b64("v1:99999999999999999999999:1"),
        _b64("v1:177236640000000x:1"),
        "1",
    ],
)
async def test_a_cursor_we_did_not_hand_out_is_cursor_invalid(db: Settings, cursor: str) -> None:
    member = await make_member()
    with pytest.raises(DomainError) as raised:
        await _page(member.member.id, 2, cursor)
    assert (raised.value.code, raised.value.field) == ("CURSOR_INVALID", "after")


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_page_size_is_one_to_a_hundred(db: Settings, first: int) -> None:
    member = await make_member()
    with pytest.raises(DomainError) as raised:
        await _page(member.member.id, first)
    assert (raised.value.code, raised.value.field) == ("PAGE_SIZE_INVALID", "first")


async def test_page_sizes_one_and_a_hundred_are_fine(db: Settings) -> None:
    account, ids = await _member_with_postings(2)
    assert _ids(await _page(account, 1)) == [ids[1]]
    assert _ids(await _page(account, 100)) == list(reversed(ids))


async def test_a_range_that_ends_before_it_starts_is_date_range_invalid(db: Settings) -> None:
    member = await make_member()
    with pytest.raises(DomainError) as raised:
        await _page(member.member.id, from_date=dt.date(2026, 2, 2), to_date=dt.date(2026, 2, 1))
    assert raised.value.code == "DATE_RANGE_INVALID"


async def test_every_page_takes_two_queries_whatever_its_size(db: Settings) -> None:
    account, _ = await _member_with_postings(12)
    with _counted_queries() as small:
        first = await _page(account, 2, currency=MILES)
    with _counted_queries() as large:
        second = await _page(account, 10, first.end_cursor, currency=MILES)
    with _counted_queries() as empty:
        await _page(account, 5, source="NOTHING")
    assert (len(first.items), len(second.items)) == (2, 10)
    assert len(small) == len(large) == 2
    assert all("LIMIT" in sql.upper() and "OFFSET" not in sql.upper() for sql in (small[0], large[0]))
    assert "ledger_entries" in small[1] and "ledger_entries" in large[1]
    assert len(empty) == 1  # no postings, no entries to fetch


async def test_an_unfiltered_page_takes_one_statement_whatever_its_size(db: Settings) -> None:
    account, _ = await _member_with_postings(12)
    with _counted_queries() as small:
        first = await _page(account, 2)
    with _counted_queries() as large:
        second = await _page(account, 10, first.end_cursor)
    with _counted_queries() as last:
        third = await _page(account, 10, second.end_cursor)
    assert (len(first.items), len(second.items), len(third.items)) == (2, 10, 0)
    assert (first.has_next_page, second.has_next_page, third.has_next_page) == (True, False, False)
    assert len(small) == len(large) == len(last) == 1
    assert all("LIMIT" in sql.upper() and "OFFSET" not in sql.upper() for sql in small + large)
    assert "ledger_entries" in small[0] and "ledger_entries" in large[0]


async def test_an_unfiltered_page_reads_what_the_filtered_path_reads(db: Settings) -> None:
    # given postings moving one or several currencies, with and without a partner reference
    member = await make_member()
    account = member.member.id
    for n in range(7):
        amounts = {MILES: 100 + n, Currency.POINTS: n + 1} if n % 2 else {MILES: 100 + n}
        reference = f"swiss:T{n}" if n % 3 else None
        await _post(account, f"same:{n}", amounts, partner_reference=reference, description=f"p{n}")
    # when every page is read without filters (one fixed statement) and with a filter that keeps all
    unfiltered = await _all_pages(account, 3)
    filtered = await _all_pages(account, 3, from_date=dt.date(2000, 1, 1))
    # then both read the same items, amounts, cursors and page ends
    assert unfiltered == filtered
    assert [len(page.items) for page in unfiltered] == [3, 3, 1]
    assert list(unfiltered[0].items[1].amounts) in ([MILES, Currency.POINTS], [MILES])


# GraphQL: a tiny schema exposes the statement field's page (``schema.ledger.statement``) on its own.


@dataclass
class SignedIn:
    account_id: int


@strawberry.type(description="Test root.")
class StatementQuery:
    @strawberry.field(description="The signed-in member's statement.")  # type: ignore[untyped-decorator]
    async def my_statement(
        self,
        info: strawberry.Info[SignedIn, None],
        first: int = 20,
        after: str | None = None,
        currency: Currency | None = None,
        source: str | None = None,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
    ) -> StatementConnection:
        return await statement_connection(
            account_id=info.context.account_id,
            first=first,
            after=after,
            currency=currency,
            source=source,
            from_date=from_date,
            to_date=to_date,
        )


STATEMENT_SCHEMA = strawberry.Schema(query=StatementQuery)

MY_STATEMENT = """
query Statement($first: Int, $after: String, $currency: Currency, $fromDate: Date) {
  myStatement(first: $first, after: $after, currency: $currency, fromDate: $fromDate) {
    edges {
      cursor
      node {
        postingId activityDate bookedAt source partnerCode partnerReference description
        amounts { currency amount }
      }
    }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def _statement(account_id: int, **variables: Any) -> Any:
    return await STATEMENT_SCHEMA.execute(
        MY_STATEMENT, variable_values=variables, context_value=SignedIn(account_id=account_id)
    )


async def test_graphql_connection_pages_with_cursors(db: Settings) -> None:
    # given
    member = await make_member()
    account = member.member.id
    older = await _post(account, "older", {MILES: 100})
    newer = await _post(
        account,
        "newer",
        {MILES: 900, Currency.POINTS: 450},
        source=PostingSource.PARTNER_ACCRUAL,
        activity_date=dt.date(2026, 2, 14),
        partner_reference="swiss:T-1",
        description="ZRH-JFK",
    )
    # when
    first = await _statement(account, first=1, currency="AWARD_MILES")
    # then
    assert first.errors is None
    connection = first.data["myStatement"]
    [edge] = connection["edges"]
    assert edge["node"] | {"bookedAt": None} == {
        "postingId": str(newer),
        "activityDate": "2026-02-14",
        "bookedAt": None,
        "source": "PARTNER_ACCRUAL",
        "partnerCode": "swiss",
        "partnerReference": "swiss:T-1",
        "description": "ZRH-JFK",
        "amounts": [{"currency": "AWARD_MILES", "amount": 900}, {"currency": "POINTS", "amount": 450}],
    }
    assert connection["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": edge["cursor"],
        "endCursor": edge["cursor"],
    }
    second = (await _statement(account, first=1, after=edge["cursor"])).data["myStatement"]
    assert [e["node"]["postingId"] for e in second["edges"]] == [str(older)]
    assert second["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"after": "bm9wZQ=="}, "CURSOR_INVALID", "after"),
        ({"first": 0}, "PAGE_SIZE_INVALID", "first"),
        ({"first": 101}, "PAGE_SIZE_INVALID", "first"),
    ],
)
async def test_graphql_bad_arguments_are_errors_with_a_code(
    db: Settings, variables: dict[str, Any], code: str, field: str
) -> None:
    member = await make_member()
    result = await _statement(member.member.id, **variables)
    assert result.data is None
    [error] = result.errors or []
    assert error.extensions == {"code": code, "field": field}


def test_statement_types_are_described() -> None:
    schema = STATEMENT_SCHEMA._schema
    ours = [
        "Currency",
        "PageInfo",
        "StatementAmount",
        "StatementConnection",
        "StatementEdge",
        "StatementEntry",
    ]
    missing = [name for name in ours if not schema.type_map[name].description]
    for name in ours:
        graphql_type = schema.type_map[name]
        if isinstance(graphql_type, GraphQLObjectType):
            missing += [f"{name}.{f}" for f, field in graphql_type.fields.items() if not field.description]
    assert isinstance(schema.type_map["Currency"], GraphQLEnumType)
    assert missing == []
