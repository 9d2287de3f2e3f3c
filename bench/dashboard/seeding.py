"""The dashboard benchmark's data: members with a history of a chosen length, offers and consents.

Members, a flight credit, consents, offers and an activation go through milesgate's own services. The
long histories are written with PostgreSQL COPY (100,000 postings take seconds, not minutes), each a
partner accrual with its member entry, counter entry and lot, and the award-miles balance moved by
their sum, so balances still equal the sum of the entries.

History shape: three lots old enough to expire at the end of this quarter or the next (so the dashboard
has miles expiring), the rest spread over the last 29 months (expiring later than that).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.common import Stores, seed, settings_for

PARTNERS = ("swiss", "lh", "austrian", "shop", "bank")
HISTORY_MONTHS = 29


@dataclass(frozen=True)
class DashboardMember:
    account_id: int
    history: int


async def seed_dashboard(stores: Stores, data_dir: Path, histories: list[int]) -> list[DashboardMember]:
    """One member per entry of ``histories``, each with that many history postings."""
    _, enrolled = await seed(stores, data_dir, len(histories))
    accounts = [member.member.id for member in enrolled]
    await _through_services(stores, data_dir, accounts)
    connection = await asyncpg.connect(stores.asyncpg_url)
    try:
        for account_id, history in zip(accounts, histories, strict=True):
            await _bulk_history(connection, account_id, history)
        # Vacuumed, analysed and written out now, so that autovacuum and the checkpointer do not take
        # their turn on the bulk insert in the middle of a measured run.
        await connection.execute("VACUUM (ANALYZE)")
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()
    return [DashboardMember(a, h) for a, h in zip(accounts, histories, strict=True)]


async def _through_services(stores: Stores, data_dir: Path, accounts: list[int]) -> None:
    from gateway.cli.support import database
    from loyalty.consents.models import ConsentPurpose
    from loyalty.consents.service import record_consent
    from loyalty.crediting import post
    from loyalty.ledger.models import Currency, PostingSource
    from loyalty.offers.models import OfferKind
    from loyalty.offers.service import activate_offer, add_offer
    from loyalty.rules import current_rules

    rules = current_rules()
    now = dt.datetime.now(dt.UTC)
    async with database(settings_for(stores, data_dir)):
        for n in range(12):
            await add_offer(
                code=f"DASH-{n:02d}",
                partner_code=PARTNERS[n % len(PARTNERS)],
                kind=OfferKind.EARN if n % 3 else OfferKind.REDEEM,
                title=f"Dashboard offer {n}",
                description="Bench offer",
                starts_at=now - dt.timedelta(days=1 + n),
                ends_at=now + dt.timedelta(days=30),
                tiers=["SEN", "HON"] if n == 4 else None,  # not for base members
                countries=["DE", "AT"] if n % 4 == 1 else None,
                bonus_miles=250 + 50 * n if n % 3 else 0,
                priority=n % 4,
            )
        for account_id in accounts:
            await post(
                account_id=account_id,
                amounts={Currency.AWARD_MILES: 1200, Currency.POINTS: 40, Currency.QUALIFYING_POINTS: 40},
                source=PostingSource.FLIGHT_ACCRUAL,
                idempotency_key=f"dash-flight-{account_id}",
                activity_date=now.date(),
                rule_version=rules.version,
                rules=rules,
                partner_reference=f"lh:DASH-{account_id}",
                description="LH 400 FRA-JFK",
            )
            await record_consent(
                account_id=account_id,
                purpose=ConsentPurpose.PERSONALISATION,
                given=True,
                text_version="bench-1",
                now=now,
                rules=rules,
            )
            await activate_offer(account_id=account_id, code="DASH-02", now=now)


def _activity_dates(today: dt.date, count: int) -> list[dt.date]:
    from loyalty.ledger.quarters import add_months

    soon = [add_months(today, -36), add_months(today, -35), add_months(today, -33)][:count]
    rest = count - len(soon)
    span = (today - add_months(today, -HISTORY_MONTHS)).days
    return soon + [today - dt.timedelta(days=span - (span * i) // max(rest, 1)) for i in range(rest)]


async def _bulk_history(connection: asyncpg.Connection, account_id: int, count: int) -> None:
    from loyalty.ledger.quarters import expiry_date

    first_id = int(await connection.fetchval("SELECT coalesce(max(id), 0) FROM postings")) + 1
    today = dt.date.today()
    postings, entries, counters, lots = [], [], [], []
    total = 0
    for i, day in enumerate(_activity_dates(today, count)):
        posting_id = first_id + i
        miles = 100 + (i * 37) % 900
        partner = PARTNERS[i % len(PARTNERS)]
        booked = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC) + dt.timedelta(microseconds=i)
        postings.append(
            (
                posting_id,
                account_id,
                f"dash-history-{account_id}-{i}",
                "PARTNER_ACCRUAL",
                f"{partner}:H{account_id}-{i}",
                "bench",
                day,
                f"{partner} purchase {i}",
                booked,
            )
        )
        entries.append((posting_id, account_id, "AWARD_MILES", miles))
        counters.append((posting_id, account_id, "PARTNER_LIABILITY", "AWARD_MILES", -miles))
        lots.append((posting_id, account_id, miles, miles, day, expiry_date(day)))
        total += miles
    async with connection.transaction():
        await connection.copy_records_to_table(
            "postings",
            records=postings,
            columns=[
                "id",
                "account_id",
                "idempotency_key",
                "source",
                "partner_reference",
                "rule_version",
                "activity_date",
                "description",
                "created_at",
            ],
        )
        await connection.copy_records_to_table(
            "ledger_entries", records=entries, columns=["posting_id", "account_id", "currency", "amount"]
        )
        await connection.copy_records_to_table(
            "counter_entries",
            records=counters,
            columns=["posting_id", "account_id", "counter_account", "currency", "amount"],
        )
        await connection.copy_records_to_table(
            "lots",
            records=lots,
            columns=["posting_id", "account_id", "amount", "remaining", "earned_on", "expires_on"],
        )
        await connection.execute(
            "SELECT setval(pg_get_serial_sequence('postings', 'id'), (SELECT max(id) FROM postings))"
        )
        await connection.execute(
            "UPDATE balances SET amount = amount + $2 WHERE account_id = $1 AND currency = 'AWARD_MILES'",
            account_id,
            total,
        )
