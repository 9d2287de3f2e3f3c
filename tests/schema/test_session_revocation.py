"""Ending every session of a member ends their access tokens too, not only the refresh tokens: after
sign-out everywhere, a reused refresh token, a stolen-card report, a PIN or password reset and erasure, a
token issued before is refused (UNAUTHENTICATED) while one issued after works, in every gateway process
within a second."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx2 import ASGITransport, AsyncClient
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from gateway.app import create_app
from gateway.backends import open_backends
from gateway.privacy import personal_data_sources
from gateway.services import Opened, services
from gateway.session_generations import SessionGenerations
from gateway.settings import Settings
from loyalty.auth.sessions import current_generation
from loyalty.members.models import Member, SessionLevel
from loyalty.privacy.service import erase_personal_data
from tests.factories import ME, enrolled_member, enrolled_member_sync, gql
from tests.schema.test_cards import REPORT_LOST
from tests.schema.test_resets import (
    COMPLETE_PASSWORD_RESET,
    EMAIL,
    NEW_PASSWORD,
    NEW_PIN,
    OLD_PASSWORD,
    OLD_PIN,
    REQUEST_PASSWORD_RESET,
    _complete_pin,
    _mails,
    _pin_code,
)
from tests.support import STACK, wait_for

# the shared session cache: Redis on the production stack, and a Redis Cluster in .ci/run's cluster part
pytestmark = pytest.mark.redis

SIGN_IN = """
mutation SignIn($input: SignInInput!) {
  signIn(input: $input) { __typename ... on SignedIn { accessToken refreshToken } }
}
"""
SIGN_OUT_EVERYWHERE = "mutation { signOutEverywhere { sessionsEnded } }"
REFRESH = """
mutation Refresh($token: String!) {
  refreshSession(refreshToken: $token) {
    __typename ... on SignedIn { accessToken refreshToken } ... on SessionEnded { code }
  }
}
"""
MY_BALANCES = "subscription Live { myBalances { awardMiles } }"
PROTOCOL = "graphql-transport-ws"


async def _enrol(client: AsyncClient, **overrides: Any) -> str:
    card: str = (await enrolled_member(client, **overrides))["serviceCardNumber"]
    return card


async def _sign_in(
    client: AsyncClient, identifier: str, secret: str = OLD_PIN, method: str = "SERVICE_CARD_NUMBER"
) -> dict[str, str]:
    variables = {"input": {"method": method, "identifier": identifier, "secret": secret}}
    signed_in: dict[str, str] = (await gql(client, SIGN_IN, variables))["data"]["signIn"]
    assert signed_in["__typename"] == "SignedIn", signed_in
    return signed_in


async def _works(client: AsyncClient, token: str) -> bool:
    """Whether the token signs ``me`` in; a refused one must be refused as UNAUTHENTICATED."""
    body = await gql(client, ME, token=token)
    if body.get("data") and body["data"].get("me"):
        return True
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"], body
    return False


async def test_sign_out_everywhere_ends_access_tokens(client: AsyncClient) -> None:
    card = await _enrol(client)
    before = await _sign_in(client, card)
    other_device = await _sign_in(client, card)
    assert await _works(client, before["accessToken"])

    ended = await gql(client, SIGN_OUT_EVERYWHERE, token=before["accessToken"])
    assert ended["data"]["signOutEverywhere"]["sessionsEnded"] >= 2

    assert not await _works(client, before["accessToken"])
    assert not await _works(client, other_device["accessToken"])
    assert await _works(client, (await _sign_in(client, card))["accessToken"])


async def test_a_reused_refresh_token_ends_access_tokens(client: AsyncClient) -> None:
    card = await _enrol(client)
    before = await _sign_in(client, card)
    refreshed = (await gql(client, REFRESH, {"token": before["refreshToken"]}))["data"]["refreshSession"]
    assert refreshed["__typename"] == "SignedIn"
    assert await _works(client, refreshed["accessToken"])

    reused = (await gql(client, REFRESH, {"token": before["refreshToken"]}))["data"]["refreshSession"]
    assert reused == {"__typename": "SessionEnded", "code": "REFRESH_TOKEN_REUSED"}

    assert not await _works(client, before["accessToken"])
    assert not await _works(client, refreshed["accessToken"])
    assert await _works(client, (await _sign_in(client, card))["accessToken"])


async def test_a_stolen_card_report_ends_access_tokens(client: AsyncClient) -> None:
    card = await _enrol(client)
    before = await _sign_in(client, card)

    blocked = (await gql(client, REPORT_LOST, {"stolen": True}, token=before["accessToken"]))["data"]
    new_card = blocked["reportCardLost"]["card"]["number"]

    assert not await _works(client, before["accessToken"])
    assert await _works(client, (await _sign_in(client, new_card))["accessToken"])


async def test_a_lost_card_report_keeps_access_tokens(client: AsyncClient) -> None:
    card = await _enrol(client)
    before = await _sign_in(client, card)
    blocked = (await gql(client, REPORT_LOST, {"stolen": False}, token=before["accessToken"]))["data"]
    assert blocked["reportCardLost"]["__typename"] == "CardBlocked"
    assert await _works(client, before["accessToken"])


async def test_a_pin_reset_ends_access_tokens(client: AsyncClient, settings: Settings) -> None:
    card = await _enrol(client)
    before = await _sign_in(client, card)

    assert (await _complete_pin(client, await _pin_code(client, settings, card), NEW_PIN))[
        "__typename"
    ] == "ResetCompleted"

    assert not await _works(client, before["accessToken"])
    assert await _works(client, (await _sign_in(client, card, NEW_PIN))["accessToken"])


async def test_a_password_reset_ends_access_tokens(client: AsyncClient, settings: Settings) -> None:
    card = await _enrol(client, password=OLD_PASSWORD)
    before = await _sign_in(client, card)
    requested = await gql(client, REQUEST_PASSWORD_RESET, {"email": EMAIL})
    assert requested["data"]["requestPasswordReset"]["__typename"] == "ResetRequested"
    code = (await _mails(settings, "password_reset"))[-1]["payload"]["token"]

    completed = await gql(client, COMPLETE_PASSWORD_RESET, {"token": code, "password": NEW_PASSWORD})
    assert completed["data"]["completePasswordReset"]["__typename"] == "ResetCompleted"

    assert not await _works(client, before["accessToken"])
    after = await _sign_in(client, EMAIL, NEW_PASSWORD, method="EMAIL")
    assert await _works(client, after["accessToken"])


async def test_erasure_ends_access_tokens_within_a_second(client: AsyncClient, app: Starlette) -> None:
    """Erasure runs from the command line, which tells no gateway cache: their times to live bound it."""
    card = await _enrol(client)
    before = await _sign_in(client, card)
    assert await _works(client, before["accessToken"])  # the generation is now cached
    member = await Member.get(
        account_number=(await gql(client, ME, token=before["accessToken"]))["data"]["me"]["accountNumber"]
    )

    await erase_personal_data(
        account_id=member.id,
        sources=personal_data_sources(),
        actor="operator:test",
        reason="test",
        now=dt.datetime.now(dt.UTC),
    )

    async def refused() -> bool:
        return not await _works(client, before["accessToken"])

    await wait_for(refused, timeout_s=1.0, interval_s=0.02, what="the pre-erasure token refused")
    generation = await current_generation(account_id=member.id)
    assert generation is not None
    after = services(app).tokens.issue(
        account_id=member.id, level=SessionLevel.AUTHENTICATED, generation=generation
    )
    assert await _works(client, after)


def test_a_websocket_with_a_revoked_token_is_refused(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        token = enrolled_member_sync(client, settings)["accessToken"]
        ended = client.post(
            "/graphql", json={"query": SIGN_OUT_EVERYWHERE}, headers={"authorization": f"Bearer {token}"}
        )
        assert ended.json()["data"]["signOutEverywhere"]["sessionsEnded"] >= 0
        with client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
    assert closed.value.code == 4403


@pytest.fixture
async def second_client(settings: Settings, app: Starlette) -> AsyncIterator[AsyncClient]:
    """Another gateway: its own app, Redis connection and session caches, on the same PostgreSQL and Redis.

    Tortoise holds one database connection per process, which the first app's lifespan opened, so this
    app's backends and session check are opened here as its lifespan would."""
    second = create_app(settings)
    backends = await open_backends(
        settings.resolved_redis_url, cluster=settings.redis_cluster, prefix=settings.redis_prefix
    )
    services(second).opened = Opened(
        backends=backends,
        hub_admin=services(app).hub_admin,
        session_generations=SessionGenerations(
            backends.ports.cache,
            local_ttl_s=settings.session_check_local_ttl_ms / 1000,
            shared_ttl_s=settings.session_check_shared_ttl_ms / 1000,
        ),
    )
    try:
        async with AsyncClient(transport=ASGITransport(app=second), base_url="http://testserver") as http:
            yield http
    finally:
        await backends.close()


@pytest.mark.skipif(STACK != "production", reason="two gateway processes share PostgreSQL and Redis")
async def test_a_revocation_in_one_gateway_reaches_another_within_a_second(
    client: AsyncClient, second_client: AsyncClient
) -> None:
    # given: a token both gateways have accepted (and cached the member's generation for)
    card = await _enrol(client)
    before = await _sign_in(client, card)
    assert await _works(client, before["accessToken"])
    assert await _works(second_client, before["accessToken"])

    # when: the member signs out everywhere through the first gateway
    await gql(client, SIGN_OUT_EVERYWHERE, token=before["accessToken"])

    # then: the second refuses the token within a second, and accepts one issued after
    async def refused() -> bool:
        return not await _works(second_client, before["accessToken"])

    await wait_for(refused, timeout_s=1.0, interval_s=0.02, what="the other gateway refusing the token")
    assert await _works(second_client, (await _sign_in(client, card))["accessToken"])
