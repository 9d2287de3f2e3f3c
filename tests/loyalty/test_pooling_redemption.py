"""Pooled redemption (DOMAIN.md 7): adults spend the combined miles; lots go in expiry order across the
members, protected miles last; one balanced REDEMPTION posting per member; cancelling gives each member's
miles back to the lots they came from."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.settings import Settings
from loyalty.crediting import post
from loyalty.errors import DomainError
from loyalty.events.models import DomainEvent, EventType
from loyalty.ledger.expiry import protect
from loyalty.ledger.models import (
    CounterAccount,
    CounterEntry,
    Currency,
    Lot,
    LotAllocation,
    Posting,
    PostingSource,
    ProtectionReason,
)
from loyalty.ledger.service import balances_of
from loyalty.ledger.verify import verify_ledger
from loyalty.pooling import service
from loyalty.pooling.redemption import PooledRedemption, redeem_from_pool
from loyalty.pooling.rules import LotView, allocate, allocation_order
from loyalty.pooling.views import pool_of
from loyalty.rewards import service as rewards
from loyalty.rewards.models import PooledRedemptionPosting, Redemption, RedemptionState
from loyalty.rules import current_rules
from tests.loyalty.pooling_helpers import COMBINED, NOW, Person, credit, join, miles, person

RULES = current_rules()
TAG = "SHOP-LUGGAGE-TAG"  # 3,000 miles: the minimum redemption
KIT = "SHOP-AMENITY-KIT"  # 6,500 miles
UPGRADE = "UPGRADE-EU-ECO-BUS"  # 10,000 miles


async def _redeem(
    redeemer: Person, code: str, request_id: str, now: dt.datetime = COMBINED
) -> PooledRedemption:
    return await redeem_from_pool(
        account_id=redeemer.id, reward_code=code, request_id=request_id, rules=RULES, now=now
    )


async def _code(redeemer: Person, code: str = TAG, now: dt.datetime = COMBINED) -> str:
    with pytest.raises(DomainError) as refused:
        await _redeem(redeemer, code, "refused", now)
    return refused.value.code


async def _remaining(person: Person) -> list[tuple[dt.date, int]]:
    lots = await Lot.filter(account_id=person.id).order_by("expires_on", "id")
    return [(lot.expires_on, lot.remaining) for lot in lots]


# --- the allocation rule, pure ---------------------------------------------------------------------------


def test_allocation_takes_unprotected_lots_first_then_expiry_order() -> None:
    lots = [
        LotView(1, 10, 1000, dt.date(2027, 3, 31), protected=True),
        LotView(2, 11, 2000, dt.date(2028, 6, 30), protected=False),
        LotView(3, 12, 500, dt.date(2027, 12, 31), protected=False),
        LotView(4, 10, 700, dt.date(2026, 12, 31), protected=True),
    ]
    assert [lot.lot_id for lot in allocation_order(lots)] == [3, 2, 4, 1]
    assert [(lot.lot_id, taken) for lot, taken in allocate(lots, 2600)] == [(3, 500), (2, 2000), (4, 100)]
    assert sum(taken for _, taken in allocate(lots, 99999)) == 4200  # all there is


@given(
    st.lists(
        st.tuples(st.integers(1, 5000), st.integers(0, 40), st.booleans(), st.integers(1, 3)), max_size=12
    ),
    st.integers(1, 30000),
)
def test_allocation_never_overdraws_a_lot_and_uses_protected_only_when_needed(
    rows: list[tuple[int, int, bool, int]], amount: int
) -> None:
    lots = [
        LotView(i, member, remaining, dt.date(2027, 1, 1) + dt.timedelta(days=90 * q), protected)
        for i, (remaining, q, protected, member) in enumerate(rows)
    ]
    plan = allocate(lots, amount)
    total = sum(lot.remaining for lot in lots)
    assert sum(taken for _, taken in plan) == min(amount, total)
    assert all(0 < taken <= lot.remaining for lot, taken in plan)
    unprotected = sum(lot.remaining for lot in lots if not lot.protected)
    from_protected = sum(taken for lot, taken in plan if lot.protected)
    assert from_protected == max(0, min(amount, total) - unprotected)


# --- redeeming pooled miles ------------------------------------------------------------------------------


async def test_a_pooled_redemption_takes_lots_across_members_in_expiry_order(db: Settings) -> None:
    founder, partner, child = await person(40), await person(38), await person(9)
    await join(founder, partner, child)
    await credit(founder, 4000, dt.date(2025, 5, 1))  # expires 30.06.2028
    await credit(partner, 3000, dt.date(2024, 2, 1))  # expires 31.03.2027
    await credit(child, 2000, dt.date(2024, 8, 1))  # expires 30.09.2027
    await credit(child, 5000, dt.date(2026, 1, 1))  # expires 31.03.2029

    done = await _redeem(partner, KIT, "req-1")  # 6,500: partner 3,000, child 2,000, founder 1,500
    assert [(s.account_id, s.miles) for s in done.shares] == sorted(
        [(partner.id, 3000), (child.id, 2000), (founder.id, 1500)]
    )
    assert (done.redemption.account_id, done.redemption.miles, done.redemption.reward_code) == (
        partner.id,
        6500,
        KIT,
    )
    assert (await miles(founder), await miles(partner), await miles(child)) == (2500, 0, 5000)
    assert await _remaining(child) == [(dt.date(2027, 9, 30), 0), (dt.date(2029, 3, 31), 5000)]
    for share in done.shares:
        posting = await Posting.get(id=share.posting_id)
        assert (posting.account_id, posting.source) == (share.account_id, "REDEMPTION")
        counter = await CounterEntry.get(posting_id=posting.id)
        assert (counter.counter_account, counter.currency, counter.amount) == (
            CounterAccount.REDEMPTION,
            Currency.AWARD_MILES,
            share.miles,
        )
    assert done.redemption.posting_id == done.shares[0].posting_id
    created = await DomainEvent.filter(type=EventType.REDEMPTION_CREATED)
    assert [event.account_id for event in created] == [partner.id]
    postings = [share.posting_id for share in done.shares]
    assert await DomainEvent.filter(type=EventType.POSTING_CREATED, posting_id__in=postings).count() == 3
    report = await verify_ledger()
    assert report.clean, report.drifts


async def test_protected_miles_are_used_only_when_unprotected_ones_are_not_enough(db: Settings) -> None:
    founder, partner = await person(40), await person(38)
    await join(founder, partner)
    await credit(founder, 3000, dt.date(2024, 1, 15))  # expires first, but the founder's card protects it
    await credit(founder, 2000, dt.date(2026, 6, 1))
    await credit(partner, 4000, dt.date(2025, 9, 1))
    # Credit-card protection covers only the cardholder's own lots.
    await protect(account_id=founder.id, reason=ProtectionReason.CREDIT_CARD, starts_on=dt.date(2025, 1, 1))

    await _redeem(founder, TAG, "first")  # 3,000 from the partner's unprotected lot
    assert (await miles(founder), await miles(partner)) == (5000, 1000)
    await _redeem(founder, TAG, "second")  # 1,000 partner, then the founder's protected lots by expiry
    assert (await miles(founder), await miles(partner)) == (3000, 0)
    assert [r for _, r in await _remaining(founder)] == [1000, 2000]
    assert (await verify_ledger()).clean


async def test_status_protection_of_one_member_makes_the_others_miles_go_first(db: Settings) -> None:
    senator, child = await person(45), await person(11)
    await join(senator, child)
    await credit(senator, 5000, dt.date(2024, 1, 10))
    await credit(child, 5000, dt.date(2026, 9, 1))
    await protect(account_id=senator.id, reason=ProtectionReason.STATUS, starts_on=dt.date(2024, 3, 1))
    await _redeem(senator, "SHOP-AMENITY-KIT", "kit")
    assert (await miles(senator), await miles(child)) == (3500, 0)


async def test_only_adults_redeem_pooled_miles_minors_still_redeem_their_own(db: Settings) -> None:
    founder, teen = await person(40), await person(17)
    await join(founder, teen)
    await credit(founder, 10000, dt.date(2026, 1, 1))
    await credit(teen, 4000, dt.date(2026, 1, 1))
    assert await _code(teen) == "ONLY_ADULTS_REDEEM"
    own = await rewards.redeem(
        account_id=teen.id, reward_code=TAG, idempotency_key="own", rules=RULES, now=COMBINED
    )
    assert own.miles == 3000 and await miles(teen) == 1000 and await miles(founder) == 10000
    teen_view = await pool_of(account_id=teen.id, today=COMBINED.date(), rules=RULES.pooling)
    adult_view = await pool_of(account_id=founder.id, today=COMBINED.date(), rules=RULES.pooling)
    assert teen_view is not None and adult_view is not None
    assert (teen_view.viewer_may_redeem, teen_view.redeemable_miles, teen_view.award_miles) == (
        False,
        1000,
        11000,
    )
    assert (adult_view.viewer_may_redeem, adult_view.redeemable_miles) == (True, 11000)


async def test_no_pooled_redemption_with_a_members_miles_before_they_combine(db: Settings) -> None:
    founder, partner, child = await person(40), await person(38), await person(9)
    await join(founder, partner)
    await credit(founder, 1000, dt.date(2026, 6, 1))
    await credit(partner, 5000, dt.date(2026, 1, 1))
    await credit(child, 5000, dt.date(2025, 1, 1))
    assert await _code(partner, now=NOW + dt.timedelta(days=1)) == "NOT_COMBINED_YET"
    assert await _code(founder, now=NOW + dt.timedelta(days=1)) == "POOL_NOT_WORKING"
    await join(founder, child, now=COMBINED)  # the child accepts when the partner's miles combine
    # Two days after the first acceptance: founder and partner combined, the child's miles not yet.
    done = await _redeem(founder, TAG, "r1", now=COMBINED)
    assert {s.account_id for s in done.shares} == {partner.id}
    assert await miles(child) == 5000
    later = COMBINED + dt.timedelta(days=2)
    done = await _redeem(founder, TAG, "r2", now=later)  # the child's older lot goes first now
    assert [(s.account_id, s.miles) for s in done.shares] == [(child.id, 3000)]


async def test_not_enough_pooled_miles_changes_nothing(db: Settings) -> None:
    founder, partner = await person(40), await person(38)
    await join(founder, partner)
    await credit(founder, 4000, dt.date(2026, 1, 1))
    await credit(partner, 5000, dt.date(2026, 1, 1))
    with pytest.raises(rewards.InsufficientMiles) as short:
        await _redeem(founder, UPGRADE, "r1")
    assert (short.value.required, short.value.balance, short.value.missing) == (10000, 9000, 1000)
    assert (await miles(founder), await miles(partner)) == (4000, 5000)
    assert await Redemption.all().count() == 0 and await Posting.filter(source="REDEMPTION").count() == 0


async def test_award_miles_only_points_are_never_pooled(db: Settings) -> None:
    founder, partner = await person(40), await person(38)
    await join(founder, partner)
    await post(
        account_id=partner.id,
        amounts={Currency.AWARD_MILES: 3000, Currency.POINTS: 500, Currency.QUALIFYING_POINTS: 500},
        source=PostingSource.TEST,
        idempotency_key="flight",
        activity_date=dt.date(2026, 1, 1),
        rule_version="test",
        rules=RULES,
    )
    view = await pool_of(account_id=founder.id, today=COMBINED.date(), rules=RULES.pooling)
    assert view is not None and view.award_miles == 3000
    await _redeem(founder, TAG, "r1")
    balances = await balances_of(account_id=partner.id)
    assert (
        balances[Currency.AWARD_MILES],
        balances[Currency.POINTS],
        balances[Currency.QUALIFYING_POINTS],
    ) == (0, 500, 500)


async def test_a_retried_request_redeems_once(db: Settings) -> None:
    founder, partner = await person(40), await person(38)
    await join(founder, partner)
    await credit(founder, 2000, dt.date(2026, 1, 1))
    await credit(partner, 5000, dt.date(2025, 1, 1))
    first = await _redeem(founder, TAG, "same")
    again = await _redeem(founder, TAG, "same")
    assert again.redemption.id == first.redemption.id and again.shares == first.shares
    assert await miles(founder) + await miles(partner) == 4000
    with pytest.raises(DomainError) as reused:
        await _redeem(founder, KIT, "same")
    assert reused.value.code == "REQUEST_ID_REUSED"
    with pytest.raises(DomainError) as invalid:
        await _redeem(founder, TAG, " ")
    assert invalid.value.code == "REQUEST_ID_INVALID"


async def test_cancelling_gives_every_member_their_miles_back_with_original_expiry(db: Settings) -> None:
    founder, partner, child = await person(40), await person(38), await person(9)
    await join(founder, partner, child)
    await credit(founder, 3000, dt.date(2024, 3, 1))
    await credit(partner, 2000, dt.date(2024, 6, 1))
    await credit(child, 6000, dt.date(2025, 6, 1))
    before = {p.id: await _remaining(p) for p in (founder, partner, child)}
    done = await _redeem(founder, UPGRADE, "r1")  # 3,000 + 2,000 + 5,000
    assert [s.miles for s in sorted(done.shares, key=lambda s: s.account_id)] == [3000, 2000, 5000]
    assert await miles(child) == 1000

    later = COMBINED + dt.timedelta(days=30)
    cancelled = await rewards.cancel_redemption(
        account_id=founder.id, redemption_id=done.redemption.id, now=later, rules=RULES
    )
    assert cancelled.state is RedemptionState.CANCELLED
    assert {p.id: await _remaining(p) for p in (founder, partner, child)} == before
    assert await Lot.all().count() == 3  # back to the same lots, no fresh ones
    reversals = await Posting.filter(source="REVERSAL").order_by("account_id")
    assert [posting.account_id for posting in reversals] == sorted([founder.id, partner.id, child.id])
    assert sum(a.amount for a in await LotAllocation.all()) == 0
    assert (await verify_ledger()).clean
    with pytest.raises(DomainError) as twice:
        await rewards.cancel_redemption(
            account_id=founder.id, redemption_id=done.redemption.id, now=later, rules=RULES
        )
    assert twice.value.code == "ALREADY_CANCELLED"
    # Only the redeemer sees (and cancels) the redemption.
    assert [r.id for r in await rewards.redemptions_of(account_id=founder.id)] == [done.redemption.id]
    assert await rewards.redemptions_of(account_id=partner.id) == []
    assert await PooledRedemptionPosting.filter(redemption_id=done.redemption.id).count() == 3


async def test_a_member_who_left_takes_their_miles_along(db: Settings) -> None:
    founder, partner, child = await person(40), await person(38), await person(9)
    await join(founder, partner, child)
    await credit(founder, 1000, dt.date(2026, 1, 1))
    await credit(partner, 9000, dt.date(2024, 1, 1))
    await credit(child, 3000, dt.date(2026, 1, 1))
    await service.leave(account_id=partner.id, rules=RULES, now=COMBINED)
    with pytest.raises(rewards.InsufficientMiles) as short:
        await _redeem(founder, KIT, "r1")
    assert short.value.balance == 4000
    assert await _code(partner) == "NOT_IN_POOL"
    done = await _redeem(founder, TAG, "r2")
    assert {s.account_id for s in done.shares} == {founder.id, child.id} and await miles(partner) == 9000
