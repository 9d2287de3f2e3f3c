"""The status engine (issue 4, DOMAIN.md 4): thresholds, validity, renewal, downgrade, lifetime, eVouchers.

Points are credited through the one posting path (loyalty.crediting), so these tests also prove that a credit
upgrades at once, in its own transaction. Concurrency runs on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from gateway.settings import Settings
from loyalty.crediting import post
from loyalty.events.models import DomainEvent, EventType
from loyalty.ledger.expiry import protection_until
from loyalty.ledger.models import (
    Currency,
    ExpiryProtection,
    Lot,
    PostingSource,
    ProtectionReason,
    YearCounter,
)
from loyalty.ledger.quarters import expiry_date
from loyalty.ledger.service import year_counters
from loyalty.ledger.verify import verify_ledger
from loyalty.members.models import CardOrder, CardOrderReason, CardState, Member, ServiceCard, Tier
from loyalty.members.service import active_card
from loyalty.rules import current_rules
from loyalty.status import engine, tiers
from loyalty.status.models import EVoucher, MemberStatus, StatusChange, StatusHistory
from tests.factories import make_member

RULES = current_rules()
STATUS = RULES.status
P, QP, HCP = Currency.POINTS, Currency.QUALIFYING_POINTS, Currency.HON_CIRCLE_POINTS


async def _fly(
    account_id: int, key: str, day: dt.date, *, points: int, qp: int = 0, hcp: int = 0, miles: int = 0
) -> None:
    amounts = {P: points, QP: qp, HCP: hcp, Currency.AWARD_MILES: miles}
    await post(
        account_id=account_id,
        amounts={currency: amount for currency, amount in amounts.items() if amount},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=key,
        activity_date=day,
        rule_version="test",
        rules=RULES,
        today=day,
    )


async def _member() -> int:
    return int((await make_member()).member.id)


# --- pure rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "qp", "hcp", "tier"),
    [
        (649, 325, 0, Tier.BASE),
        (650, 324, 0, Tier.BASE),
        (650, 325, 0, Tier.FTL),
        (1999, 1000, 0, Tier.FTL),
        (2000, 999, 0, Tier.FTL),
        (2000, 1000, 0, Tier.SEN),
        (0, 0, 5999, Tier.BASE),
        (0, 0, 6000, Tier.HON),
        (6000, 6000, 6000, Tier.HON),
    ],
)
def test_thresholds_of_one_calendar_year(points: int, qp: int, hcp: int, tier: Tier) -> None:
    assert tiers.qualified_tier({P: points, QP: qp, HCP: hcp}, STATUS) is tier


@pytest.mark.parametrize(
    ("year", "until"),
    [(2025, dt.date(2027, 2, 28)), (2026, dt.date(2028, 2, 29)), (2027, dt.date(2029, 2, 28))],
)
def test_validity_ends_with_february_of_the_year_after_next(year: int, until: dt.date) -> None:
    assert tiers.valid_until_for(year, STATUS) == until


@pytest.mark.parametrize(
    ("lifetime_qp", "tier"), [(29_999, None), (30_000, Tier.FTL), (39_999, Tier.FTL), (40_000, Tier.SEN)]
)
def test_lifetime_tiers(lifetime_qp: int, tier: Tier | None) -> None:
    assert tiers.lifetime_tier(lifetime_qp, STATUS) is tier


def test_after_expiry_one_tier_lower_for_a_year_but_never_below_lifetime_or_a_recent_qualification() -> None:
    ran_out = dt.date(2027, 2, 28)
    one_year = dt.date(2028, 2, 29)
    assert tiers.after_expiry(
        current=Tier.SEN, expired_on=ran_out, lifetime=None, best_qualified=None, rules=STATUS
    ) == (Tier.FTL, one_year)
    assert tiers.after_expiry(
        current=Tier.FTL, expired_on=ran_out, lifetime=None, best_qualified=None, rules=STATUS
    ) == (Tier.BASE, None)
    assert tiers.after_expiry(
        current=Tier.HON, expired_on=ran_out, lifetime=Tier.SEN, best_qualified=None, rules=STATUS
    ) == (Tier.SEN, None)
    # A HON member who reached Senator in the previous year keeps Senator for that qualification's term.
    assert tiers.after_expiry(
        current=Tier.HON,
        expired_on=ran_out,
        lifetime=None,
        best_qualified=(Tier.SEN, dt.date(2028, 2, 29)),
        rules=STATUS,
    ) == (Tier.SEN, dt.date(2028, 2, 29))


def test_missing_points_for_a_tier() -> None:
    assert tiers.missing(Tier.SEN, {P: 1500, QP: 1200}, STATUS) == {P: 500, QP: 0}
    assert tiers.missing(Tier.HON, {HCP: 5000}, STATUS) == {HCP: 1000}


# --- the engine through the ledger ----------------------------------------------------------------


async def test_reaching_frequent_traveller_upgrades_at_once(db: Settings) -> None:
    account = await _member()
    day = dt.date(2025, 6, 1)
    await _fly(account, "lh-1", day, points=400, qp=200, miles=3000)
    assert (await Member.get(id=account)).tier is Tier.BASE
    await _fly(account, "lh-2", day, points=250, qp=125)

    member = await Member.get(id=account)
    card = await active_card(account_id=account)
    assert member.tier is Tier.FTL
    assert card.number.startswith(RULES.identifiers.service_card_prefixes["FTL"])
    assert card.valid_until == dt.date(2027, 2, 28)
    status = await MemberStatus.get(account_id=account)
    assert (status.tier, status.valid_until, status.qualifying_year) == (Tier.FTL, dt.date(2027, 2, 28), 2025)
    [order] = await CardOrder.filter(account_id=account)
    assert (order.reason, order.ship_on) == (CardOrderReason.ACHIEVED, day)
    [change] = await StatusHistory.filter(account_id=account)
    assert (change.from_tier, change.to_tier, change.change) == (Tier.BASE, Tier.FTL, StatusChange.ACHIEVED)
    [event] = await DomainEvent.filter(account_id=account, type=EventType.STATUS_CHANGED)
    assert event.payload["toTier"] == "FTL"
    assert event.payload["serviceCardNumber"] == card.number
    # Status holders' miles do not expire while the status lasts.
    assert await protection_until(account_id=account, day=day) == dt.date.max
    assert (await verify_ledger()).clean


async def test_repeating_a_posting_does_not_upgrade_twice(db: Settings) -> None:
    account = await _member()
    day = dt.date(2025, 6, 1)
    for _ in range(2):
        await _fly(account, "same", day, points=700, qp=400)
    assert await StatusHistory.filter(account_id=account).count() == 1
    assert await ServiceCard.filter(account_id=account).count() == 2  # the base card and the FTL card


async def test_senator_from_frequent_traveller_gives_two_evouchers(db: Settings) -> None:
    account = await _member()
    await _fly(account, "a", dt.date(2025, 3, 1), points=700, qp=350)
    await _fly(account, "b", dt.date(2025, 9, 10), points=1300, qp=650)
    assert (await Member.get(id=account)).tier is Tier.SEN
    vouchers = await EVoucher.filter(account_id=account)
    assert len(vouchers) == STATUS.evouchers_per_qualification["SEN"] == 2
    # Valid 24 months from the day credited, to that quarter's end.
    assert {v.expires_on for v in vouchers} == {dt.date(2027, 9, 30)}
    history = [h.change for h in await engine.history_of(account_id=account)]
    assert history == [StatusChange.ACHIEVED, StatusChange.ACHIEVED]
    states = [c.state for c in await ServiceCard.filter(account_id=account).order_by("id")]
    assert states == [CardState.SUPERSEDED, CardState.SUPERSEDED, CardState.ACTIVE]


async def test_hon_circle_needs_hon_circle_points_only(db: Settings) -> None:
    account = await _member()
    await _fly(account, "hon", dt.date(2025, 11, 2), points=0, hcp=6000)
    assert (await Member.get(id=account)).tier is Tier.HON
    assert await EVoucher.filter(account_id=account).count() == 4


async def test_extra_benefit_is_granted_once_a_year(db: Settings) -> None:
    account = await _member()
    await _fly(account, "a", dt.date(2025, 3, 1), points=660, qp=330)
    assert await EVoucher.filter(account_id=account).count() == 0
    await _fly(account, "b", dt.date(2025, 4, 1), points=20, qp=380)
    await _fly(account, "c", dt.date(2025, 5, 1), points=20, qp=20)
    [voucher] = await EVoucher.filter(account_id=account)
    assert voucher.grant_key == "extra:FTL-700-QP:2025"


async def test_renewal_extends_validity_on_the_same_number_and_orders_the_card(db: Settings) -> None:
    account = await _member()
    await _fly(account, "y1", dt.date(2025, 5, 1), points=2000, qp=1000)
    number = (await active_card(account_id=account)).number
    await _fly(account, "y2", dt.date(2026, 10, 1), points=2000, qp=1000)

    card = await active_card(account_id=account)
    assert card.number == number
    assert card.valid_until == dt.date(2028, 2, 29)
    renewal = await CardOrder.filter(account_id=account, reason=CardOrderReason.RENEWED).get()
    assert renewal.ship_on == dt.date(2027, 2, 28) - dt.timedelta(days=RULES.cards.renewal_ship_days_before)
    assert renewal.activate_on == dt.date(2027, 3, 1)
    # The requalification's eVouchers are credited once the new card is issued.
    renewed = await EVoucher.filter(account_id=account, grant_key="qualification:SEN:2026")
    assert {v.available_from for v in renewed} == {dt.date(2027, 3, 1)}
    assert (await engine.history_of(account_id=account))[0].change is StatusChange.RENEWED


async def test_not_renewed_senator_drops_one_tier_for_a_year_then_to_base(db: Settings) -> None:
    account = await _member()
    await _fly(account, "y1", dt.date(2025, 5, 1), points=2000, qp=1000, miles=5000)
    assert await engine.count_expired(as_of=dt.date(2027, 2, 28)) == 0

    first = await engine.expire_statuses(as_of=dt.date(2027, 3, 1), rules=RULES)
    assert (first.downgraded, first.expired) == (1, 0)
    status = await MemberStatus.get(account_id=account)
    assert (status.tier, status.valid_until) == (Tier.FTL, dt.date(2028, 2, 29))
    assert (await active_card(account_id=account)).number.startswith(
        RULES.identifiers.service_card_prefixes["FTL"]
    )
    again = await engine.expire_statuses(as_of=dt.date(2027, 3, 1), rules=RULES)
    assert (again.downgraded, again.expired) == (0, 0)

    second = await engine.expire_statuses(as_of=dt.date(2028, 3, 1), rules=RULES)
    assert (second.downgraded, second.expired) == (0, 1)
    member = await Member.get(id=account)
    assert member.tier is Tier.BASE
    assert (await active_card(account_id=account)).number[:4] in {
        RULES.identifiers.service_card_prefixes["BASE"],
        RULES.identifiers.service_card_prefixes["BASE_NO_AD_CONSENT"],
    }
    # The status ended: protection closed, every lot gets a fresh 36 months from that day.
    protection = await ExpiryProtection.get(account_id=account, reason=ProtectionReason.STATUS)
    assert protection.ends_on == dt.date(2028, 2, 29)
    [lot] = await Lot.filter(account_id=account)
    assert lot.expires_on == expiry_date(dt.date(2028, 2, 29), RULES.expiry.fresh_months_after_protection)
    changes = [h.change for h in await engine.history_of(account_id=account)]
    assert changes == [StatusChange.EXPIRED, StatusChange.DOWNGRADED, StatusChange.ACHIEVED]
    assert (await verify_ledger()).clean


async def test_a_lower_qualification_softens_the_downgrade(db: Settings) -> None:
    account = await _member()
    await _fly(account, "y1", dt.date(2025, 5, 1), points=0, hcp=6000)
    await _fly(account, "y2", dt.date(2026, 5, 1), points=2100, qp=1100)  # Senator level, while HON
    assert (await Member.get(id=account)).tier is Tier.HON
    await engine.expire_statuses(as_of=dt.date(2027, 3, 1), rules=RULES)
    status = await MemberStatus.get(account_id=account)
    assert (status.tier, status.valid_until) == (Tier.SEN, dt.date(2028, 2, 29))


async def test_lifetime_status_from_lifetime_qualifying_points(db: Settings) -> None:
    account = await _member()
    # Over the years: 30,000 QP, but never enough Points in one year for a status.
    for year in range(2016, 2026):
        await _fly(account, f"y{year}", dt.date(year, 6, 1), points=100, qp=3000)
    status = await MemberStatus.get(account_id=account)
    assert (status.tier, status.valid_until, status.lifetime_tier) == (Tier.FTL, None, Tier.FTL)
    [order] = await CardOrder.filter(account_id=account)
    assert order.reason is CardOrderReason.LIFETIME
    assert (await active_card(account_id=account)).valid_until is None
    # A lifetime status never runs out.
    assert await engine.count_expired(as_of=dt.date(2099, 1, 1)) == 0


async def test_a_hon_member_falls_back_to_the_lifetime_tier(db: Settings) -> None:
    account = await _member()
    await _fly(account, "life", dt.date(2024, 6, 1), points=100, qp=40_000)
    assert (await MemberStatus.get(account_id=account)).tier is Tier.SEN
    await _fly(account, "hon", dt.date(2025, 6, 1), points=0, hcp=6000)
    assert (await MemberStatus.get(account_id=account)).tier is Tier.HON
    await engine.expire_statuses(as_of=dt.date(2027, 3, 1), rules=RULES)
    status = await MemberStatus.get(account_id=account)
    assert (status.tier, status.valid_until) == (Tier.SEN, None)


async def test_a_credit_for_a_long_past_year_changes_no_status(db: Settings) -> None:
    account = await _member()
    await post(
        account_id=account,
        amounts={P: 3000, QP: 1500},
        source=PostingSource.RETRO_CREDIT,
        idempotency_key="late",
        activity_date=dt.date(2022, 12, 20),
        rule_version="test",
        rules=RULES,
        today=dt.date(2026, 1, 10),
    )
    assert (await Member.get(id=account)).tier is Tier.BASE
    assert await year_counters(account_id=account, year=2022) == {P: 3000, QP: 1500, HCP: 0}


async def test_counters_are_per_calendar_year(db: Settings) -> None:
    account = await _member()
    await _fly(account, "dec", dt.date(2025, 12, 31), points=600, qp=300)
    await _fly(account, "jan", dt.date(2026, 1, 1), points=60, qp=30)
    assert (await Member.get(id=account)).tier is Tier.BASE  # 660 points, but over two years
    assert (await year_counters(account_id=account, year=2026))[P] == 60
    assert await YearCounter.filter(account_id=account).count() == 4


# --- concurrency (PostgreSQL) ---------------------------------------------------------------------


async def test_concurrent_credits_upgrade_exactly_once(pg_db: Settings) -> None:
    account = await _member()
    day = dt.date(2025, 6, 1)

    async def miles_only(n: int) -> None:
        await post(
            account_id=account,
            amounts={Currency.AWARD_MILES: 100},
            source=PostingSource.TEST,
            idempotency_key=f"m-{n}",
            activity_date=day,
            rule_version="test",
            rules=RULES,
        )

    # Status credits carry award miles too, so both kinds lock the award-miles balance: the member row
    # lock must not conflict with the key-share lock a concurrent posting's insert takes on it.
    await asyncio.gather(
        *[_fly(account, f"f-{n}", day, points=100, qp=50, miles=10) for n in range(14)],
        *[miles_only(n) for n in range(6)],
    )
    assert await StatusHistory.filter(account_id=account, change=StatusChange.ACHIEVED).count() == 1
    assert await EVoucher.filter(account_id=account).count() == 1  # 700 QP: the FTL Extra Benefit, once
    assert (await Member.get(id=account)).tier is Tier.FTL
    assert await ServiceCard.filter(account_id=account, state=CardState.ACTIVE).count() == 1
    assert (await year_counters(account_id=account, year=2025))[P] == 1400
    assert (await verify_ledger()).clean
