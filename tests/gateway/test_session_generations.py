"""The session-generation check's look-ups (``gateway.session_generations``): when a process's entry for a
member has expired, that member's requests arriving together share one look-up (shared cache, then
database) instead of each making its own; a request that gives up, or a look-up that fails, does not
leave the others without an answer or the next request without a fresh look-up."""

from __future__ import annotations

import asyncio

import pytest

from gateway import session_generations
from gateway.backends.memory import MemoryCache
from gateway.session_generations import SessionGenerations

ACCOUNT = 42
TOGETHER = 16


class CountingCache(MemoryCache):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    async def get(self, key: str) -> bytes | None:
        self.gets += 1
        await asyncio.sleep(0.01)  # a round trip: the others arrive meanwhile
        return await super().get(key)


class Database:
    """``current_generation`` as the check sees it: counted, slow, and failing when told to."""

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.reads = 0
        self.fail = False
        self.hold_first: asyncio.Event | None = None
        self.first_read = asyncio.Event()

    async def current_generation(self, *, account_id: int) -> int | None:
        generation = self.generation
        self.reads += 1
        if self.reads == 1:
            self.first_read.set()
            if self.hold_first is not None:
                await self.hold_first.wait()
        await asyncio.sleep(0.01)
        if self.fail:
            raise ConnectionError("database unreachable")
        return generation if account_id == ACCOUNT else None


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch) -> Database:
    fake = Database(generation=3)
    monkeypatch.setattr(session_generations, "current_generation", fake.current_generation)
    return fake


async def test_requests_arriving_together_share_one_look_up(database: Database) -> None:
    # given: nothing cached anywhere
    shared = CountingCache()
    generations = SessionGenerations(shared, local_ttl_s=0.05, shared_ttl_s=0.05)

    # when: sixteen requests of one member at once
    answers = await asyncio.gather(*(generations.current(ACCOUNT) for _ in range(TOGETHER)))

    # then: one shared-cache miss and one database read answered them all
    assert answers == [3] * TOGETHER
    assert (shared.gets, database.reads) == (1, 1)

    # and once this process's entry expires, the next burst makes one look-up again
    await asyncio.sleep(0.06)
    await asyncio.gather(*(generations.current(ACCOUNT) for _ in range(TOGETHER)))
    assert shared.gets == 2


async def test_a_request_that_gives_up_leaves_the_others_their_answer(database: Database) -> None:
    # given
    generations = SessionGenerations(CountingCache(), local_ttl_s=1, shared_ttl_s=0)
    first = asyncio.ensure_future(generations.current(ACCOUNT))
    second = asyncio.ensure_future(generations.current(ACCOUNT))
    await asyncio.sleep(0)

    # when: the first request's client goes away
    first.cancel()

    # then
    assert await second == 3
    assert first.cancelled()
    assert database.reads == 1


async def test_a_failed_look_up_reaches_every_waiter_and_the_next_request_tries_again(
    database: Database,
) -> None:
    # given: the database is unreachable
    generations = SessionGenerations(CountingCache(), local_ttl_s=1, shared_ttl_s=0)
    database.fail = True

    # when
    answers = await asyncio.gather(*(generations.current(ACCOUNT) for _ in range(3)), return_exceptions=True)

    # then: each waiter sees the failure, from one read
    assert all(isinstance(answer, ConnectionError) for answer in answers)
    assert database.reads == 1

    # and once it is back, the next request looks up afresh instead of waiting on the failed look-up
    database.fail = False
    assert await generations.current(ACCOUNT) == 3
    assert database.reads == 2


async def test_a_look_up_begun_before_a_revocation_does_not_undo_it(database: Database) -> None:
    # given: a look-up under way that has read the old generation and not answered yet
    shared = CountingCache()
    generations = SessionGenerations(shared, local_ttl_s=10, shared_ttl_s=10)
    database.hold_first = asyncio.Event()
    before = asyncio.ensure_future(generations.current(ACCOUNT))
    await database.first_read.wait()

    # when: the member's sessions end (the generation rises), the process is told, then the old look-up ends
    database.generation = 4
    await generations.revoked(ACCOUNT)
    database.hold_first.set()
    assert await before == 3  # the request that began before the revocation

    # then: requests after it see the new generation, not the old look-up's answer, in this process and
    # (through the shared cache) in the others
    assert await generations.current(ACCOUNT) == 4
    assert await MemoryCache.get(shared, session_generations._key(ACCOUNT)) == b"4"
