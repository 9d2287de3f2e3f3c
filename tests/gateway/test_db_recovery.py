"""PostgreSQL drops the gateway's connections (as a restart does): the gateway recovers by itself, and
requests during the outage get a clear error, never a wrong answer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from asgi_lifespan import LifespanManager
from httpx2 import ASGITransport, AsyncClient

from gateway.settings import Settings
from tests.factories import enrolled_member, gql
from tests.support import deadline_s

pytestmark = pytest.mark.postgres
ME = "{ me { accountNumber balances { awardMiles } } }"


@pytest.fixture
async def pg_app_client(postgres_settings: Settings) -> AsyncIterator[AsyncClient]:
    from gateway.app import create_app

    application = create_app(postgres_settings)
    async with (
        LifespanManager(application, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://testserver") as http,
    ):
        yield http


async def drop_connections(url: str) -> int:
    """What a PostgreSQL restart does to the gateway: every connection to its database is cut."""
    database = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(
        url.replace("postgres://", "postgresql://", 1).rsplit("/", 1)[0] + "/postgres"
    )
    try:
        return int(
            await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                database,
            )
        )
    finally:
        await admin.close()


async def test_the_gateway_recovers_after_its_connections_are_cut(
    pg_app_client: AsyncClient, postgres_settings: Settings
) -> None:
    # given: a member and a gateway with warm pooled connections
    member = await enrolled_member(pg_app_client)
    token = member["accessToken"]
    before = await gql(pg_app_client, ME, token=token)
    assert before["data"]["me"]["accountNumber"] == member["accountNumber"]
    assert postgres_settings.database_url is not None

    # when: every connection is cut
    assert await drop_connections(postgres_settings.resolved_database_url) >= 1

    # then: each request either answers right or fails with a clear error, and the gateway recovers
    answers = []
    for _ in range(5):
        response = await pg_app_client.post(
            "/graphql", json={"query": ME}, headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code in (200, 503), response.text
        body = response.json()
        if body.get("data") and body["data"].get("me"):
            assert body["data"]["me"] == before["data"]["me"]  # never a wrong answer
            answers.append("ok")
        else:
            assert body.get("errors") or body.get("error"), body
            answers.append("error")
    assert answers[-1] == "ok", answers
    ready = await pg_app_client.get("/readyz")
    assert ready.status_code == 200
