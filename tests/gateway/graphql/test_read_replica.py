"""Read-only GraphQL operations on a PostgreSQL streaming replica; a member reads their own writes.

A primary and its replica of the test's own (``tests/pg_replica.py``: ``initdb``, ``pg_basebackup``, free
loopback ports). Which one answered shows in what it answers: with the replica's replay paused, a change
made on the primary behind the service's back is seen only by reads of the primary.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from asgi_lifespan import LifespanManager
from httpx2 import ASGITransport, AsyncClient

from gateway.db import apply_migrations
from gateway.graphql.persisted_queries import document_hash
from gateway.graphql.replica import written_key
from gateway.services import services
from gateway.settings import Settings
from tests.factories import TEST_SECRET, enrolled_member, gql
from tests.pg_replica import PrimaryWithReplica
from tests.support import STACK, deadline_s

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        STACK != "production", reason="a PostgreSQL primary and replica: the production stack"
    ),
]

NAME = "{ me { givenName } }"
GOAL = "{ me { rewardGoal { reward { code } } } }"
SET_GOAL = "mutation G($code: String!) { setRewardGoal(rewardCode: $code) { __typename } }"


@pytest.fixture(scope="module")
def pair() -> Iterator[PrimaryWithReplica]:
    try:
        started = PrimaryWithReplica().start()
    except (FileNotFoundError, RuntimeError) as exc:
        pytest.fail(f"could not start a PostgreSQL primary and replica: {exc}")
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
async def client(pair: PrimaryWithReplica, tmp_path: Path) -> AsyncIterator[AsyncClient]:
    from gateway.app import create_app

    settings = Settings(
        database_url=pair.primary_url,
        database_replica_url=pair.replica_url,
        replica_wait_ms=200,
        data_dir=tmp_path,
        secret_key=TEST_SECRET,
    )
    await apply_migrations(settings)
    await _set_replay(pair, paused=False)
    pair.wait_replayed()
    app = create_app(settings)
    async with (
        LifespanManager(app, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        http.app = app  # type: ignore[attr-defined]
        yield http


def _email() -> str:
    """Every test enrols on the same primary: a new address each time."""
    return f"member-{uuid.uuid4().hex[:12]}@example.com"


async def _sql(url: str, sql: str, *args: object) -> object:
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=5)
    try:
        return await connection.fetchval(sql, *args)
    finally:
        await connection.close()


async def _set_replay(pair: PrimaryWithReplica, *, paused: bool) -> None:
    await _sql(
        pair.replica_url, "SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()"
    )


async def _rename_behind_the_service(pair: PrimaryWithReplica, account_number: str, name: str) -> None:
    await _sql(
        pair.primary_url, "UPDATE members SET given_name = $1 WHERE account_number = $2", name, account_number
    )


async def test_queries_read_the_replica(client: AsyncClient, pair: PrimaryWithReplica) -> None:
    member = await enrolled_member(client, givenName="Ada", email=_email())
    pair.wait_replayed()
    await _set_replay(pair, paused=True)
    try:
        await _rename_behind_the_service(pair, member["accountNumber"], "Augusta")
        # the replica has not replayed the rename: a query shows the old name, so the replica answered
        me = await gql(client, NAME, token=member["accessToken"])
        assert me["data"]["me"]["givenName"] == "Ada"
    finally:
        await _set_replay(pair, paused=False)
    pair.wait_replayed()
    me = await gql(client, NAME, token=member["accessToken"])
    assert me["data"]["me"]["givenName"] == "Augusta"


async def test_a_member_reads_their_own_write_while_the_replica_is_behind(
    client: AsyncClient, pair: PrimaryWithReplica
) -> None:
    member = await enrolled_member(client, givenName="Ada", email=_email())
    other = await enrolled_member(client, givenName="Grace", email=_email())
    code = (await gql(client, "{ rewards { code miles } }"))["data"]["rewards"][0]["code"]
    pair.wait_replayed()
    await _set_replay(pair, paused=True)
    try:
        await _rename_behind_the_service(pair, other["accountNumber"], "Amazing")
        written = await gql(client, SET_GOAL, {"code": code}, token=member["accessToken"])
        assert written["data"]["setRewardGoal"]["__typename"] == "RewardGoalSet"
        account_id = await _sql(
            pair.primary_url, "SELECT id FROM members WHERE account_number = $1", member["accountNumber"]
        )
        cache = services(client.app).backends.ports.cache  # type: ignore[attr-defined]
        assert await cache.get(written_key(int(str(account_id)))) is not None  # where the write went

        # the writer waits for the replica (200 ms), finds it behind, and reads the primary: its own goal
        goal = await gql(client, GOAL, token=member["accessToken"])
        assert goal["data"]["me"]["rewardGoal"]["reward"]["code"] == code
        # a member who wrote nothing reads the replica meanwhile: the old name
        name = await gql(client, NAME, token=other["accessToken"])
        assert name["data"]["me"]["givenName"] == "Grace"
    finally:
        await _set_replay(pair, paused=False)

    # once the replica has replayed the write, the writer's queries go back to it
    pair.wait_replayed()
    await _set_replay(pair, paused=True)
    try:
        await _rename_behind_the_service(pair, member["accountNumber"], "Augusta")
        me = await gql(client, NAME, token=member["accessToken"])
        assert me["data"]["me"]["givenName"] == "Ada"
    finally:
        await _set_replay(pair, paused=False)


async def test_the_replica_s_position_is_checked_without_waiting_once_it_caught_up(
    client: AsyncClient, pair: PrimaryWithReplica
) -> None:
    member = await enrolled_member(client, givenName="Ada", email=_email())
    code = (await gql(client, "{ rewards { code miles } }"))["data"]["rewards"][0]["code"]
    await gql(client, SET_GOAL, {"code": code}, token=member["accessToken"])
    pair.wait_replayed()
    loop = asyncio.get_running_loop()
    started = loop.time()
    goal = await gql(client, GOAL, token=member["accessToken"])
    assert goal["data"]["me"]["rewardGoal"]["reward"]["code"] == code
    assert loop.time() - started < deadline_s(0.2)


async def _by_hash(
    client: AsyncClient, document: str, variables: dict[str, object] | None = None, *, token: str
) -> dict[str, Any]:
    """The document as an APQ client sends it: its hash alone, then with its text if the hash is unknown
    (the gateway's persisted-document path, not Strawberry's execution)."""
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(document)}}
    headers = {"authorization": f"Bearer {token}"}
    payload: dict[str, Any] = {"variables": variables or {}, "extensions": extensions}
    body: dict[str, Any] = (await client.post("/graphql", json=payload, headers=headers)).json()
    if body.get("errors") and body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND":
        payload["query"] = document
        body = (await client.post("/graphql", json=payload, headers=headers)).json()
    return body


async def test_persisted_documents_are_routed_like_documents_sent_as_text(
    client: AsyncClient, pair: PrimaryWithReplica
) -> None:
    member = await enrolled_member(client, givenName="Ada", email=_email())
    code = (await gql(client, "{ rewards { code miles } }"))["data"]["rewards"][0]["code"]
    pair.wait_replayed()
    await _set_replay(pair, paused=True)
    try:
        await _rename_behind_the_service(pair, member["accountNumber"], "Augusta")
        # a persisted query reads the replica: the old name
        me = await _by_hash(client, NAME, token=member["accessToken"])
        assert me["data"]["me"]["givenName"] == "Ada"
        # a persisted mutation remembers where its write went, and the writer then reads the primary
        written = await _by_hash(client, SET_GOAL, {"code": code}, token=member["accessToken"])
        assert written["data"]["setRewardGoal"]["__typename"] == "RewardGoalSet"
        goal = await _by_hash(client, GOAL, token=member["accessToken"])
        assert goal["data"]["me"]["rewardGoal"]["reward"]["code"] == code
        me = await _by_hash(client, NAME, token=member["accessToken"])
        assert me["data"]["me"]["givenName"] == "Augusta"
    finally:
        await _set_replay(pair, paused=False)
