"""Many credits in one go: the ledger's write path for a batch of postings that only add (PostgreSQL).

``write_credits`` writes what ``write_with_lots`` writes for each posting - the posting, its member and
counter entries, the moved balances and year counters, the award-miles lot and the ``posting.created``
event - with one statement per kind of row for the whole batch instead of several per posting: one
multi-row insert each for postings, entries, counter entries, lots and events, and every balance
(and year counter) the batch moves updated by one statement. It runs in the caller's transaction.

It only takes credits (every amount above zero), so no balance can go below zero and no lot is taken.
A key posted before is skipped (``created`` False, as ``run_once`` answers); two postings of one key in
the batch, or a balance row missing, raise ``BatchNotApplicable``: the caller rolls back and posts one
by one. The locks are taken in the order the one-by-one path takes them - member rows (for status
credits), then balance rows, each in key order - so a batch and single postings never deadlock.

The statements pass arrays (``unnest``), so each is prepared once whatever the batch's size; SQLite has
no arrays, and the embedded database posts one by one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import orjson

from loyalty.events.models import EventType
from loyalty.fixed_sql import fetch
from loyalty.ledger.models import STATUS_CURRENCIES, Currency
from loyalty.ledger.quarters import expiry_date
from loyalty.ledger.service import PostingResult, PostingSpec


class BatchNotApplicable(Exception):
    """The batch cannot be written in one go; write its postings one by one instead."""


EXISTING_SQL = "SELECT idempotency_key, id FROM postings WHERE idempotency_key = ANY($1::text[])"
LOCK_MEMBERS_SQL = "SELECT id FROM members WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE"
LOCK_BALANCES_SQL = """
SELECT b.id FROM balances b
JOIN unnest($1::bigint[], $2::text[]) AS m(account_id, currency)
  ON b.account_id = m.account_id AND b.currency = m.currency
ORDER BY b.account_id, b.currency
FOR UPDATE OF b
"""
MOVE_BALANCES_SQL = """
UPDATE balances b SET amount = b.amount + m.amount, updated_at = $4::timestamptz
FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS m(account_id, currency, amount)
WHERE b.account_id = m.account_id AND b.currency = m.currency
RETURNING b.id
"""
MOVE_YEAR_COUNTERS_SQL = """
INSERT INTO year_counters (account_id, year, currency, amount)
SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bigint[])
ON CONFLICT (account_id, year, currency) DO UPDATE SET amount = year_counters.amount + excluded.amount
"""
INSERT_POSTINGS_SQL = """
INSERT INTO postings (account_id, idempotency_key, source, partner_reference, rule_version, activity_date,
                      description, created_at)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::date[], $7::text[],
                     $8::timestamptz[])
RETURNING id, idempotency_key
"""
INSERT_ENTRIES_SQL = """
INSERT INTO ledger_entries (posting_id, account_id, currency, amount)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[])
"""
INSERT_COUNTER_ENTRIES_SQL = """
INSERT INTO counter_entries (posting_id, account_id, counter_account, currency, amount)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[])
"""
INSERT_LOTS_SQL = """
INSERT INTO lots (posting_id, account_id, amount, remaining, earned_on, expires_on)
SELECT p, a, m, m, e, x FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::date[], $5::date[])
  AS l(p, a, m, e, x)
"""
INSERT_EVENTS_SQL = """
INSERT INTO domain_events (account_id, type, payload, posting_id, occurred_at, dispatch_attempts)
SELECT a, $1::text, p, i, $4::timestamptz, 0 FROM unnest($2::bigint[], $3::jsonb[], $5::bigint[]) AS e(a, p, i)
"""


def moves_status(spec: PostingSpec) -> bool:
    """Whether the posting credits a currency the status engine counts (it locks the member first)."""
    return any(
        currency in STATUS_CURRENCIES or currency is Currency.LIFETIME_QUALIFYING_POINTS
        for currency in spec.amounts
    )


async def write_credits(
    specs: Sequence[PostingSpec], *, validity_months: int, now: dt.datetime
) -> dict[str, PostingResult]:
    """Write every posting whose key is new, in the caller's transaction; the result per key."""
    if any(amount <= 0 for spec in specs for amount in spec.amounts.values()):
        raise BatchNotApplicable("only credits are written in a batch")
    keys = [spec.idempotency_key for spec in specs]
    if len(set(keys)) != len(keys):
        raise BatchNotApplicable("a key appears twice in the batch")
    results = {
        str(row["idempotency_key"]): PostingResult(posting_id=int(row["id"]), created=False)
        for row in await fetch(EXISTING_SQL, keys)
    }
    new = [spec for spec in specs if spec.idempotency_key not in results]
    if not new:
        return results
    await _lock(new)
    ids = await _insert_postings(new, now)
    await _insert_rows(new, ids, validity_months=validity_months, now=now)
    await _move(new, now)
    results.update(
        {key: PostingResult(posting_id=posting_id, created=True) for key, posting_id in ids.items()}
    )
    return results


async def _lock(specs: Sequence[PostingSpec]) -> None:
    status_members = sorted({spec.account_id for spec in specs if moves_status(spec)})
    if status_members:
        await fetch(LOCK_MEMBERS_SQL, status_members)
    moved = sorted({(spec.account_id, currency.value) for spec in specs for currency in spec.amounts})
    locked = await fetch(LOCK_BALANCES_SQL, [account for account, _ in moved], [c for _, c in moved])
    if len(locked) != len(moved):
        raise BatchNotApplicable("a balance row the batch moves does not exist")


async def _insert_postings(specs: Sequence[PostingSpec], now: dt.datetime) -> dict[str, int]:
    rows = await fetch(
        INSERT_POSTINGS_SQL,
        [spec.account_id for spec in specs],
        [spec.idempotency_key for spec in specs],
        [spec.source.value for spec in specs],
        [spec.partner_reference for spec in specs],
        [spec.rule_version for spec in specs],
        [spec.activity_date for spec in specs],
        [spec.description for spec in specs],
        [now] * len(specs),
    )
    return {str(row["idempotency_key"]): int(row["id"]) for row in rows}


async def _insert_rows(
    specs: Sequence[PostingSpec], ids: dict[str, int], *, validity_months: int, now: dt.datetime
) -> None:
    """The entries, counter entries, lots and ``posting.created`` events of the new postings."""
    entries: list[tuple[int, int, str, int]] = []
    counters: list[tuple[int, int, str, str, int]] = []
    lots: list[tuple[int, int, int, dt.date, dt.date]] = []
    events: list[tuple[int, str, int]] = []
    for spec in specs:
        posting_id = ids[spec.idempotency_key]
        for currency, amount in spec.amounts.items():
            entries.append((posting_id, spec.account_id, currency.value, amount))
            counters.append(
                (posting_id, spec.account_id, spec.counter_account.value, currency.value, -amount)
            )
        miles = spec.amounts.get(Currency.AWARD_MILES, 0)
        if miles:
            expires = expiry_date(spec.activity_date, validity_months)
            lots.append((posting_id, spec.account_id, miles, spec.activity_date, expires))
        events.append((spec.account_id, orjson.dumps(_event_payload(spec, posting_id)).decode(), posting_id))
    await fetch(INSERT_ENTRIES_SQL, *_columns(entries, 4))
    await fetch(INSERT_COUNTER_ENTRIES_SQL, *_columns(counters, 5))
    if lots:
        await fetch(INSERT_LOTS_SQL, *_columns(lots, 5))
    accounts, payloads, posting_ids = _columns(events, 3)
    await fetch(INSERT_EVENTS_SQL, EventType.POSTING_CREATED.value, accounts, payloads, now, posting_ids)


async def _move(specs: Sequence[PostingSpec], now: dt.datetime) -> None:
    """Every balance and year counter the batch moves, each in one statement."""
    balances: dict[tuple[int, str], int] = {}
    counters: dict[tuple[int, int, str], int] = {}
    for spec in specs:
        for currency, amount in spec.amounts.items():
            balances[(spec.account_id, currency.value)] = (
                balances.get((spec.account_id, currency.value), 0) + amount
            )
            if currency in STATUS_CURRENCIES:
                key = (spec.account_id, spec.activity_date.year, currency.value)
                counters[key] = counters.get(key, 0) + amount
    ordered = sorted(balances.items())
    await fetch(
        MOVE_BALANCES_SQL,
        [account for (account, _), _ in ordered],
        [currency for (_, currency), _ in ordered],
        [amount for _, amount in ordered],
        now,
    )
    if counters:
        rows = sorted(counters.items())
        await fetch(
            MOVE_YEAR_COUNTERS_SQL,
            [account for (account, _, _), _ in rows],
            [year for (_, year, _), _ in rows],
            [currency for (_, _, currency), _ in rows],
            [amount for _, amount in rows],
        )


def _event_payload(spec: PostingSpec, posting_id: int) -> dict[str, Any]:
    """What ``write_posting`` records for the event (the same keys, the same values)."""
    return {
        "postingId": posting_id,
        "source": spec.source.value,
        "amounts": {currency.value: amount for currency, amount in spec.amounts.items()},
        "activityDate": spec.activity_date.isoformat(),
        "partnerReference": spec.partner_reference,
        "description": spec.description,
        "ruleVersion": spec.rule_version,
    }


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [[row[index] for row in rows] for index in range(width)] if rows else [[] for _ in range(width)]
