"""The baseline: a hand-written Starlette + asyncpg endpoint that answers the member dashboard.

``POST /dashboard`` with the member's bearer access token (checked by milesgate's own ``TokenService``,
so both servers authenticate the same way) answers with exactly the JSON milesgate's GraphQL answers
``queries.DASHBOARD`` with. It does the same database work as milesgate's services (see
loyalty/ledger/service.py ``member_balances_for``, loyalty/ledger/expiry.py ``miles_expiring_for``,
loyalty/ledger/statement.py, loyalty/offers/service.py ``offers_for``), written as SQL by hand: six
statements on one pooled connection (seven when a lot is due soon and protections must be read).

Run (``run.py`` does): ``uvicorn bench.dashboard.baseline:create_app --factory`` with
``BASELINE_DATABASE_URL`` and ``MILESGATE_SECRET_KEY`` set. Listens where uvicorn is told (127.0.0.1).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import os
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.dashboard.queries import OFFERS_SHOWN, STATEMENT_PAGE
from gateway.tokens import TokenService
from loyalty.ledger.quarters import ProtectionPeriod, is_protected, next_quarter_end, quarter_end

CURRENCY_ORDER = (
    "AWARD_MILES",
    "POINTS",
    "QUALIFYING_POINTS",
    "HON_CIRCLE_POINTS",
    "LIFETIME_QUALIFYING_POINTS",
)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
HISTORY_DAYS = 365

MEMBER_SQL = """
SELECT m.account_number, m.given_name, m.family_name, m.tier, m.country, m.language,
       c.number AS card_number, c.valid_until,
       coalesce((SELECT r.given FROM consent_records r
                 WHERE r.account_id = m.id AND r.purpose = 'PERSONALISATION'
                 ORDER BY r.id DESC LIMIT 1), false) AS personalised
FROM members m
LEFT JOIN service_cards c ON c.account_id = m.id AND c.state = 'ACTIVE'
WHERE m.id = $1
"""
BALANCES_SQL = """
SELECT currency, amount FROM balances
WHERE account_id = $1 AND currency IN ('AWARD_MILES', 'LIFETIME_QUALIFYING_POINTS')
UNION ALL
SELECT currency, amount FROM year_counters WHERE account_id = $1 AND year = $2
"""
POSTINGS_SQL = """
SELECT id, activity_date, created_at, source, partner_reference, description
FROM postings WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2
"""
ENTRIES_SQL = """
SELECT posting_id, currency, sum(amount) AS amount FROM ledger_entries
WHERE account_id = $1 AND posting_id = ANY($2::bigint[]) GROUP BY posting_id, currency
"""
LOTS_SQL = """
SELECT expires_on, remaining FROM lots
WHERE account_id = $1 AND remaining > 0 AND expires_on <= $2
"""
PROTECTIONS_SQL = "SELECT starts_on, ends_on FROM expiry_protections WHERE account_id = $1"
OFFER_COLUMNS = """o.code, o.partner_code, o.kind, o.title, o.bonus_miles, o.ends_at,
       EXISTS (SELECT 1 FROM offer_activations a WHERE a.account_id = $1 AND a.offer_id = o.id) AS activated"""
OFFER_TARGETING = """o.starts_at <= $2 AND o.ends_at > $2
  AND (o.tiers = '[]'::jsonb OR o.tiers ? $3)
  AND (o.countries = '[]'::jsonb OR o.countries ? $4)
  AND (o.languages = '[]'::jsonb OR o.languages ? $5)"""
OFFERS_SQL = f"""
SELECT {OFFER_COLUMNS} FROM offers o WHERE {OFFER_TARGETING}
ORDER BY o.priority DESC, o.starts_at DESC, o.id LIMIT $6
"""  # noqa: S608 - constant fragments, no input
PERSONAL_OFFERS_SQL = f"""
SELECT {OFFER_COLUMNS} FROM offers o
LEFT JOIN (
  SELECT split_part(partner_reference, ':', 1) AS partner_code, count(*) AS n FROM (
    SELECT partner_reference FROM postings
    WHERE account_id = $1 AND source = 'PARTNER_ACCRUAL' AND activity_date >= $7
      AND partner_reference IS NOT NULL
    ORDER BY created_at DESC, id DESC LIMIT 100
  ) latest
  GROUP BY 1
) affinity ON affinity.partner_code = o.partner_code
WHERE {OFFER_TARGETING}
ORDER BY coalesce(affinity.n, 0) DESC, o.priority DESC, o.starts_at DESC, o.id LIMIT $6
"""  # noqa: S608 - constant fragments, no input


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def cursor(booked_at: dt.datetime, posting_id: int) -> str:
    micros = (booked_at - EPOCH) // dt.timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"v1:{micros}:{posting_id}".encode("ascii")).decode("ascii")


def iso_date(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def unauthenticated() -> Response:
    body = {
        "data": None,
        "errors": [{"message": "Sign in first.", "extensions": {"code": "UNAUTHENTICATED"}}],
    }
    return Response(orjson.dumps(body), status_code=401, media_type="application/json")


async def statement(connection: asyncpg.Connection, account_id: int) -> dict[str, Any]:
    rows = await connection.fetch(POSTINGS_SQL, account_id, STATEMENT_PAGE + 1)
    page = rows[:STATEMENT_PAGE]
    amounts: dict[int, dict[str, int]] = {row["id"]: {} for row in page}
    if page:
        for entry in await connection.fetch(ENTRIES_SQL, account_id, list(amounts)):
            amounts[entry["posting_id"]][entry["currency"]] = int(entry["amount"])
    edges = []
    for row in page:
        reference = row["partner_reference"]
        code, separator, _ = (reference or "").partition(":")
        moved = amounts[row["id"]]
        edges.append(
            {
                "node": {
                    "postingId": str(row["id"]),
                    "activityDate": row["activity_date"].isoformat(),
                    "bookedAt": row["created_at"].isoformat(),
                    "source": row["source"],
                    "partnerCode": code if separator and code else None,
                    "description": row["description"],
                    "amounts": [
                        {"currency": currency, "amount": moved[currency]}
                        for currency in CURRENCY_ORDER
                        if currency in moved
                    ],
                }
            }
        )
    last = page[-1] if page else None
    return {
        "edges": edges,
        "pageInfo": {
            "hasNextPage": len(rows) > STATEMENT_PAGE,
            "endCursor": cursor(last["created_at"], last["id"]) if last is not None else None,
        },
    }


async def miles_expiring(connection: asyncpg.Connection, account_id: int, today: dt.date) -> list[Any]:
    current, following = quarter_end(today), next_quarter_end(today)
    lots = await connection.fetch(LOTS_SQL, account_id, following)
    totals = {current: 0, following: 0}
    if lots:
        periods = [
            ProtectionPeriod(starts_on=row["starts_on"], ends_on=row["ends_on"])
            for row in await connection.fetch(PROTECTIONS_SQL, account_id)
        ]
        for lot in lots:
            bucket = current if lot["expires_on"] <= current else following
            if not is_protected(lot["expires_on"], bucket, periods):
                totals[bucket] += int(lot["remaining"])
    return [{"expiresOn": day.isoformat(), "miles": miles} for day, miles in totals.items()]


async def offers(
    connection: asyncpg.Connection, account_id: int, member: asyncpg.Record, now: dt.datetime
) -> list[dict[str, Any]]:
    personal = bool(member["personalised"])
    targeting = (account_id, now, member["tier"], member["country"], member["language"].split("-")[0])
    if personal:
        since = now.date() - dt.timedelta(days=HISTORY_DAYS)
        rows = await connection.fetch(PERSONAL_OFFERS_SQL, *targeting, OFFERS_SHOWN, since)
    else:
        rows = await connection.fetch(OFFERS_SQL, *targeting, OFFERS_SHOWN)
    return [
        {
            "code": row["code"],
            "partnerCode": row["partner_code"],
            "kind": row["kind"],
            "title": row["title"],
            "bonusMiles": row["bonus_miles"],
            "endsAt": row["ends_at"].isoformat(),
            "activated": row["activated"],
            "personalised": personal,
        }
        for row in rows
    ]


async def dashboard(request: Request) -> Response:
    token = bearer(request)
    tokens: TokenService = request.app.state.tokens
    principal = tokens.verify(token) if token else None
    if principal is None:
        return unauthenticated()
    account_id = principal.account_id
    now = dt.datetime.now(dt.UTC)
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as connection:
        member = await connection.fetchrow(MEMBER_SQL, account_id)
        if member is None:
            return unauthenticated()
        amounts = {
            row["currency"]: int(row["amount"])
            for row in await connection.fetch(BALANCES_SQL, account_id, now.year)
        }
        me = {
            "accountNumber": member["account_number"],
            "givenName": member["given_name"],
            "familyName": member["family_name"],
            "tier": member["tier"],
            "card": None
            if member["card_number"] is None
            else {"number": member["card_number"], "validUntil": iso_date(member["valid_until"])},
            "balances": {
                "awardMiles": amounts.get("AWARD_MILES", 0),
                "points": amounts.get("POINTS", 0),
                "qualifyingPoints": amounts.get("QUALIFYING_POINTS", 0),
                "honCirclePoints": amounts.get("HON_CIRCLE_POINTS", 0),
                "lifetimeQualifyingPoints": amounts.get("LIFETIME_QUALIFYING_POINTS", 0),
            },
            "statement": await statement(connection, account_id),
            "milesExpiring": await miles_expiring(connection, account_id, now.date()),
            "offers": await offers(connection, account_id, member, now),
        }
    return Response(orjson.dumps({"data": {"me": me}}), media_type="application/json")


def create_app() -> Starlette:
    database_url = os.environ["BASELINE_DATABASE_URL"]
    pool_size = int(os.environ.get("BASELINE_POOL_SIZE", "10"))
    tokens = TokenService(os.environ["MILESGATE_SECRET_KEY"], ttl_s=3600, authenticated_window_s=15 * 60)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(database_url, min_size=1, max_size=pool_size)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = Starlette(routes=[Route("/dashboard", dashboard, methods=["POST"])], lifespan=lifespan)
    app.state.tokens = tokens
    return app
