"""Every refusal from /graphql carries ``extensions.code`` (issue 18, item 8): the document's limits and
cycles, and requests refused before any operation runs, which answer in the GraphQL error shape with the
status their kind calls for."""

from __future__ import annotations

from typing import Any

import pytest
from httpx2 import AsyncClient, Response

from gateway.settings import Settings
from tests.gateway.conftest import ClientFactory


@pytest.fixture
def settings(settings: Settings, graphql_fast_path: bool) -> Settings:
    return settings.model_copy(update={"graphql_fast_path": graphql_fast_path})


async def codes_of(client: AsyncClient, query: str) -> list[str | None]:
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert body["data"] is None
    return [error.get("extensions", {}).get("code") for error in body["errors"]]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ me { statement(first: 1) { edges { node { postingId } } } } }", "QUERY_TOO_DEEP"),
        ("{ a: __typename b: __typename c: __typename }", "TOO_MANY_ALIASES"),
        ("{ " + "__typename " * 60 + "}", "TOO_MANY_TOKENS"),
        ("fragment A on Query { ...B } fragment B on Query { ...A } { ...A }", "FRAGMENT_CYCLE"),
        ("{ me { statement(first: 100) { edges { cursor } } } }", "QUERY_TOO_COSTLY"),
        (
            "{ ...A } fragment A on Query { ...B ...B ...B } fragment B on Query { ...C ...C ...C } "
            "fragment C on Query { __typename __typename __typename }",
            "QUERY_TOO_LARGE",
        ),
        ("{ me { ", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
    ],
)
async def test_each_refused_document_has_one_code_of_its_kind(
    edge_client: ClientFactory, query: str, code: str
) -> None:
    client = await edge_client(
        graphql_max_depth=3,
        graphql_max_aliases=2,
        graphql_max_tokens=60,
        graphql_max_cost=50,
        graphql_max_selections=30,
    )
    assert await codes_of(client, query) == [code]


def refusal(response: Response) -> tuple[int, str]:
    """The status and code of a refusal in the GraphQL error shape (and nothing else in the body)."""
    body = response.json()
    assert response.headers["content-type"].startswith("application/json")
    [error] = body["errors"]
    assert set(body) == {"errors"} and set(error) == {"message", "extensions"} and error["message"]
    return response.status_code, error["extensions"]["code"]


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
async def test_requests_refused_before_running_answer_in_the_graphql_error_shape(
    edge_client: ClientFactory, production: bool
) -> None:
    client = await edge_client(production=production)
    batch = [{"query": "{ __typename }"}] * 2
    assert refusal(await client.post("/graphql", json=batch)) == (400, "BATCH_NOT_SUPPORTED")
    json_headers = {"content-type": "application/json"}
    not_json = await client.post("/graphql", content=b'{"query": ', headers=json_headers)
    assert refusal(not_json) == (400, "BODY_NOT_JSON")
    text = await client.post("/graphql", content=b"{ __typename }", headers={"content-type": "text/plain"})
    assert refusal(text) == (415, "CONTENT_TYPE_UNSUPPORTED")
    assert refusal(await client.post("/graphql", json={"variables": {}})) == (400, "QUERY_MISSING")
    assert refusal(await client.post("/graphql", json={"query": 7})) == (400, "REQUEST_INVALID")
    unknown = {"query": "query A { __typename }", "operationName": "B"}
    assert refusal(await client.post("/graphql", json=unknown)) == (400, "OPERATION_NOT_FOUND")
    put = await client.put("/graphql", json={"query": "{ __typename }"})
    assert refusal(put) == (405, "HTTP_405") and "POST" in put.headers["allow"]
    mutation = await client.get(
        "/graphql", params={"query": 'mutation { signOut(refreshToken: "x") { __typename } }'}
    )
    assert refusal(mutation) == (405, "OPERATION_NOT_ALLOWED")
    # what is not refused is answered as before
    fine = await client.post("/graphql", json={"query": "{ __typename }"})
    assert fine.status_code == 200 and fine.json() == {"data": {"__typename": "Query"}}
