"""The member with what their dashboard shows: one round trip on PostgreSQL.

``read_dashboard`` answers what the member snapshot (``SNAPSHOT_SQL``), the statement's first page, ``offers_for`` and the
miles expiring answer, for the parts asked for. On PostgreSQL their fixed statements become subqueries
of one statement that returns each part as JSON built by the database (one row), so the dashboard costs
one round trip instead of four: the round trips, not the database's work, were most of its cost. On
SQLite (one connection, in-process) the parts are read one after the other.

Each part's rows are the rows its own statement returns, so the same functions turn them into the
domain's values on either database (``snapshot_from_row``, ``page_from_rows``, ``offers_from_rows``,
``expiring_from_rows``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from loyalty.dashboard.snapshot import SNAPSHOT_SQL, MemberSnapshot, snapshot_from_row
from loyalty.fixed_sql import dialect, fetch
from loyalty.ledger.expiry import DUE_AND_PROTECTIONS_SQL, expiring_from_rows
from loyalty.ledger.quarters import next_quarter_end, quarter_end
from loyalty.ledger.statement import FIRST_PAGE_SQL, StatementPage, page_from_rows
from loyalty.offers.service import OFFERS_SQL, OfferView, affinity_since, offers_from_rows

_PARAMETER = re.compile(r"\$(\d+)")


@dataclass(frozen=True, slots=True)
class DashboardReads:
    member: MemberSnapshot
    statement: StatementPage | None
    """The first ``page_size`` entries (None when not asked for); ``StatementPage.head`` for fewer."""
    offers: list[OfferView] | None
    """The first ``offer_count`` offers, ranked (None when not asked for); a prefix for fewer."""
    miles_expiring: list[tuple[dt.date, int]] | None
    """Award miles expiring at the end of this quarter and the next (None when not asked for)."""


@dataclass(frozen=True, slots=True)
class _Part:
    name: str
    sql: str
    """A fixed statement of its own module, with parameters from ``$1``."""
    aggregate: str
    """How its rows become one JSON value: ``row_to_json`` of one row, or ``json_agg`` in order."""
    written: tuple[int, ...] = ()
    """The parameters (``$n``) the combined statement writes in rather than binds (``_combined_sql``)."""
    sqlite_sql: str | None = None
    """Its statement on SQLite where that differs from ``sql`` (PostgreSQL's, which the combined one uses)."""


_MEMBER = _Part("member", SNAPSHOT_SQL, "row_to_json(r)")
_PAGE = _Part(
    "page", FIRST_PAGE_SQL, "json_agg(row_to_json(r) ORDER BY r.created_at DESC, r.id DESC)", written=(2,)
)
_OFFERS = _Part(
    "offers",
    OFFERS_SQL["postgres"],
    "json_agg(row_to_json(r) ORDER BY r.affinity DESC, r.priority DESC, r.starts_at DESC, r.id)",
    written=(3, 4),
    sqlite_sql=OFFERS_SQL["sqlite"],
)
_DUE = _Part("due", DUE_AND_PROTECTIONS_SQL, "json_agg(row_to_json(r))", written=(2,))


Literal = int | dt.date
"""A value written into the combined statement rather than bound (see ``_combined_sql``)."""


@lru_cache(maxsize=64)
def _combined_sql(asked: tuple[tuple[_Part, tuple[Literal, ...]], ...]) -> str:
    """One statement selecting each part as a JSON column.

    Each part comes with the values of its ``written`` parameters, which go into the text; the others
    are bound, renumbered in order across the parts. The page size, the offer count and the two dates are
    written in: with them bound, PostgreSQL's estimates for ``LIMIT $n`` and date ranges make it re-plan
    the statement on every execution (a "custom plan", which cost more than the four statements it
    replaces); with them written in, the generic plan is kept, and the text still changes only with the
    page size, the offer count, the day and the quarter."""
    columns = []
    bound = 0
    for part, values in asked:
        texts = {
            position: f"DATE '{value.isoformat()}'" if isinstance(value, dt.date) else str(int(value))
            for position, value in zip(part.written, values, strict=True)
        }
        # the part's bound $n, in their own order (the order its values come in) → combined numbers
        for position in sorted({int(number) for number in _PARAMETER.findall(part.sql)} - set(texts)):
            bound += 1
            texts[position] = f"${bound}"

        def render(found: re.Match[str], texts: dict[int, str] = texts) -> str:
            return texts[int(found.group(1))]

        sql = _PARAMETER.sub(render, part.sql)
        columns.append(f"(SELECT {part.aggregate} FROM ({sql}) r) AS {part.name}")  # noqa: S608 - constants
    return "SELECT " + ",\n       ".join(columns)


def _json(value: Any) -> Any:
    """A JSON column as asyncpg hands it back: text (or already decoded, should a codec be set)."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


async def read_dashboard(
    *,
    account_id: int,
    now: dt.datetime,
    page_size: int | None = None,
    offer_count: int | None = None,
    miles_expiring: bool = False,
) -> DashboardReads | None:
    """The member (None if unknown) with the parts asked for: the first ``page_size`` statement entries,
    the first ``offer_count`` offers for the member, the miles expiring.

    Sizes are not checked here: the callers ask for sizes they checked (1 to ``MAX_PAGE_SIZE``, 1 to
    ``MAX_OFFERS``)."""
    current, following = quarter_end(now.date()), next_quarter_end(now.date())
    asked: list[tuple[_Part, tuple[Any, ...]]] = [(_MEMBER, (account_id, now.year))]
    if page_size is not None:
        asked.append((_PAGE, (account_id, page_size + 1)))
    if offer_count is not None:
        asked.append((_OFFERS, (account_id, now, affinity_since(now), offer_count)))
    if miles_expiring:
        asked.append((_DUE, (account_id, following)))

    if dialect() == "postgres":
        sql = _combined_sql(
            tuple((part, tuple(values[position - 1] for position in part.written)) for part, values in asked)
        )
        bound = (
            value
            for part, values in asked
            for position, value in enumerate(values, start=1)
            if position not in part.written
        )
        [row] = await fetch(sql, *bound)
        rows: dict[str, list[dict[str, Any]]] = {}
        for part, _ in asked:
            decoded = _json(row[part.name])
            rows[part.name] = [] if decoded is None else decoded if isinstance(decoded, list) else [decoded]
    else:
        rows = {part.name: await fetch(part.sqlite_sql or part.sql, *values) for part, values in asked}

    if not rows["member"]:
        return None
    member = snapshot_from_row(rows["member"][0])
    return DashboardReads(
        member=member,
        statement=page_from_rows(rows["page"], page_size) if page_size is not None else None,
        offers=offers_from_rows(rows["offers"]) if offer_count is not None else None,
        miles_expiring=expiring_from_rows(rows["due"], current, following) if miles_expiring else None,
    )
