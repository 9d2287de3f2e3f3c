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
        self.local_ttl_s = local_ttl_s
        self.shared_ttl_s = shared_ttl_s

    async def current(self, account_id: int) -> int | None:
        """The member's generation (None: no such member), from the nearest cache that has it."""
        key = _key(account_id)
        value = await self._local.get(key)
        if value is None:
            value = await self._shared.get(key)
            if value is None:
                value = await self._read(account_id, key)
            await self._local.set(key, value, ttl_s=self.local_ttl_s)
        return None if value == NO_MEMBER else int(value)

    async def admits(self, principal: Principal) -> bool:
        """Whether the token's session was not ended after it was issued."""
        current = await self.current(principal.account_id)
        return current is not None and principal.generation >= current

    async def revoked(self, account_id: int) -> None:
        """After a revocation committed: put the new generation in both caches now."""
        value = await self._read(account_id, _key(account_id))
        await self._local.set(_key(account_id), value, ttl_s=self.local_ttl_s)

    async def _read(self, account_id: int, key: str) -> bytes:
        generation = await current_generation(account_id=account_id)
        value = NO_MEMBER if generation is None else str(generation).encode()
        await self._shared.set(key, value, ttl_s=self.shared_ttl_s)
        return value


async def signed_in_principal(
    tokens: TokenService, generations: SessionGenerations, authorization: str | None
) -> Principal | None:
    """The member an ``Authorization: Bearer`` value signs in, if its token is valid and not revoked."""
    token = bearer_token(authorization)
    principal = tokens.verify(token) if token else None
    if principal is None or not await generations.admits(principal):
        return None
    return principal
