"""Miles to status (DOMAIN.md 3.4) at the service: who may, which miles count, how much, once a year, for good."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.settings import Settings
from loyalty.crediting import post
from loyalty.errors import Conflict, ValidationFailed
from loyalty.ledger.models import Currency, PostingSource
from loyalty.ledger.reversal import reverse_posting
from loyalty.ledger.service import InsufficientBalance, balances_of, year_counters
from loyalty.ledger.verify import verify_ledger
from loyalty.members.models import Member, Tier
from loyalty.miles_to_status.models import StatusExchange
from loyalty.miles_to_status.service import exchange_miles_for_status, offer
from tests.factories import make_member
from tests.loyalty.miles_to_status_helpers import RULES, TODAY, bank, bank_accrual, issue_card
from webhooks.accruals import reverse_accrual

LAST_YEAR = dt.date(TODAY.year - 1, 11, 2)
TWO_YEARS_AGO = dt.date(TODAY.year - 2, 12, 30)


async def _holder(card_miles: int = 25_000, *, feature: bool = True) -> int:
    member = await make_member()
    partner = await bank()
    await issue_card(member.member.id, feature=feature)
    if card_miles:
        await bank_accrual(partner, member.card.number, "spend-1", card_miles, TODAY - dt.timedelta(days=3))
    return int(member.member.id)


async def _exchange(account_id: int, packages: int, request_id: str = "req-1") -> StatusExchange:
    return await exchange_miles_for_status(
        account_id=account_id, packages=packages, request_id=request_id, today=TODAY, rules=RULES
    )


async def test_five_packages_of_25000_miles_give_100_points_and_100_qualifying_points(db: Settings) -> None:
    account = await _holder(25_000)
    assert (await offer(account_id=account, today=TODAY, rules=RULES)).max_packages == 5

    exchange = await _exchange(account, 5)

    assert (exchange.miles, exchange.points, exchange.qualifying_points) == (25_000, 100, 100)
    assert (await balances_of(account_id=account))[Currency.AWARD_MILES] == 0
    counters = await year_counters(account_id=account, year=TODAY.year)
    assert counters == {
        Currency.HON_CIRCLE_POINTS: 0,  # never HCP
        Currency.POINTS: 100,
        Currency.QUALIFYING_POINTS: 100,
    }
    after = await offer(account_id=account, today=TODAY, rules=RULES)
    assert after.max_packages == 0 and after.exchanged is not None and after.exchanged.id == exchange.id
    assert (await verify_ledger()).clean


@pytest.mark.parametrize(("packages", "miles", "points"), [(1, 5_000, 20), (2, 10_000, 40), (4, 20_000, 80)])
async def test_each_package_is_5000_miles_for_20_points_and_20_qualifying_points(
    db: Settings, packages: int, miles: int, points: int
) -> None:
    account = await _holder(25_000)

    exchange = await _exchange(account, packages)

    assert (exchange.miles, exchange.points, exchange.qualifying_points) == (miles, points, points)
    assert (await balances_of(account_id=account))[Currency.AWARD_MILES] == 25_000 - miles


async def test_it_runs_the_status_engine_like_any_posting(db: Settings) -> None:
    # given: 600 Points and 300 QP this year, 50 P and 25 QP short of Frequent Traveller
    account = await _holder(25_000)
    await post(
        account_id=account,
        amounts={Currency.POINTS: 600, Currency.QUALIFYING_POINTS: 300},
        source=PostingSource.FLIGHT_ACCRUAL,
        idempotency_key=f"flights-{account}",
        activity_date=TODAY - dt.timedelta(days=30),
        rule_version="test",
        rules=RULES,
        today=TODAY,
    )
    assert (await Member.get(id=account)).tier is Tier.BASE

    # when: 3 packages = 60 P + 60 QP
    await _exchange(account, 3)

    # then: FTL at once
    assert (await Member.get(id=account)).tier is Tier.FTL


async def test_only_miles_earned_with_the_card_count_not_bonuses(db: Settings) -> None:
    member = await make_member()
    partner = await bank()
    await issue_card(member.member.id)
    await bank_accrual(partner, member.card.number, "spend-1", 7_000, TODAY - dt.timedelta(days=3))
    await bank_accrual(
        partner, member.card.number, "welcome", 20_000, TODAY - dt.timedelta(days=90), category=None
    )
    await bank_accrual(
        partner, member.card.number, "promo", 5_000, TODAY - dt.timedelta(days=9), category="purchase"
    )
    account = int(member.member.id)

    view = await offer(account_id=account, today=TODAY, rules=RULES)
    assert (view.card_miles, view.award_miles, view.max_packages) == (7_000, 32_000, 1)
    with pytest.raises(ValidationFailed) as refused:
        await _exchange(account, 2)
    assert refused.value.code == "NOT_ENOUGH_CARD_MILES"
    assert await StatusExchange.all().count() == 0

    assert (await _exchange(account, 1)).miles == 5_000


async def test_card_miles_of_this_and_last_year_count_less_last_years_exchange(db: Settings) -> None:
    member = await make_member()
    partner = await bank()
    await issue_card(member.member.id)
    account = int(member.member.id)
    await bank_accrual(partner, member.card.number, "old", 20_000, TWO_YEARS_AGO)  # too long ago
    await bank_accrual(partner, member.card.number, "last", 15_000, LAST_YEAR)
    await bank_accrual(partner, member.card.number, "this", 4_000, TODAY - dt.timedelta(days=1))
    assert (await offer(account_id=account, today=TODAY, rules=RULES)).card_miles == 19_000

    # last year's exchange of 10,000 miles used part of them
    last_year = dt.date(TODAY.year - 1, 12, 1)
    await exchange_miles_for_status(
        account_id=account, packages=2, request_id="ly", today=last_year, rules=RULES
    )

    view = await offer(account_id=account, today=TODAY, rules=RULES)
    assert (view.card_miles, view.max_packages) == (9_000, 1)


async def test_once_per_calendar_year_and_a_retry_returns_the_first(db: Settings) -> None:
    account = await _holder(25_000)
    first = await _exchange(account, 1, "req-1")

    again = await _exchange(account, 1, "req-1")
    with pytest.raises(Conflict) as refused:
        await _exchange(account, 1, "req-2")

    assert again.id == first.id
    assert refused.value.code == "ALREADY_EXCHANGED_THIS_YEAR"
    assert (await balances_of(account_id=account))[Currency.AWARD_MILES] == 20_000
    # next year the member may exchange again
    next_year = dt.date(TODAY.year + 1, 1, 2)
    view = await offer(account_id=account, today=next_year, rules=RULES)
    assert view.exchanged is None and view.max_packages == 4  # 25,000 card miles, 5,000 used last year


async def test_it_cannot_be_undone(db: Settings) -> None:
    account = await _holder(25_000)
    exchange = await _exchange(account, 1)

    with pytest.raises(ValidationFailed) as refused:
        await reverse_posting(
            posting_id=exchange.posting_id, activity_date=TODAY, rule_version="test", rules=RULES
        )

    assert refused.value.code == "NOT_REVERSIBLE"


@pytest.mark.parametrize(
    ("feature", "packages", "code"),
    [
        pytest.param(False, 1, "NO_ELIGIBLE_CARD", id="card-without-the-feature"),
        pytest.param(True, 0, "PACKAGES_INVALID", id="no-package"),
        pytest.param(True, 6, "PACKAGES_INVALID", id="over-25000-miles"),
    ],
)
async def test_refusals_change_nothing(db: Settings, feature: bool, packages: int, code: str) -> None:
    account = await _holder(30_000, feature=feature)

    with pytest.raises(ValidationFailed) as refused:
        await _exchange(account, packages)

    assert refused.value.code == code
    assert (await balances_of(account_id=account))[Currency.AWARD_MILES] == 30_000
    assert await StatusExchange.all().count() == 0


async def test_miles_already_spent_are_not_exchanged(db: Settings) -> None:
    account = await _holder(10_000)
    await post(
        account_id=account,
        amounts={Currency.AWARD_MILES: -6_000},
        source=PostingSource.REDEMPTION,
        idempotency_key=f"spent-{account}",
        activity_date=TODAY,
        rule_version="test",
        rules=RULES,
        today=TODAY,
    )

    with pytest.raises(InsufficientBalance):
        await _exchange(account, 1)

    assert (await balances_of(account_id=account))[Currency.AWARD_MILES] == 4_000
    assert await StatusExchange.all().count() == 0
    assert (await offer(account_id=account, today=TODAY, rules=RULES)).max_packages == 0


async def test_a_reversed_card_spend_does_not_count(db: Settings) -> None:
    member = await make_member()
    partner = await bank()
    await issue_card(member.member.id)
    await bank_accrual(partner, member.card.number, "spend-1", 10_000, TODAY - dt.timedelta(days=3))
    await bank_accrual(partner, member.card.number, "spend-2", 6_000, TODAY - dt.timedelta(days=2))
    await reverse_accrual(
        partner_id=partner.id,
        partner_code=partner.code,
        event={
            "type": "accrual.reversed",
            "data": {
                "transactionId": "rev-1",
                "originalTransactionId": "spend-1",
                "activityDate": TODAY.isoformat(),
                "reason": "refund",
            },
        },
        rules=RULES,
    )

    view = await offer(account_id=int(member.member.id), today=TODAY, rules=RULES)

    assert (view.card_miles, view.award_miles, view.max_packages) == (6_000, 6_000, 1)
