"""Miles to status under concurrency, on PostgreSQL (row locks are real there): exchanges racing each other
never pass the yearly limit nor overdraw the miles."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from gateway.settings import Settings
from loyalty.crediting import post
from loyalty.errors import DomainError
from loyalty.ledger.models import Currency, PostingSource
from loyalty.ledger.service import balances_of, year_counters
from loyalty.ledger.verify import verify_ledger
from loyalty.miles_to_status.models import StatusExchange
from loyalty.miles_to_status.service import exchange_miles_for_status
from tests.factories import make_member
from tests.loyalty.miles_to_status_helpers import RULES, TODAY, bank, bank_accrual, issue_card

pytestmark = pytest.mark.postgres


async def test_twenty_exchanges_at_once_make_one_and_the_limit_holds(pg_db: Settings) -> None:
    member = await make_member()
    partner = await bank()
    await issue_card(member.member.id)
    await bank_accrual(partner, member.card.number, "spend", 50_000, TODAY - dt.timedelta(days=2))
    account = int(member.member.id)

    outcomes = await asyncio.gather(
        *[
            exchange_miles_for_status(
                account_id=account, packages=5, request_id=f"req-{n}", today=TODAY, rules=RULES
            )
            for n in range(20)
        ],
        return_exceptions=True,
    )

    made = [o for o in outcomes if isinstance(o, StatusExchange)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(made) == 1 and len(refused) == 19, outcomes
    assert {error.code for error in refused} == {"ALREADY_EXCHANGED_THIS_YEAR"}
    assert (await balances_of(account_id=account))[Currency.AWARD_MILES] == 25_000
    assert (await year_counters(account_id=account, year=TODAY.year))[Currency.POINTS] == 100
    assert await StatusExchange.filter(account_id=account).count() == 1
    assert (await verify_ledger()).clean


async def test_an_exchange_racing_a_redemption_never_overdraws(pg_db: Settings) -> None:
    # given: 10,000 miles, all earned with the card
    member = await make_member()
    partner = await bank()
    await issue_card(member.member.id)
    await bank_accrual(partner, member.card.number, "spend", 10_000, TODAY - dt.timedelta(days=2))
    account = int(member.member.id)

    async def redeem(n: int) -> object:
        return await post(
            account_id=account,
            amounts={Currency.AWARD_MILES: -6_000},
            source=PostingSource.REDEMPTION,
            idempotency_key=f"redeem-{account}-{n}",
            activity_date=TODAY,
            rule_version="test",
            rules=RULES,
            today=TODAY,
        )

    # when: two packages (10,000 miles) and redemptions of 6,000 race
    outcomes = await asyncio.gather(
        exchange_miles_for_status(account_id=account, packages=2, request_id="x", today=TODAY, rules=RULES),
        redeem(1),
        redeem(2),
        return_exceptions=True,
    )

    # then: whatever won, the miles never went below zero and the ledger adds up
    assert all(isinstance(o, DomainError) or not isinstance(o, BaseException) for o in outcomes), outcomes
    miles = (await balances_of(account_id=account))[Currency.AWARD_MILES]
    assert miles >= 0
    exchanged = await StatusExchange.filter(account_id=account).count()
    spent = sum(1 for o in outcomes[1:] if not isinstance(o, BaseException))
    assert miles == 10_000 - 10_000 * exchanged - 6_000 * spent
    assert (exchanged, spent) in {(1, 0), (0, 1)}
    assert (await verify_ledger()).clean
