"""The status a member held on a day (``tier_on``, issue 19): several changes on one day, an expiry the daily
job recorded late (backdated), the tier a flown coupon earns with, and one statement per look-up."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.settings import Settings
from loyalty.crediting import post
from loyalty.flown.accrual import accrue_flown, credited_amounts, flight_earning, flight_from_flown
from loyalty.ledger.models import Currency, Entry, PostingSource
from loyalty.members.models import Member, Tier
from loyalty.rules import current_rules
from loyalty.status import engine
from loyalty.status.engine import tier_on
from loyalty.status.models import MemberStatus, StatusChange, StatusHistory
from partners.charts import current_earning_chart
from partners.models import Partner
from tests.factories import make_member, make_partner
from tests.loyalty.retro_credit_helpers import FLIGHT_DAY, flown
from tests.support import statements

RULES = current_rules()
CHART = current_earning_chart()
P, QP = Currency.POINTS, Currency.QUALIFYING_POINTS


@pytest.fixture
async def member_id(db: Settings) -> int:
    return int((await make_member()).member.id)


async def _change(member_id: int, before: Tier, after: Tier, change: StatusChange, on: dt.date) -> None:
    """A history row as the engine records it (ids follow the order of recording)."""
    await StatusHistory.create(
        account_id=member_id, from_tier=before, to_tier=after, change=change, effective_on=on
    )


async def _credit(account_id: int, key: str, day: dt.date, *, points: int, qp: int) -> None:
    await post(
        account_id=account_id,
        amounts={P: points, QP: qp},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=key,
        activity_date=day,
        rule_version="test",
        rules=RULES,
        today=day,
    )


async def test_several_changes_on_one_day_the_last_recorded_wins(member_id: int) -> None:
    day = dt.date(2026, 5, 4)
    await _change(member_id, Tier.BASE, Tier.FTL, StatusChange.ACHIEVED, day)
    await _change(member_id, Tier.FTL, Tier.SEN, StatusChange.ACHIEVED, day)
    await _change(member_id, Tier.SEN, Tier.SEN, StatusChange.LIFETIME, day)
    assert await tier_on(account_id=member_id, day=day - dt.timedelta(days=1), current=Tier.SEN) is Tier.BASE
    assert await tier_on(account_id=member_id, day=day, current=Tier.SEN) is Tier.SEN
    assert await tier_on(account_id=member_id, day=day + dt.timedelta(days=1), current=Tier.SEN) is Tier.SEN


async def test_an_expiry_recorded_late_wins_over_an_older_change_with_a_later_date(member_id: int) -> None:
    # given: a Senator whose status ended on 28 Feb; a change recorded on 5 Mar (the status not yet
    # expired by the job), then the expiry job, running on 10 Mar, records the downgrade from 1 Mar on
    await _change(member_id, Tier.BASE, Tier.SEN, StatusChange.ACHIEVED, dt.date(2025, 5, 1))
    await _change(member_id, Tier.SEN, Tier.SEN, StatusChange.LIFETIME, dt.date(2027, 3, 5))
    await _change(member_id, Tier.SEN, Tier.FTL, StatusChange.DOWNGRADED, dt.date(2027, 3, 1))

    async def on(day: dt.date) -> Tier:
        return await tier_on(account_id=member_id, day=day, current=Tier.FTL)

    assert await on(dt.date(2025, 4, 30)) is Tier.BASE
    assert await on(dt.date(2027, 2, 28)) is Tier.SEN
    assert await on(dt.date(2027, 3, 1)) is Tier.FTL
    assert await on(dt.date(2027, 3, 6)) is Tier.FTL  # the 5 March row is older: it loses
    assert await on(dt.date(2027, 12, 1)) is Tier.FTL


async def test_before_any_change_in_effect_the_tier_the_first_one_started_from(member_id: int) -> None:
    await _change(member_id, Tier.SEN, Tier.SEN, StatusChange.LIFETIME, dt.date(2027, 3, 5))
    await _change(member_id, Tier.SEN, Tier.FTL, StatusChange.DOWNGRADED, dt.date(2027, 3, 1))
    assert await tier_on(account_id=member_id, day=dt.date(2027, 2, 1), current=Tier.FTL) is Tier.SEN
    assert await tier_on(account_id=member_id, day=dt.date(2027, 3, 2), current=Tier.FTL) is Tier.FTL


async def test_the_engine_s_late_expiry_after_a_lifetime_grant(member_id: int) -> None:
    # given: Senator from 2025 (valid until 28 Feb 2027); on 5 Mar 2027 lifetime QP reach Frequent
    # Traveller for life while the expired Senator status still stands (the job has not run)
    await _credit(member_id, "sen", dt.date(2025, 5, 1), points=2000, qp=1000)
    await _credit(
        member_id,
        "life",
        dt.date(2027, 3, 5),
        points=100,
        qp=RULES.status.lifetime_qualifying_points["FTL"] - 1000,
    )
    # when: the expiry job runs late, on 10 Mar
    await engine.expire_statuses(as_of=dt.date(2027, 3, 10), rules=RULES)

    # then: Frequent Traveller from 1 Mar on, the 5 March row (recorded first, dated later) notwithstanding
    status = await MemberStatus.get(account_id=member_id)
    assert status.tier is Tier.FTL
    rows = await StatusHistory.filter(account_id=member_id).order_by("id")
    assert [(row.to_tier, row.effective_on) for row in rows] == [
        (Tier.SEN, dt.date(2025, 5, 1)),
        (Tier.SEN, dt.date(2027, 3, 5)),
        (Tier.FTL, dt.date(2027, 3, 1)),
    ]
    for day, tier in (
        (dt.date(2025, 4, 30), Tier.BASE),
        (dt.date(2027, 2, 28), Tier.SEN),
        (dt.date(2027, 3, 1), Tier.FTL),
        (dt.date(2027, 3, 7), Tier.FTL),
    ):
        assert await tier_on(account_id=member_id, day=day, current=status.tier) is tier, day


async def test_a_flown_coupon_earns_with_the_tier_of_its_day_from_the_history(member_id: int) -> None:
    # given: a revenue-based flight on FLIGHT_DAY; a Senator since March whose status ran out on 19 Aug;
    # a change recorded on 25 Aug (before the job ran) and the job's expiry to BASE from 20 Aug recorded
    # after it, on 2 Sep
    await make_partner("lufthansa")
    partner_id = int((await Partner.get(code="lufthansa")).id)
    fare = {"amount": "1200.00", "currency": "EUR"}
    segment = await flown(partner_id, account_id=member_id, details={"fare": fare})
    await _change(member_id, Tier.BASE, Tier.SEN, StatusChange.ACHIEVED, dt.date(2025, 3, 1))
    await _change(member_id, Tier.SEN, Tier.SEN, StatusChange.LIFETIME, dt.date(2025, 8, 25))
    await _change(member_id, Tier.SEN, Tier.BASE, StatusChange.EXPIRED, dt.date(2025, 8, 20))
    assert (await Member.get(id=member_id)).tier is Tier.BASE

    # when
    with statements() as seen:
        assert await tier_on(account_id=member_id, day=FLIGHT_DAY, current=Tier.BASE) is Tier.BASE
    accrued = await accrue_flown(segment, chart=CHART, rules=RULES)

    # then: a base member's earning (the 25 Aug row is older than the expiry: it does not count)
    assert len(seen) == 1  # one statement
    assert accrued is not None and accrued.created
    flight = flight_from_flown(segment)
    assert flight is not None
    base = credited_amounts(flight_earning(flight, tier=Tier.BASE, chart=CHART))
    senator = credited_amounts(flight_earning(flight, tier=Tier.SEN, chart=CHART))
    assert base[Currency.AWARD_MILES] < senator[Currency.AWARD_MILES]
    entries = await Entry.filter(account_id=member_id, currency=Currency.AWARD_MILES)
    assert [entry.amount for entry in entries] == [base[Currency.AWARD_MILES]]


@pytest.mark.parametrize("history", [0, 1, 5], ids=["no-history", "one-change", "five-changes"])
async def test_tier_on_is_one_statement(member_id: int, history: int) -> None:
    day = dt.date(2026, 1, 1)
    for n in range(history):
        await _change(member_id, Tier.BASE, Tier.FTL, StatusChange.ACHIEVED, day + dt.timedelta(days=n))
    with statements() as seen:
        await tier_on(account_id=member_id, day=day + dt.timedelta(days=2), current=Tier.BASE)
        await tier_on(account_id=member_id, day=day - dt.timedelta(days=2), current=Tier.BASE)
    assert len(seen) == 2, seen
