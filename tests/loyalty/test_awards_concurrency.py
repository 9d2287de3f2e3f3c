"""Award bookings and MilesPay under concurrency, on PostgreSQL (row locks): no overdraft, one booking per
request id."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from tortoise.transactions import in_transaction

from gateway.settings import Settings
from loyalty.auth.models import TotpFactor
from loyalty.awards.booking import book_award
from loyalty.awards.config import current_awards
from loyalty.awards.milespay import CardTransaction, apply_card_transaction, set_milespay
from loyalty.awards.models import AwardBooking, MilesPayDebit
from loyalty.awards.pricing import AwardFlight
from loyalty.crediting import post
from loyalty.earning.model import Cabin
from loyalty.errors import DomainError
from loyalty.ledger.models import Balance, Currency, Lot, Posting, PostingSource
from loyalty.ledger.verify import verify_ledger
from loyalty.rules import current_rules
from partners.charts import current_earning_chart
from tests.factories import make_member

pytestmark = pytest.mark.postgres
RULES = current_rules()
AWARDS = current_awards()
RATES = current_earning_chart().rates


def _flight(now: dt.datetime) -> AwardFlight:
    """UA MUC-ORD in Economy a month ahead: 30,000 miles by the zone chart (Europe - North America)."""
    return AwardFlight("UA", "107", "MUC", "ORD", now.date() + dt.timedelta(days=30), Cabin.ECONOMY)


async def _member_with(miles: int, *, now: dt.datetime) -> int:
    member = await make_member()
    account_id: int = member.member.id
    await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: miles},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=f"seed-{account_id}",
        activity_date=now.date(),
        rule_version="test",
        rules=RULES,
    )
    # app 2FA on: no identity check, so the calls below race on the ledger alone
    await TotpFactor.create(account_id=account_id, secret_encrypted="x", confirmed_at=now)
    return account_id


async def _book(account_id: int, request_id: str, *, now: dt.datetime) -> str:
    try:
        await book_award(
            account_id=account_id,
            flight=_flight(now),
            request_id=request_id,
            miles_to_pay=None,
            confirmation=None,
            awards=AWARDS,
            rates=RATES,
            rules=RULES,
            now=now,
        )
    except DomainError as error:
        return error.code
    return "ok"


async def _clean(account_id: int) -> None:
    assert await Balance.filter(currency=Currency.AWARD_MILES, amount__lt=0).count() == 0
    assert await Lot.filter(remaining__lt=0).count() == 0
    report = await verify_ledger()
    assert report.clean, report.drifts


async def test_concurrent_bookings_never_overdraw(pg_db: Settings, now: dt.datetime) -> None:
    account_id = await _member_with(45_000, now=now)  # one 30,000 award fits, a second does not
    outcomes = Counter(await asyncio.gather(*[_book(account_id, f"r{i}", now=now) for i in range(2)]))
    assert outcomes == Counter({"ok": 1, "INSUFFICIENT_MILES": 1})
    many = Counter(await asyncio.gather(*[_book(account_id, f"m{i}", now=now) for i in range(10)]))
    assert many == Counter({"INSUFFICIENT_MILES": 10})
    balance = await Balance.get(account_id=account_id, currency=Currency.AWARD_MILES)
    assert balance.amount == 15_000 and await AwardBooking.filter(account_id=account_id).count() == 1
    await _clean(account_id)


async def test_a_repeated_request_id_books_once(pg_db: Settings, now: dt.datetime) -> None:
    account_id = await _member_with(100_000, now=now)
    outcomes = Counter(await asyncio.gather(*[_book(account_id, "same", now=now) for _ in range(10)]))
    assert outcomes == Counter({"ok": 10})
    assert await AwardBooking.filter(account_id=account_id).count() == 1
    assert await Posting.filter(account_id=account_id, source=PostingSource.REDEMPTION).count() == 1
    balance = await Balance.get(account_id=account_id, currency=Currency.AWARD_MILES)
    assert balance.amount == 70_000
    await _clean(account_id)


async def test_milespay_and_a_booking_at_once_never_overdraw(pg_db: Settings, now: dt.datetime) -> None:
    account_id = await _member_with(35_000, now=now)
    await set_milespay(account_id=account_id, enabled=True, cap_miles=10_000, rules=AWARDS.milespay, now=now)

    async def pay(transaction_id: str) -> str:
        transaction = CardTransaction("dkb", transaction_id, Decimal("100.00"), now.date())
        try:
            async with in_transaction():  # as the inbox worker runs a handler
                outcome = await apply_card_transaction(
                    account_id=account_id,
                    transaction=transaction,
                    milespay=AWARDS.milespay,
                    rules=RULES,
                    now=now,
                )
        except DomainError as error:
            return error.code
        return "paid" if outcome.debit is not None else "cash"

    outcomes = await asyncio.gather(_book(account_id, "trip", now=now), pay("TX-1"), pay("TX-2"), pay("TX-1"))
    balance = await Balance.get(account_id=account_id, currency=Currency.AWARD_MILES)
    debits = [row.miles for row in await MilesPayDebit.filter(account_id=account_id)]
    booked = [row.miles for row in await AwardBooking.filter(account_id=account_id)]
    assert len(debits) == 1  # one opt-in pays one purchase, whichever came first
    assert balance.amount == 35_000 - sum(booked) - sum(debits) >= 0, outcomes
    await _clean(account_id)
