"""Pooling under concurrency, on PostgreSQL (row locks): limits, one pool per member, no overdraft."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

import pytest

from gateway.settings import Settings
from loyalty.errors import DomainError
from loyalty.ledger.models import Balance, Currency, Lot
from loyalty.ledger.verify import verify_ledger
from loyalty.pooling.models import HOLDING_A_PLACE, OPEN_STATES, Pool, PoolMembership, PoolRole
from loyalty.pooling.redemption import redeem_from_pool
from loyalty.rewards import service as rewards
from loyalty.rewards.models import Redemption
from loyalty.rules import current_rules
from tests.loyalty.pooling_helpers import COMBINED, NOW, accept, credit, invite, join, miles, person

pytestmark = pytest.mark.postgres
RULES = current_rules()


async def _outcome(call: object) -> str:
    try:
        await call  # type: ignore[misc]
    except rewards.InsufficientMiles:
        return "short"
    except DomainError as error:
        return error.code
    return "ok"


async def test_two_adults_redeeming_concurrently_never_overdraw_any_member(pg_db: Settings) -> None:
    founder, partner, child = await person(40), await person(38), await person(9)
    await join(founder, partner, child)
    await credit(founder, 2500, dt.date(2025, 1, 1))
    await credit(partner, 4000, dt.date(2024, 6, 1))
    await credit(child, 3500, dt.date(2026, 2, 1))  # 10,000 in the pool

    def attempt(adult_id: int, i: int) -> object:
        return redeem_from_pool(
            account_id=adult_id, reward_code="SHOP-LUGGAGE-TAG", request_id=f"r{i}", rules=RULES, now=COMBINED
        )

    calls = [attempt(founder.id if i % 2 else partner.id, i) for i in range(12)]
    # Meanwhile the child redeems their own miles and a partner credit arrives: all under the same locks.
    own = rewards.redeem(
        account_id=child.id, reward_code="SHOP-LUGGAGE-TAG", idempotency_key="own", rules=RULES, now=COMBINED
    )
    outcomes = Counter(await asyncio.gather(*[_outcome(call) for call in [*calls, own]]))
    assert outcomes["ok"] == 3 and outcomes["short"] == 10
    assert await miles(founder) + await miles(partner) + await miles(child) == 1000
    assert await Balance.filter(currency=Currency.AWARD_MILES, amount__lt=0).count() == 0
    assert await Lot.filter(remaining__lt=0).count() == 0
    assert await Redemption.all().count() == 3
    report = await verify_ledger()
    assert report.clean, report.drifts


async def test_concurrent_retries_of_one_pooled_request_redeem_once(pg_db: Settings) -> None:
    founder, partner = await person(40), await person(38)
    await join(founder, partner)
    await credit(founder, 2000, dt.date(2025, 1, 1))
    await credit(partner, 8000, dt.date(2025, 1, 1))
    results = await asyncio.gather(
        *[
            redeem_from_pool(
                account_id=founder.id,
                reward_code="SHOP-AMENITY-KIT",
                request_id="same",
                rules=RULES,
                now=COMBINED,
            )
            for _ in range(8)
        ]
    )
    assert len({result.redemption.id for result in results}) == 1
    assert await miles(founder) + await miles(partner) == 3500
    assert (await verify_ledger()).clean


async def test_concurrent_invitations_never_exceed_five_children(pg_db: Settings) -> None:
    founder = await person(40)
    children = [await person(4 + i) for i in range(8)]
    outcomes = Counter(await asyncio.gather(*[_outcome(invite(founder, child)) for child in children]))
    assert outcomes == {"ok": 5, "POOL_FULL": 3}
    assert await Pool.all().count() == 1  # the first invitation founded it; the others joined it
    assert await PoolMembership.filter(role=PoolRole.CHILD, state__in=list(OPEN_STATES)).count() == 5


async def test_a_member_accepting_several_pools_at_once_joins_one(pg_db: Settings) -> None:
    child = await person(9)
    founders = [await person(40 + i) for i in range(4)]
    invitations = [await invite(founder, child) for founder in founders]
    outcomes = Counter(await asyncio.gather(*[_outcome(accept(child, inv)) for inv in invitations]))
    assert outcomes["ok"] == 1 and sum(outcomes.values()) == 4
    assert await PoolMembership.filter(account_id=child.id, state__in=list(HOLDING_A_PLACE)).count() == 1
    # The founders left alone by the declined invitations are released: their pools dissolved.
    assert await PoolMembership.filter(state__in=list(HOLDING_A_PLACE)).count() == 2


async def test_concurrent_acceptances_never_exceed_two_adults(pg_db: Settings) -> None:
    founder = await person(40)
    teens = [await person(18, days=3) for _ in range(4)]  # invited at 17, adults when they accept
    invitations = [await invite(founder, teen) for teen in teens]
    later = NOW + dt.timedelta(days=3)
    outcomes = Counter(
        await asyncio.gather(
            *[_outcome(accept(teen, inv, later)) for teen, inv in zip(teens, invitations, strict=True)]
        )
    )
    assert outcomes == {"ok": 1, "POOL_FULL": 3}
    adults = await PoolMembership.filter(role=PoolRole.ADULT, state__in=list(HOLDING_A_PLACE)).count()
    assert adults == 2


async def test_one_founder_inviting_twice_at_once_founds_one_pool(pg_db: Settings) -> None:
    founder, first, second = await person(40), await person(8), await person(9)
    await asyncio.gather(invite(founder, first), invite(founder, second))
    assert await Pool.all().count() == 1
    assert await PoolMembership.filter(state="INVITED").count() == 2


async def test_cancelling_while_others_redeem_keeps_the_ledger_clean(pg_db: Settings) -> None:
    founder, partner, child = await person(40), await person(38), await person(9)
    await join(founder, partner, child)
    for who, earned in (
        (founder, dt.date(2025, 1, 1)),
        (partner, dt.date(2024, 5, 1)),
        (child, dt.date(2025, 8, 1)),
    ):
        await credit(who, 4000, earned)
    first = await redeem_from_pool(
        account_id=founder.id, reward_code="SHOP-AMENITY-KIT", request_id="first", rules=RULES, now=COMBINED
    )
    cancel = rewards.cancel_redemption(
        account_id=founder.id, redemption_id=first.redemption.id, now=COMBINED, rules=RULES
    )
    redemptions = [
        redeem_from_pool(
            account_id=adult.id, reward_code="SHOP-LUGGAGE-TAG", request_id=f"r{i}", rules=RULES, now=COMBINED
        )
        for i, adult in enumerate([founder, partner] * 3)
    ]
    outcomes = Counter(await asyncio.gather(*[_outcome(call) for call in [cancel, *redemptions]]))
    spent = 3000 * (outcomes["ok"] - 1)
    assert outcomes["ok"] >= 2 and outcomes["ok"] + outcomes["short"] == 7
    assert await miles(founder) + await miles(partner) + await miles(child) == 12000 - spent
    assert await Balance.filter(currency=Currency.AWARD_MILES, amount__lt=0).count() == 0
    report = await verify_ledger()
    assert report.clean, report.drifts
