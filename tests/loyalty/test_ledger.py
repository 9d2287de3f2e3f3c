"""The posting path: idempotency, balances equal to entries, never below zero (concurrency on PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from tortoise.functions import Sum

from gateway.settings import Settings
from loyalty.errors import ValidationFailed
from loyalty.ledger.models import Balance, Currency, Entry, Posting
from loyalty.ledger.service import InsufficientBalance, balances_of, post
from tests.factories import make_member

TODAY = dt.date(2026, 11, 20)


async def _credit(account_id: int, amount: int, key: str) -> bool:
    result = await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: amount},
        source="TEST",
        idempotency_key=key,
        activity_date=TODAY,
        rule_version="test",
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
        source="TEST",
        idempotency_key="k1",
        activity_date=TODAY,
        rule_version="test",
    )
    again = await post(
        account_id=member.id,
        amounts={Currency.AWARD_MILES: 999},
        source="TEST",
        idempotency_key="k1",
        activity_date=TODAY,
        rule_version="test",
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
