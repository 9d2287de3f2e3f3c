"""A persisted document (sent by its hash) runs through the engine's persisted path, without Strawberry's
HTTP view and ``Schema.execute``, and answers exactly what the same document sent as text answers through
Strawberry: data, errors, codes, status and headers. It is refused where the text would be: a session
that was ended, the request and sensitive-operation rate limits."""

from __future__ import annotations

from typing import Any

import pytest
from httpx2 import AsyncClient, Response
from pydantic import SecretStr
from strawberry import Schema

from gateway.graphql.persisted_queries import document_hash
from tests.factories import enrolled_member, gql
from tests.gateway.conftest import ClientFactory
from tests.gateway.test_rate_limits import assert_rate_limited, sign_ins

DASHBOARD = """query Dashboard($first: Int!) {
  me {
    accountNumber givenName tier
    balances { awardMiles points }
    statement(first: $first) { edges { node { postingId } } pageInfo { hasNextPage } }
    milesExpiring { expiresOn miles }
    offers(first: 3) { code kind }
  }
}"""
FIXED_DASHBOARD = """query FixedDashboard {
  me { accountNumber tier balances { awardMiles } statement(first: 3) { edges { node { postingId } } } }
}"""
"""No variables and one root field: run by the engine's root path (``execute_root``)."""
TWO_OPERATIONS = "query A { __typename } query B { rewards { code } }"
BROKEN = "query Broken { me { statement(first: 1000) { edges { node { postingId } } } } }"
SIGN_OUT_EVERYWHERE = "mutation SignOut { signOutEverywhere { sessionsEnded } }"


def apq(document: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": document_hash(document)}}


async def as_text(client: AsyncClient, payload: dict[str, Any], token: str | None) -> Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await client.post("/graphql", json=payload, headers=headers)


async def by_hash(client: AsyncClient, payload: dict[str, Any], token: str | None) -> Response:
    """The document by its hash, the way an APQ client sends it: the hash alone, and when the server does
    not know it yet, the hash with the text (which registers it, and is the answer)."""
    document = payload["query"]
    rest = {key: value for key, value in payload.items() if key != "query"}
    first = await as_text(client, {**rest, "extensions": apq(document)}, token)
    if first.json().get("errors", [{}])[0].get("extensions", {}).get("code") != "PERSISTED_QUERY_NOT_FOUND":
        return first
    return await as_text(client, {**payload, "extensions": apq(document)}, token)


@pytest.fixture
def strawberry_executions(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The documents Strawberry's ``Schema.execute`` ran (the persisted path runs none)."""
    ran: list[str | None] = []
    original = Schema.execute

    async def counted(self: Schema, query: str | None, *args: Any, **kwargs: Any) -> Any:
        ran.append(query)
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(Schema, "execute", counted)
    return ran


@pytest.mark.parametrize("production", [True, False], ids=["production", "development"])
@pytest.mark.parametrize(
    ("payload", "signed_in"),
    [
        ({"query": DASHBOARD, "variables": {"first": 5}}, True),
        ({"query": DASHBOARD, "variables": {"first": 5}}, False),  # UNAUTHENTICATED, with a path
        ({"query": DASHBOARD, "variables": {"first": "five"}}, True),  # the variable's coercion error
        ({"query": DASHBOARD, "variables": {"first": 1000}}, True),  # a page size out of range
        ({"query": DASHBOARD}, True),  # a missing variable
        ({"query": FIXED_DASHBOARD}, True),
        ({"query": FIXED_DASHBOARD}, False),  # UNAUTHENTICATED from the root path, with its path
        ({"query": BROKEN}, True),  # refused by validation: Strawberry's own way
        ({"query": TWO_OPERATIONS, "operationName": "B"}, False),
        ({"query": TWO_OPERATIONS}, False),  # no operation picked: Strawberry's 400
        ({"query": "query Enrolment { __typename }", "operationName": "Other"}, False),
    ],
)
async def test_a_document_by_hash_answers_what_its_text_answers(
    edge_client: ClientFactory,
    payload: dict[str, Any],
    signed_in: bool,
    production: bool,
    strawberry_executions: list[str | None],
) -> None:
    # given a member and their dashboard's document
    client = await edge_client(production=production)
    token = (await enrolled_member(client))["accessToken"] if signed_in else None

    # when it is sent as text, by hash and text (registering it), and by its hash alone
    text = await as_text(client, payload, token)
    registering = await by_hash(client, payload, token)
    hashed = await by_hash(client, payload, token)

    # then all three answer the same
    for answer in (registering, hashed):
        assert answer.status_code == text.status_code
        assert answer.json() == text.json()
        assert answer.headers.get("retry-after") == text.headers.get("retry-after")


async def test_a_valid_document_by_hash_does_not_go_through_strawberry_s_execute(
    edge_client: ClientFactory, strawberry_executions: list[str | None]
) -> None:
    client = await edge_client(production=True)
    token = (await enrolled_member(client))["accessToken"]
    payload = {"query": DASHBOARD, "variables": {"first": 2}}
    await as_text(client, {**payload, "extensions": apq(DASHBOARD)}, token)  # registered
    strawberry_executions.clear()

    answer = await as_text(client, {"variables": {"first": 2}, "extensions": apq(DASHBOARD)}, token)

    assert answer.status_code == 200 and answer.json()["data"]["me"]["accountNumber"]
    assert strawberry_executions == []
    # and a document the path hands back (it does not validate) is Strawberry's to answer
    broken = await by_hash(client, {"query": BROKEN}, token)
    assert broken.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert BROKEN in strawberry_executions


async def test_a_query_without_variables_by_hash_runs_without_graphql_core_s_execute(
    edge_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import graphql

    from gateway.graphql.engine import persisted

    executed: list[Any] = []
    original = graphql.execute

    def counted(*args: Any, **kwargs: Any) -> Any:
        executed.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(persisted, "execute", counted)
    client = await edge_client(production=True)
    token = (await enrolled_member(client))["accessToken"]
    await as_text(client, {"query": FIXED_DASHBOARD, "extensions": apq(FIXED_DASHBOARD)}, token)

    answer = await as_text(client, {"extensions": apq(FIXED_DASHBOARD)}, token)

    assert answer.status_code == 200 and answer.json()["data"]["me"]["accountNumber"]
    assert executed == []  # neither request went through graphql-core's execute
    # a document with variables still does
    await by_hash(client, {"query": DASHBOARD, "variables": {"first": 2}}, token)
    assert len(executed) == 1


async def test_a_mutation_by_hash_ends_the_session_and_its_token_is_refused(
    edge_client: ClientFactory,
) -> None:
    # given a member signed in, asking for their dashboard by hash
    client = await edge_client(production=True)
    token = (await enrolled_member(client))["accessToken"]
    dashboard = {"query": DASHBOARD, "variables": {"first": 1}}
    assert (await by_hash(client, dashboard, token)).json()["data"]["me"]["accountNumber"]

    # when every session is ended, by a persisted mutation
    ended = await by_hash(client, {"query": SIGN_OUT_EVERYWHERE}, token)
    assert "errors" not in ended.json() and ended.json()["data"]["signOutEverywhere"] is not None

    # then the token no longer signs the dashboard in, by hash or as text
    refused = (await by_hash(client, dashboard, token)).json()
    assert refused["data"] == {"me": None} or refused["data"] is None
    assert [error["extensions"]["code"] for error in refused["errors"]] == ["UNAUTHENTICATED"]
    assert refused == (await as_text(client, dashboard, token)).json()


async def test_the_member_rate_limit_counts_requests_by_hash(edge_client: ClientFactory) -> None:
    client = await edge_client(rate_limit_per_member=3)
    token = (await enrolled_member(client))["accessToken"]
    payload = {"query": DASHBOARD, "variables": {"first": 1}}
    registered = await as_text(client, {**payload, "extensions": apq(DASHBOARD)}, token)
    assert registered.json()["data"]["me"]["accountNumber"]
    hashed = {"variables": {"first": 1}, "extensions": apq(DASHBOARD)}
    for _ in range(2):
        assert (await as_text(client, hashed, token)).json()["data"]["me"]["accountNumber"]

    assert_rate_limited(await as_text(client, hashed, token), "member")


async def test_sensitive_operations_by_hash_count_against_their_limit(edge_client: ClientFactory) -> None:
    client = await edge_client(rate_limit_sign_in=5)
    four = f"mutation {{ {sign_ins(4)} }}"
    assert "errors" not in (await by_hash(client, {"query": four}, None)).json()

    # the fifth and sixth sign-in of the window: over the limit, refused before anything runs
    assert_rate_limited(await as_text(client, {"extensions": apq(four)}, None), "sign_in")


async def test_operation_metrics_count_requests_by_hash(edge_client: ClientFactory) -> None:
    token = "metrics-" + "t" * 40
    client = await edge_client(metrics_token=SecretStr(token))
    await by_hash(client, {"query": TWO_OPERATIONS, "operationName": "B"}, None)  # registers: 1
    await by_hash(client, {"query": TWO_OPERATIONS, "operationName": "B"}, None)  # by hash alone: 2
    await by_hash(client, {"query": "query Nope { me { accountNumber } }"}, None)
    text = (await client.get("/metrics", headers={"authorization": f"Bearer {token}"})).text
    assert 'milesgate_graphql_operations_total{operation="B",outcome="ok",type="query"} 2.0' in text
    assert 'milesgate_graphql_operations_total{operation="Nope",outcome="error",type="query"} 1.0' in text


async def test_text_requests_still_answer_through_strawberry(
    client: AsyncClient, strawberry_executions: list[str | None]
) -> None:
    body = await gql(client, "{ rewards { code } }")
    assert body["data"]["rewards"] and strawberry_executions == ["{ rewards { code } }"]
