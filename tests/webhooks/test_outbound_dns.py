"""The outbound sender connects to the address its SSRF check approved, not to whatever DNS answers next.

A partner who controls the DNS of an allowed name can answer a public address to the check and a loopback
(or cloud metadata) address a moment later. Here the DNS is a stub handed to the sender (and asked by the
test network for any name the HTTP client tries to reach itself), answering a public-looking address first
and 127.0.0.1 after. The test network reaches loopback only: the public address is routed to a loopback
server standing for the partner, and any other address is refused, so nothing leaves the machine.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Iterable

import httpcore2
import httpx2
import pytest

from gateway.backends.memory import MemoryRateLimiter
from gateway.settings import Settings
from gateway.workers.outbound import http_client
from tests.factories import make_partner, partner_box_for_tests
from tests.webhooks.receiver import Receiver, running_receiver
from tests.webhooks.test_outbound import T0, Clock, a_message
from webhooks.outbound.models import OutboundDelivery
from webhooks.outbound.policy import DeliveryPolicy, pinned_request
from webhooks.outbound.sender import OutboundSender
from webhooks.outbound.service import create_endpoint
from webhooks.outbound.transport import PerNameTransport

NAME = "hooks.swiss.example"
PUBLIC = "93.184.216.34"
POLICY = DeliveryPolicy(allowed_hosts=(NAME,), allow_http=True)


class RebindingDns:
    """A public address the first time a name is asked for, loopback every time after."""

    def __init__(self) -> None:
        self.questions: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.questions.append(host)
        return [PUBLIC] if len(self.questions) == 1 else ["127.0.0.1"]


class LoopbackOnlyNetwork(httpcore2.AsyncNetworkBackend):
    """Connections as the HTTP client makes them: a name through the same DNS, ``PUBLIC`` to the partner's
    loopback server, loopback as it is, anything else refused. Every address dialled is kept."""

    def __init__(self, dns: RebindingDns, partner_port: int) -> None:
        self.dns = dns
        self.partner_port = partner_port
        self.real = httpcore2.AnyIOBackend()
        self.dialled: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore2's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            address = (await self.dns(host))[0]
        self.dialled.append((address, port))
        if address == PUBLIC:
            address, port = "127.0.0.1", self.partner_port
        elif not ipaddress.ip_address(address).is_loopback:
            raise httpcore2.ConnectError(f"the test network reaches loopback only, not {address}")
        return await self.real.connect_tcp(address, port, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.real.sleep(seconds)


class NetworkTransport(httpx2.AsyncBaseTransport):
    """httpx2 over httpcore2's connection pool on the test network (httpx2's own transport takes no
    network backend)."""

    def __init__(self, network: httpcore2.AsyncNetworkBackend) -> None:
        self.pool = httpcore2.AsyncConnectionPool(network_backend=network)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = httpcore2.URL(
            scheme=request.url.raw_scheme,
            host=request.url.raw_host,
            port=request.url.port,
            target=request.url.raw_path,
        )
        core = httpcore2.Request(
            request.method, url, headers=request.headers.raw, content=await request.aread()
        )
        try:
            response = await self.pool.handle_async_request(core)
        except httpcore2.ConnectError as exc:
            raise httpx2.ConnectError(str(exc), request=request) from exc
        content = await response.aread()
        await response.aclose()
        return httpx2.Response(response.status, headers=response.headers, content=content)

    async def aclose(self) -> None:
        await self.pool.aclose()


@pytest.fixture
async def internal() -> AsyncIterator[Receiver]:
    """A server on loopback that no partner may reach (standing for our own network)."""
    async with running_receiver() as running:
        yield running


@pytest.fixture
async def partner_server() -> AsyncIterator[Receiver]:
    """The partner's server, which the public address reaches on the test network."""
    async with running_receiver() as running:
        yield running


async def test_a_delivery_goes_to_the_checked_address_even_when_dns_changes_its_answer(
    db: Settings, internal: Receiver, partner_server: Receiver
) -> None:
    # given: an endpoint on an allowed name, whose DNS answers public first and loopback after
    await make_partner("swiss")
    url = f"http://{NAME}:{internal.port}/hook"
    await create_endpoint(
        partner_code="swiss",
        url=url,
        event_types=["redemption.created"],
        box=partner_box_for_tests(),
        policy=POLICY,
    )
    webhook_id = await a_message()
    dns = RebindingDns()
    network = LoopbackOnlyNetwork(dns, partner_server.port)
    async with httpx2.AsyncClient(transport=NetworkTransport(network), trust_env=False) as http:
        sender = OutboundSender(
            box=partner_box_for_tests(),
            policy=POLICY,
            rate_limiter=MemoryRateLimiter(),
            client=http,
            clock=Clock(T0),
            resolver=dns,
        )

        # when
        await sender.run_once()

    # then: DNS was asked once, the checked address dialled, and nothing reached the loopback server
    assert dns.questions == [NAME]
    assert network.dialled == [(PUBLIC, internal.port)]
    assert internal.requests == []
    # and the partner got the delivery under its own name
    [received] = partner_server.requests
    assert received.headers["host"] == f"{NAME}:{internal.port}"
    assert received.headers["webhook-id"] == webhook_id
    delivery = await OutboundDelivery.get(message__webhook_id=webhook_id)
    assert delivery.last_status == 200


def test_an_https_delivery_keeps_the_name_for_the_host_header_and_tls() -> None:
    pinned = pinned_request(f"https://{NAME}:8443/hooks/miles?v=1", PUBLIC)

    assert pinned.url == f"https://{PUBLIC}:8443/hooks/miles?v=1"
    assert pinned.headers == {"host": f"{NAME}:8443"}
    assert pinned.extensions == {"sni_hostname": NAME}
    assert pinned_request(f"https://{NAME}/h", "2001:db8::1").url == "https://[2001:db8::1]/h"
    assert pinned_request("https://203.0.113.9/h", None).url == "https://203.0.113.9/h"


class FixedDns(RebindingDns):
    """Every name resolves to the public address, every time."""

    async def __call__(self, host: str) -> list[str]:
        self.questions.append(host)
        return [PUBLIC]


async def _post_pinned(http: httpx2.AsyncClient, name: str, port: int) -> int:
    target = pinned_request(f"http://{name}:{port}/hook", PUBLIC)
    response = await http.post(
        target.url, content=b"{}", headers=target.headers, extensions=target.extensions
    )
    return response.status_code


async def test_a_connection_is_reused_for_its_own_name_only(partner_server: Receiver) -> None:
    """Two allowed names that resolve to the same address: each name gets its own connection (over HTTPS,
    a connection's certificate was checked for one name only), and a name's connection is reused."""
    other = "hooks.lufthansa.example"
    network = LoopbackOnlyNetwork(FixedDns(), partner_server.port)
    transport = PerNameTransport(lambda: NetworkTransport(network))
    async with httpx2.AsyncClient(transport=transport, trust_env=False) as http:
        for name in (NAME, other, NAME, other):
            assert await _post_pinned(http, name, 443) == 200

    assert network.dialled == [(PUBLIC, 443), (PUBLIC, 443)]  # one connection per name, then reused
    assert [received.headers["host"] for received in partner_server.requests] == [
        f"{NAME}:443",
        f"{other}:443",
        f"{NAME}:443",
        f"{other}:443",
    ]


async def test_one_shared_pool_would_reuse_a_connection_across_names(partner_server: Receiver) -> None:
    """Why the pools are per name: a single pool keys its connections by address, whatever the name."""
    network = LoopbackOnlyNetwork(FixedDns(), partner_server.port)
    async with httpx2.AsyncClient(transport=NetworkTransport(network), trust_env=False) as http:
        for name in (NAME, "hooks.lufthansa.example"):
            assert await _post_pinned(http, name, 443) == 200
    assert network.dialled == [(PUBLIC, 443)]


def test_the_outbound_client_keeps_a_pool_per_name() -> None:
    client = http_client(POLICY)
    assert isinstance(client._transport, PerNameTransport)
