"""The posting path: idempotency, balances equal to entries, never below zero (concurrency on PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from tortoise import Tortoise, connections
from tortoise.fields import CharField
from tortoise.functions import Sum
from tortoise.migrations.api import migrate

from gateway.db import APP_LABEL, close_database, open_database, tortoise_config
from gateway.settings import Settings
from loyalty.crediting import post
from loyalty.errors import ValidationFailed
from loyalty.ledger.models import (
    Balance,
    CounterAccount,
    CounterEntry,
    Currency,
    Entry,
    Lot,
    LotAllocation,
    Posting,
    PostingSource,
)
from loyalty.ledger.service import InsufficientBalance, balances_of, counter_account_for
from loyalty.ledger.verify import verify_ledger
from loyalty.rules import current_rules
from tests.factories import make_member

TODAY = dt.date(2026, 11, 20)


async def _credit(account_id: int, amount: int, key: str) -> bool:
    result = await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: amount},
        source=PostingSource.TEST,
        idempotency_key=key,
        activity_date=TODAY,
        rule_version="test",
        rules=current_rules(),
    )
    return result.created


async def _entries_sum(account_id: int, currency: Currency) -> int:
    rows = (
        await Entry.filter(account_id=account_id, currency=currency)
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return int(rows[0]["total"] or 0)


async def test_same_key_posts_once_and_returns_the_first_posting(db: Settings) -> None:
    member = (await make_member()).member
    first = await post(
        account_id=member.id,
        amounts={Currency.AWARD_MILES: 500, Currency.POINTS: 20},
        source=PostingSource.TEST,
        idempotency_key="k1",
        activity_date=TODAY,
        rule_version="test",
        rules=current_rules(),
    )
    again = await post(
        account_id=member.id,
        amounts={Currency.AWARD_MILES: 999},
        source=PostingSource.TEST,
        idempotency_key="k1",
        activity_date=TODAY,
        rule_version="test",
        rules=current_rules(),
    )
    assert first.created and not again.created and again.posting_id == first.posting_id
    balances = await balances_of(account_id=member.id)
    assert balances[Currency.AWARD_MILES] == 500 and balances[Currency.POINTS] == 20
    assert await Posting.filter(account_id=member.id).count() == 1


async def test_a_debit_beyond_the_balance_changes_nothing(db: Settings) -> None:
    member = (await make_member()).member
    await _credit(member.id, 1000, "credit")
    with pytest.raises(InsufficientBalance):
        await _credit(member.id, -1001, "debit")
    assert (await balances_of(account_id=member.id))[Currency.AWARD_MILES] == 1000
    assert await Posting.filter(idempotency_key="debit").count() == 0


async def test_zero_postings_are_refused(db: Settings) -> None:
    member = (await make_member()).member
    with pytest.raises(ValidationFailed) as refused:
        await _credit(member.id, 0, "zero")
    assert refused.value.code == "EMPTY_POSTING"


@pytest.mark.postgres
async def test_concurrent_same_key_posts_once(pg_db: Settings) -> None:
    member = (await make_member()).member
    created = await asyncio.gather(*[_credit(member.id, 700, "same-key") for _ in range(12)])
    assert created.count(True) == 1
    assert (await balances_of(account_id=member.id))[Currency.AWARD_MILES] == 700
    assert await Posting.filter(idempotency_key="same-key").count() == 1


@pytest.mark.postgres
async def test_concurrent_debits_never_overdraw(pg_db: Settings) -> None:
    # given 1,000 miles
    member = (await make_member()).member
    await _credit(member.id, 1000, "start")

    # when 10 debits of 300 race (only 3 can fit)
    async def debit(index: int) -> bool:
        try:
            return await _credit(member.id, -300, f"debit-{index}")
        except InsufficientBalance:
            return False

    results = await asyncio.gather(*[debit(i) for i in range(10)])

    # then exactly 3 succeeded, the balance is 100 and equals the sum of entries
    assert results.count(True) == 3
    balance = await Balance.get(account_id=member.id, currency=Currency.AWARD_MILES)
    assert balance.amount == 100
    assert await _entries_sum(member.id, Currency.AWARD_MILES) == 100


@pytest.mark.postgres
async def test_concurrent_credits_all_count(pg_db: Settings) -> None:
    member = (await make_member()).member
    await asyncio.gather(*[_credit(member.id, 10 + i, f"c-{i}") for i in range(20)])
    expected = sum(10 + i for i in range(20))
    assert (await balances_of(account_id=member.id))[Currency.AWARD_MILES] == expected
    assert await _entries_sum(member.id, Currency.AWARD_MILES) == expected


@pytest.mark.parametrize(
    ("source", "explicit", "expected"),
    [
        ("PARTNER_ACCRUAL", None, CounterAccount.PARTNER_LIABILITY),
        ("FIRST_APP_LOGIN_BONUS", None, CounterAccount.PROGRAMME_BONUS),
        ("REDEMPTION", None, CounterAccount.REDEMPTION),
        ("EXPIRY", None, CounterAccount.EXPIRY),
        ("TEST", None, CounterAccount.ADJUSTMENT),
        ("TEST", CounterAccount.PROGRAMME_BONUS, CounterAccount.PROGRAMME_BONUS),
    ],
)
def test_the_source_names_the_counter_account(
    source: str, explicit: CounterAccount | None, expected: CounterAccount
) -> None:
    assert counter_account_for(source, explicit) == expected


def test_posting_sources_are_the_strings_stored_before_the_enum() -> None:
    # postings.source keeps the values written when sources were plain strings: no migration; sources
    # added since (miles to status, Status Stars) are new strings of the same kind that fit the column
    assert {source.value for source in PostingSource} == {
        "PARTNER_ACCRUAL", "FLIGHT_ACCRUAL", "RETRO_CREDIT", "PHOTO_CREDIT", "OFFER_BONUS",
        "FIRST_APP_LOGIN_BONUS", "PROGRAMME_BONUS", "CHALLENGE", "DEMO", "REDEMPTION", "REVERSAL",
        "EXPIRY", "ADJUSTMENT", "TEST", "MILES_TO_STATUS", "STATUS_STARS",
    }  # fmt: skip
    assert all(source.value == source.name for source in PostingSource)
    column = Posting._meta.fields_map["source"]
    assert isinstance(column, CharField)
    assert all(len(source.value) <= column.max_length for source in PostingSource)


async def test_a_posting_stores_its_source_as_the_plain_string(db: Settings) -> None:
    member = (await make_member()).member
    result = await post(
        account_id=member.id,
        amounts={Currency.AWARD_MILES: 100},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key="stored-source",
        activity_date=TODAY,
        rule_version="test",
        rules=current_rules(),
    )
    [row] = await Posting.filter(id=result.posting_id).values("source")
    stored = row["source"]
    assert (type(stored), stored) == (str, "PARTNER_ACCRUAL")
    assert counter_account_for(str(stored)) is CounterAccount.PARTNER_LIABILITY
    assert counter_account_for("NO_LONGER_WRITTEN") is CounterAccount.ADJUSTMENT


async def test_every_posting_balances_per_currency(db: Settings) -> None:
    # given a posting in two currencies against an explicit counter account
    member = (await make_member()).member
    result = await post(
        account_id=member.id,
        amounts={Currency.AWARD_MILES: 500, Currency.POINTS: 20},
        source=PostingSource.TEST,
        idempotency_key="bonus",
        activity_date=TODAY,
        rule_version="test",
        rules=current_rules(),
        counter_account=CounterAccount.PROGRAMME_BONUS,
    )

    # then the counter entries mirror it and the whole ledger sums to zero
    counter = (
        await CounterEntry.filter(posting_id=result.posting_id)
        .order_by("currency")
        .values_list("counter_account", "currency", "amount")
    )
    assert [tuple(row) for row in counter] == [
        ("PROGRAMME_BONUS", "AWARD_MILES", -500),
        ("PROGRAMME_BONUS", "POINTS", -20),
    ]
    assert (await verify_ledger()).drifts == []


async def test_points_open_no_lot(db: Settings) -> None:
    member = (await make_member()).member
    await post(
        account_id=member.id,
        amounts={Currency.POINTS: 20},
        source=PostingSource.TEST,
        idempotency_key="points",
        activity_date=TODAY,
        rule_version="test",
        rules=current_rules(),
    )
    assert await Lot.filter(account_id=member.id).count() == 0


@pytest.mark.postgres
async def test_concurrent_redemptions_take_lots_consistently(pg_db: Settings) -> None:
    # given 10,000 miles in four lots
    member = (await make_member()).member
    for index, (miles, day) in enumerate([(4000, 1), (2500, 40), (2000, 80), (1500, 120)]):
        await post(
            account_id=member.id,
            amounts={Currency.AWARD_MILES: miles},
            source=PostingSource.PARTNER_ACCRUAL,
            idempotency_key=f"lot-{index}",
            activity_date=dt.date(2025, 1, 1) + dt.timedelta(days=day),
            rule_version="test",
            rules=current_rules(),
        )

    # when 20 redemptions of 3,000 race
    async def redeem(index: int) -> bool:
        try:
            return (
                await post(
                    account_id=member.id,
                    amounts={Currency.AWARD_MILES: -3000},
                    source=PostingSource.REDEMPTION,
                    idempotency_key=f"redeem-{index}",
                    activity_date=TODAY,
                    rule_version="test",
                    rules=current_rules(),
                )
            ).created
        except InsufficientBalance:
            return False

    results = await asyncio.gather(*[redeem(i) for i in range(20)])

    # then exactly 3 succeeded, 1,000 miles are left in the lot expiring last, and nothing drifted
    assert results.count(True) == 3
    lots = await Lot.filter(account_id=member.id).order_by("expires_on", "id")
    assert [lot.remaining for lot in lots] == [0, 0, 0, 1000]
    taken = await LotAllocation.filter(account_id=member.id)
    assert sum(allocation.amount for allocation in taken) == 9000
    assert (await verify_ledger()).drifts == []


OLD_LEDGER = [
    "INSERT INTO members (id, account_number, given_name, family_name, date_of_birth, country, language,"
    " pin_hash, tier, advertising_consent, created_at)"
    " VALUES (1, '123456789', 'Ada', 'Lovelace', '1990-12-10', 'DE', 'en', 'x', 'BASE', false, '2020-01-01')",
    "INSERT INTO balances (account_id, currency, amount, updated_at) VALUES (1, 'AWARD_MILES', 1200, '2020-01-01')",
    "INSERT INTO postings (id, account_id, idempotency_key, source, rule_version, activity_date, description,"
    " created_at) VALUES (1, 1, 'a', 'PARTNER_ACCRUAL', 'v', '2024-05-01', '', '2024-05-01'),"
    " (2, 1, 'b', 'FIRST_APP_LOGIN_BONUS', 'v', '2023-01-10', '', '2024-06-01'),"
    " (3, 1, 'c', 'TEST', 'v', '2024-07-01', '', '2024-07-01')",
    "INSERT INTO ledger_entries (posting_id, account_id, currency, amount) VALUES"
    " (1, 1, 'AWARD_MILES', 1000), (2, 1, 'AWARD_MILES', 500), (3, 1, 'AWARD_MILES', -300)",
]


async def test_upgrading_gives_old_postings_counter_entries_and_lots(tmp_path: Path) -> None:
    # given a ledger written before double entry and lots (migrations up to 0002)
    settings = Settings(data_dir=tmp_path)
    config = tortoise_config(settings)
    await migrate(config=config, target=f"{APP_LABEL}.0002_members_sign_in")
    await Tortoise.close_connections()
    await open_database(settings)
    for statement in OLD_LEDGER:
        await connections.get("default").execute_script(statement)
    await close_database()

    # when upgraded
    await migrate(config=config)
    await Tortoise.close_connections()

    # then every posting balances and the lots hold the balance, the debit taken from the older lot
    await open_database(settings)
    try:
        assert (await verify_ledger()).drifts == []
        lots = await Lot.filter(account_id=1).order_by("expires_on")
        assert [(lot.remaining, lot.expires_on) for lot in lots] == [
            (200, dt.date(2026, 3, 31)),
            (1000, dt.date(2027, 6, 30)),
        ]
        counters = await CounterEntry.all().order_by("posting_id")
        assert [counter.counter_account for counter in counters] == [
            "PARTNER_LIABILITY",
            "PROGRAMME_BONUS",
            "ADJUSTMENT",
        ]
    finally:
        await close_database()
