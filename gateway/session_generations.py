"""Which access tokens still stand: each carries its member's session generation, and one lower than the
member's current generation (raised by every event that ends all sessions) is refused.

The current generation lives in the database and is read through two caches, so the hot path asks
neither PostgreSQL nor Redis on most requests:

- this process's own (``MILESGATE_SESSION_CHECK_LOCAL_TTL_MS``), then
- the shared cache port, Redis in production (``MILESGATE_SESSION_CHECK_SHARED_TTL_MS``), then
- the database, whose answer is put in both.

While Redis is unreachable the shared cache misses and stores nothing (``gateway.backends.outage``), so the
check reads the database after the local time to live: it stays exact, only dearer.

Together the two times to live are at most one second: a revocation made anywhere (another gateway
process, the command line) is seen everywhere within a second, even when nobody tells the caches.
A revocation made through the gateway is also written to both caches at once (``revoked``), so the
process that made it, and the others after their local time to live, see it sooner.
"""

from __future__ import annotations

import asyncio
import functools

from gateway.backends.memory import MemoryCache
from gateway.tokens import TokenService, bearer_token
from loyalty.auth.sessions import current_generation
from loyalty.members.sessions import Principal
from loyalty.ports import Cache

LOCAL_ENTRIES = 100_000
"""Members whose generation one process keeps (least recently used first out)."""
NO_MEMBER = b"-"


def _key(account_id: int) -> str:
    return f"session-generation:{{acct:{account_id}}}"


class SessionGenerations:
    """The current session generation of members, cached for at most ``local_ttl_s + shared_ttl_s``."""

    def __init__(self, shared: Cache, *, local_ttl_s: float, shared_ttl_s: float) -> None:
        self._shared = shared
        self._local = MemoryCache(max_entries=LOCAL_ENTRIES)
        self._looking_up: dict[int, asyncio.Future[bytes]] = {}
        self._revocations = 0
        """Raised before and after every ``revoked``: a look-up that sees it change writes nothing."""
        self.local_ttl_s = local_ttl_s
        self.shared_ttl_s = shared_ttl_s

    async def current(self, account_id: int) -> int | None:
        """The member's generation (None: no such member), from the nearest cache that has it.

        When this process's entry has expired, the requests of that member that arrive together wait for
        one look-up (the shared cache, then the database) instead of each making its own: a member's app
        sends several requests at once, and without this every one of them went to Redis, or to the
        database, each time the entry expired."""
        key = _key(account_id)
        value = await self._local.get(key)
        if value is None:
            pending = self._looking_up.get(account_id)
            if pending is None:
                pending = asyncio.ensure_future(self._look_up(account_id, key))
                self._looking_up[account_id] = pending
                pending.add_done_callback(functools.partial(self._looked_up, account_id))
            value = await asyncio.shield(pending)  # a request that gives up leaves the others their answer
        return None if value == NO_MEMBER else int(value)

    async def _look_up(self, account_id: int, key: str) -> bytes:
        revocations = self._revocations
        value = await self._shared.get(key)
        from_database = value is None
        if value is None:
            value = _encoded(await current_generation(account_id=account_id))
        if self._revocations == revocations:
            # Only when no revocation came meanwhile: it wrote a newer generation, which an answer read
            # before it must not replace. This process's cache first (its write does not wait).
            await self._local.set(key, value, ttl_s=self.local_ttl_s)
            if from_database:
                await self._shared.set(key, value, ttl_s=self.shared_ttl_s)
        return value

    def _looked_up(self, account_id: int, done: asyncio.Future[bytes]) -> None:
        if self._looking_up.get(account_id) is done:
            del self._looking_up[account_id]
        if not done.cancelled():
            done.exception()  # retrieved: a failure reaches every waiter, not the loop's log

    async def admits(self, principal: Principal) -> bool:
        """Whether the token's session was not ended after it was issued."""
        current = await self.current(principal.account_id)
        return current is not None and principal.generation >= current

    async def revoked(self, account_id: int) -> None:
        """After a revocation committed: put the new generation in both caches now. A look-up begun before
        it, or while it writes, is not joined by later requests and writes nothing."""
        self._revocations += 1
        self._looking_up.pop(account_id, None)
        key = _key(account_id)
        value = _encoded(await current_generation(account_id=account_id))
        await self._shared.set(key, value, ttl_s=self.shared_ttl_s)
        await self._local.set(key, value, ttl_s=self.local_ttl_s)
        self._revocations += 1


def _encoded(generation: int | None) -> bytes:
    return NO_MEMBER if generation is None else str(generation).encode()


async def signed_in_principal(
    tokens: TokenService, generations: SessionGenerations, authorization: str | None
) -> Principal | None:
    """The member an ``Authorization: Bearer`` value signs in, if its token is valid and not revoked."""
    token = bearer_token(authorization)
    principal = tokens.verify(token) if token else None
    if principal is None or not await generations.admits(principal):
        return None
    return principal
