"""Erasure against pooling under concurrency (issue 19), on PostgreSQL (row locks): an erasure and a pooled
redemption of the same pool never deadlock and leave both consistent; an invitation sent while the
invitee is being erased is never left open.

Each call runs in its own transaction on its own pooled connection (``asyncio.gather``/tasks). The
interleavings are forced by barriers: a row lock held from a separate connection (the redemption or the
invitation stops at it), or a personal-data source placed among the erasure's that waits for the test;
the test goes on once PostgreSQL shows the other transaction waiting for a lock (``pg_stat_activity``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import asyncpg
import pytest
from tortoise.models import Model

from gateway.privacy import personal_data_sources
from gateway.settings import Settings
from loyalty.errors import DomainError
from loyalty.ledger.models import Balance, Currency, Lot
from loyalty.ledger.verify import verify_ledger
from loyalty.members.models import Member
from loyalty.pooling.models import MembershipState, Pool, PoolMembership, PoolState
from loyalty.pooling.redemption import PooledRedemption, redeem_from_pool
from loyalty.privacy.service import erase_personal_data
from loyalty.privacy.sources import PersonalDataSource
from loyalty.rules import current_rules
from tests.loyalty.pooling_helpers import COMBINED, NOW, Person, credit, invite, join, miles, person
from tests.support import deadline_s, wait_for

pytestmark = pytest.mark.postgres
RULES = current_rules()
LUGGAGE_TAG = 3000  # SHOP-LUGGAGE-TAG's miles in the catalogue


@pytest.fixture
async def gate(pg_db: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the test's own, outside the ORM's pool: it holds row locks and watches waiters."""
    connection = await asyncpg.connect(pg_db.resolved_database_url.replace("postgres://", "postgresql://", 1))
    try:
        yield connection
    finally:
        await connection.close()


async def _lock_waiters(gate: asyncpg.Connection) -> int:
    """Transactions of this database that wait for a lock right now (a fresh look: inside a transaction,
    PostgreSQL would answer from the snapshot it took at the first look)."""
    await gate.execute("SELECT pg_stat_clear_snapshot()")
    count: int = await gate.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    return count


async def _until_waiting(gate: asyncpg.Connection, waiters: int, *done: asyncio.Task[Any]) -> None:
    async def reached() -> bool:
        return any(task.done() for task in done) or await _lock_waiters(gate) >= waiters

    await wait_for(reached, what=f"{waiters} transactions waiting for a lock")


class _Pause:
    """A personal-data source that stops the erasure (inside its transaction) until the test lets it go."""

    name = "pause"
    tables: tuple[type[Model], ...] = ()

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.go = asyncio.Event()

    async def export(self, account_id: int) -> Any:
        return None

    async def erase(self, account_id: int, *, now: dt.datetime) -> int:
        self.reached.set()
        await asyncio.wait_for(self.go.wait(), deadline_s(30))
        return 0


def _erase(someone: Person, *, pause: _Pause | None = None) -> Awaitable[dict[str, int]]:
    """The erasure with every source; ``pause`` runs right after the profile's rewrite (the member row then
    holds its full lock)."""
    sources: list[PersonalDataSource] = personal_data_sources()
    if pause is not None:
        sources.insert(1, pause)
    return erase_personal_data(
        account_id=someone.id, sources=sources, actor="operator:ada", reason="REQ-19", now=NOW
    )


def _redeem(redeemer: Person, request_id: str) -> Awaitable[PooledRedemption]:
    return redeem_from_pool(
        account_id=redeemer.id,
        reward_code="SHOP-LUGGAGE-TAG",
        request_id=request_id,
        rules=RULES,
        now=COMBINED,
    )


async def _family() -> tuple[Person, Person, Person]:
    """A working pool of three; the partner's miles expire first, so a redemption takes theirs."""
    founder, partner, child = await person(40), await person(38), await person(9)
    await join(founder, partner, child)
    await credit(founder, 4000, dt.date(2026, 1, 1))
    await credit(partner, 4000, dt.date(2024, 6, 1))
    await credit(child, 4000, dt.date(2026, 2, 1))
    return founder, partner, child


async def _ledger_is_clean() -> None:
    assert await Balance.filter(currency=Currency.AWARD_MILES, amount__lt=0).count() == 0
    assert await Lot.filter(remaining__lt=0).count() == 0
    report = await verify_ledger()
    assert report.clean, report.drifts


async def _left_without_block(someone: Person) -> None:
    row = await PoolMembership.get(account_id=someone.id)
    assert (row.state, row.seat_account_id, row.blocked_until) == (MembershipState.LEFT, None, None)
    assert (await Member.get(id=someone.id)).erased_at is not None


async def test_erasure_while_a_pooled_redemption_holds_the_pool(
    pg_db: Settings, gate: asyncpg.Connection
) -> None:
    # given: the redemption holds the pool and stops at the partner's balance row (held by the gate);
    # meanwhile the partner is erased
    founder, partner, child = await _family()
    async with gate.transaction():
        await gate.execute(
            "SELECT 1 FROM balances WHERE account_id = $1 AND currency = $2 FOR UPDATE",
            partner.id,
            Currency.AWARD_MILES.value,
        )
        redemption = asyncio.ensure_future(_redeem(founder, "while-erased"))
        await _until_waiting(gate, 1, redemption)
        erasure = asyncio.ensure_future(_erase(partner))
        await _until_waiting(gate, 2, redemption, erasure)
    # when: the gate opens, the redemption writes the partner's posting (a KEY SHARE lock on the
    # partner's row) while the erasure waits for the pool
    redeemed, changed = await asyncio.wait_for(asyncio.gather(redemption, erasure), deadline_s(30))

    # then: no deadlock; the redemption took the partner's miles before the erasure released them
    assert {share.account_id: share.miles for share in redeemed.shares} == {partner.id: LUGGAGE_TAG}
    assert await miles(partner) == 4000 - LUGGAGE_TAG
    assert changed["pooling"] == 1
    await _left_without_block(partner)
    pool_id = (await PoolMembership.get(account_id=founder.id)).pool_id
    assert (await Pool.get(id=pool_id)).state is PoolState.ACTIVE
    await _ledger_is_clean()
    # and the pool carries on without the erased member
    after = await _redeem(founder, "after")
    assert partner.id not in {share.account_id for share in after.shares}
    assert await miles(partner) == 4000 - LUGGAGE_TAG
    assert await miles(founder) + await miles(child) == 8000 - LUGGAGE_TAG


async def test_a_pooled_redemption_while_the_erasure_holds_the_pool(
    pg_db: Settings, gate: asyncpg.Connection
) -> None:
    # given: the erasure released the partner from the pool and rewrote the profile, and stops there
    founder, partner, child = await _family()
    pause = _Pause()
    erasure = asyncio.ensure_future(_erase(partner, pause=pause))
    await asyncio.wait_for(pause.reached.wait(), deadline_s(30))
    # when: an adult of the pool redeems meanwhile (it waits for the pool)
    redemption = asyncio.ensure_future(_redeem(founder, "during-erasure"))
    await _until_waiting(gate, 1, redemption)
    pause.go.set()
    changed, redeemed = await asyncio.wait_for(asyncio.gather(erasure, redemption), deadline_s(30))

    # then: no deadlock; the redemption ran after the erasure, without the erased member's miles
    assert changed["pooling"] == 1
    await _left_without_block(partner)
    assert partner.id not in {share.account_id for share in redeemed.shares}
    assert await miles(partner) == 4000
    assert await miles(founder) + await miles(child) == 8000 - LUGGAGE_TAG
    await _ledger_is_clean()


async def _outcome(call: Awaitable[object]) -> str:
    try:
        await call
    except DomainError as error:
        return error.code
    return "ok"


async def test_an_invitation_sent_while_the_invitee_is_erased_is_declined(
    pg_db: Settings, gate: asyncpg.Connection
) -> None:
    # given: a founder's pool (one open invitation) and a member about to be erased; the invitation to
    # that member stops at the pool row (held by the gate), the erasure starts meanwhile
    founder, first, invitee = await person(40), await person(8), await person(30)
    pool_id = (await invite(founder, first)).pool_id
    async with gate.transaction():
        await gate.execute("SELECT 1 FROM pools WHERE id = $1 FOR UPDATE", pool_id)
        invitation = asyncio.ensure_future(_outcome(invite(founder, invitee)))
        await _until_waiting(gate, 1, invitation)
        erasure = asyncio.ensure_future(_erase(invitee))
        await _until_waiting(gate, 2, invitation, erasure)
    # when: the gate opens and both finish
    sent, changed = await asyncio.wait_for(asyncio.gather(invitation, erasure), deadline_s(30))

    # then: the invitation was sent first, and the erasure, which waited for it, declined it
    assert sent == "ok"
    [row] = await PoolMembership.filter(account_id=invitee.id)
    assert row.state is MembershipState.DECLINED
    assert changed["pooling"] == 1
    assert await PoolMembership.filter(pool_id=pool_id, state=MembershipState.INVITED).count() == 1  # first's


async def test_an_invitation_sent_during_the_erasure_is_refused(
    pg_db: Settings, gate: asyncpg.Connection
) -> None:
    # given: the invitee's erasure is under way (the profile rewritten, not yet committed)
    founder, first, invitee = await person(40), await person(8), await person(30)
    await invite(founder, first)
    pause = _Pause()
    erasure = asyncio.ensure_future(_erase(invitee, pause=pause))
    await asyncio.wait_for(pause.reached.wait(), deadline_s(30))
    # when: the founder invites the member meanwhile (its card was read before the erasure blocked it)
    invitation = asyncio.ensure_future(_outcome(invite(founder, invitee)))
    await _until_waiting(gate, 1, invitation)
    pause.go.set()
    changed, sent = await asyncio.wait_for(asyncio.gather(erasure, invitation), deadline_s(30))

    # then: the invitation waited for the erasure and was refused; nothing is left open for the member
    assert await PoolMembership.filter(account_id=invitee.id).count() == 0
    assert sent == "CARD_BLOCKED"
    assert changed["pooling"] == 0
