"""One connection pool per host name for outbound deliveries, so the SSRF pin holds per connection.

A delivery's URL carries the checked address in place of the name (``policy.pinned_request``), and an
HTTP client keeps its connections by scheme, address and port. Two partner names that resolve to the same
address would so share one pool: a request for the second name could ride on a connection whose TLS
certificate was checked for the first (SNI and the check happen only when a connection is opened). Here
every name (the ``sni_hostname`` a pinned HTTPS request carries, else its Host header) gets a pool of its
own; within a pool the address is in the URL, so a connection is only ever reused for the same name and
the same checked address.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import httpx2

TransportFactory = Callable[[], httpx2.AsyncBaseTransport]
MAX_POOLS = 256
"""Names kept at once; the least recently used pool beyond them is closed."""


class PerNameTransport(httpx2.AsyncBaseTransport):
    """Routes each request to the pool of its host name, made by ``factory`` when first needed."""

    def __init__(self, factory: TransportFactory, *, max_pools: int = MAX_POOLS) -> None:
        self.factory = factory
        self.max_pools = max_pools
        self.pools: OrderedDict[str, httpx2.AsyncBaseTransport] = OrderedDict()

    @staticmethod
    def name_of(request: httpx2.Request) -> str:
        sni = request.extensions.get("sni_hostname")
        host = sni if isinstance(sni, str) and sni else request.headers.get("host", request.url.host)
        return f"{request.url.scheme}://{host.lower()}"

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        name = self.name_of(request)
        pool = self.pools.get(name)
        if pool is None:
            pool = self.pools[name] = self.factory()
            while len(self.pools) > self.max_pools:
                _, oldest = self.pools.popitem(last=False)
                await oldest.aclose()
        self.pools.move_to_end(name)
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        pools, self.pools = list(self.pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()
