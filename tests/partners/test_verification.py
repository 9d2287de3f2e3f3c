"""``partners.verification``: a partner's signing material is read once per process and time to live,
forgotten when a change is announced, and an expiry time still counts while it is kept."""

from __future__ import annotations

import asyncio
import datetime as dt

from gateway.settings import Settings
from partners.models import Partner, PartnerState
from partners.secret_box import SecretBox
from partners.signing import add_secret, retire
from partners.verification import PartnerVerification, VerificationCache, load_verification
from tests.factories import make_partner, partner_box_for_tests

NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


class Loads:
    """A stand-in for the database read: counts the loads, and can hold one until released."""

    def __init__(self) -> None:
        self.count = 0
        self.gate: asyncio.Event | None = None
        self.state = PartnerState.ACTIVE

    async def __call__(self, code: str, box: SecretBox) -> PartnerVerification | None:
        self.count += 1
        state = self.state
        if self.gate is not None:
            await self.gate.wait()
        if code == "nobody":
            return None
        return PartnerVerification(partner=Partner(id=1, code=code, state=state), secrets=(), public_keys=())


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def cache(loads: Loads, clock: Clock, ttl_s: float = 30) -> VerificationCache:
    return VerificationCache(partner_box_for_tests(), ttl_s=ttl_s, clock=clock, load=loads)


async def test_a_partner_is_read_once_within_its_time_to_live():
    loads, clock = Loads(), Clock()
    kept = cache(loads, clock)

    for _ in range(5):
        assert (await kept.get("swiss")) is not None
    clock.now += 29
    await kept.get("swiss")
    assert loads.count == 1

    clock.now += 2
    await kept.get("swiss")
    assert loads.count == 2


async def test_a_forgotten_partner_is_read_again():
    loads, clock = Loads(), Clock()
    kept = cache(loads, clock)
    await kept.get("swiss")
    await kept.get("edelweiss")

    kept.forget("swiss")
    await kept.get("swiss")
    await kept.get("edelweiss")
    assert loads.count == 3

    kept.forget()
    await kept.get("swiss")
    await kept.get("edelweiss")
    assert loads.count == 5


async def test_an_unknown_partner_is_not_kept():
    loads, clock = Loads(), Clock()
    kept = cache(loads, clock)

    assert await kept.get("nobody") is None
    assert await kept.get("nobody") is None
    assert loads.count == 2


async def test_deliveries_waiting_for_the_same_partner_share_one_read():
    loads, clock = Loads(), Clock()
    loads.gate = asyncio.Event()
    kept = cache(loads, clock)

    waiting = [asyncio.create_task(kept.get("swiss")) for _ in range(10)]
    await asyncio.sleep(0)
    loads.gate.set()
    found = await asyncio.gather(*waiting)

    assert loads.count == 1
    assert all(item is found[0] for item in found)


async def test_a_read_under_way_when_a_change_is_announced_is_not_kept():
    # given: a read that started before the partner was suspended, and ends after the announcement
    loads, clock = Loads(), Clock()
    loads.gate = asyncio.Event()
    kept = cache(loads, clock)
    stale = asyncio.create_task(kept.get("swiss"))
    await asyncio.sleep(0)
    loads.state = PartnerState.SUSPENDED
    kept.forget("swiss")
    loads.gate.set()
    await stale

    # when
    loads.gate = None
    fresh = await kept.get("swiss")

    # then: the next delivery reads the suspension
    assert fresh is not None
    assert fresh.partner.state is PartnerState.SUSPENDED
    assert loads.count == 2


async def test_a_time_to_live_of_zero_keeps_nothing():
    loads, clock = Loads(), Clock()
    kept = cache(loads, clock, ttl_s=0)

    await kept.get("swiss")
    await kept.get("swiss")
    assert loads.count == 2


async def test_the_material_loaded_is_the_active_one_and_expiry_still_counts(db: Settings):
    # given: a second secret that expires in an hour, and the first revoked
    partner = await make_partner("swiss")
    box = partner_box_for_tests()
    second = await add_secret(code="swiss", box=box)
    await retire(
        code="swiss", kind="secret", material_id=second.id, at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    )
    await retire(code="swiss", kind="secret", material_id=partner.secret_id, force=True)

    # when
    loaded = await load_verification("swiss", box)

    # then: only the second, decrypted, usable until its expiry
    assert loaded is not None
    now = dt.datetime.now(dt.UTC)
    assert loaded.usable_secrets(now) == [second.secret]
    assert loaded.usable_secrets(now + dt.timedelta(hours=2)) == []
    assert await load_verification("nobody", box) is None
