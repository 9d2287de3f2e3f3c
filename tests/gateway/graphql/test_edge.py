"""The hardened GraphQL endpoint: limits in every mode; no introspection, GraphiQL, GET, suggestions or
internal error details in production; a body size limit; and a development mode that keeps its tools."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse, validate
from httpx2 import AsyncClient

from gateway.graphql.edge import MASKED_MESSAGE
from gateway.graphql.limits import query_cost_rule
from gateway.settings import Settings
from schema.root import build_schema
from tests.factories import ENROL_MEMBER, enrolment_input
from tests.gateway.conftest import ClientFactory

STATEMENT_PAGE = (
    "query S{variables} {{ me {{ statement(first: {first}) {{ edges {{ node {{ postingId }} }} }} }} }}"
)


@pytest.fixture
def settings(settings: Settings, graphql_fast_path: bool) -> Settings:
    """Every app of this module runs both ways: through the GraphQL engine and with stock Strawberry."""
    return settings.model_copy(update={"graphql_fast_path": graphql_fast_path})


async def post(client: AsyncClient, query: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    response = await client.post("/graphql", json={"query": query, **extra})
    return response.status_code, response.json()


def codes(body: dict[str, Any]) -> list[str | None]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


# -- limits (every mode) -------------------------------------------------------------------------------


def _cost(document: str, *, variable_page_size: int = 100) -> int:
    rule = query_cost_rule(max_cost=0, variable_page_size=variable_page_size)
    [error] = validate(build_schema()._schema, parse(document), [rule])
    assert error.extensions is not None
    cost: int = error.extensions["cost"]
    return cost


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("{ me { accountNumber givenName } }", 3),
        ("{ __typename me { __typename accountNumber } }", 2),
        # me 1 + statement (1 + 10 * (edges 1 + node (1 + postingId 1)))
        (STATEMENT_PAGE.format(variables="", first=10), 1 + 1 + 10 * 3),
        # a variable without a default is costed at the largest page
        (STATEMENT_PAGE.format(variables="($n: Int)", first="$n"), 1 + 1 + 100 * 3),
        (STATEMENT_PAGE.format(variables="($n: Int = 5)", first="$n"), 1 + 1 + 5 * 3),
        # no first: the argument's default (20)
        ("{ me { statement { edges { node { postingId } } } } }", 1 + 1 + 20 * 3),
        # fragments count where they are spread
        (
            "query { me { ...M } } fragment M on Member { statement(first: 2) { edges { node { postingId } } } }",
            1 + 1 + 2 * 3,
        ),
    ],
)
def test_query_cost_multiplies_by_first(document: str, expected: int) -> None:
    assert _cost(document) == expected


async def test_costly_queries_are_refused(edge_client: ClientFactory) -> None:
    client = await edge_client(graphql_max_cost=50)
    status, fine = await post(client, STATEMENT_PAGE.format(variables="", first=10))
    assert codes(fine) == ["UNAUTHENTICATED"]  # validated, executed, and only then refused for no sign-in
    status, body = await post(client, STATEMENT_PAGE.format(variables="", first=20))
    assert status == 200 and body["data"] is None and codes(body) == ["QUERY_TOO_COSTLY"]
    assert body["errors"][0]["extensions"]["cost"] == 62


async def test_depth_aliases_tokens_directives_and_mutations_are_limited(edge_client: ClientFactory) -> None:
    client = await edge_client(
        graphql_max_depth=3,
        graphql_max_aliases=2,
        graphql_max_tokens=60,
        graphql_max_directives=2,
        graphql_max_mutations=2,
    )
    deep = "{ me { statement { edges { node { postingId } } } } }"
    _, body = await post(client, deep)
    assert "exceeds maximum operation depth of 3" in body["errors"][0]["message"]

    _, body = await post(client, "{ a: __typename b: __typename c: __typename }")
    assert "aliases found" in body["errors"][0]["message"].lower() and body["data"] is None

    _, body = await post(client, "{ " + "__typename " * 60 + "}")
    assert "more than 60 tokens" in body["errors"][0]["message"]

    _, body = await post(
        client, "{ __typename @include(if: true) @skip(if: false) rewards @include(if: true) { code } }"
    )
    assert codes(body) == ["TOO_MANY_DIRECTIVES"]

    three = (  # one of them in a fragment
        'mutation { remindUserId(email: "a@x.de") { __typename } ...M } fragment M on Mutation { '
        'requestPasswordReset(email: "b@x.de") { __typename } signOut(refreshToken: "x") { __typename } }'
    )
    _, body = await post(client, three)
    assert codes(body) == ["TOO_MANY_MUTATIONS"] and body["data"] is None


async def test_the_operators_schema_has_limits_of_its_own(edge_client: ClientFactory) -> None:
    client = await edge_client(
        admin_graphql_max_depth=2, admin_graphql_max_mutations=1, admin_graphql_max_body_bytes=2048
    )
    deep = "{ outboundDeliveries { edges { node { id } } } }"
    refused = (await client.post("/admin/graphql", json={"query": deep})).json()
    assert codes(refused) == ["QUERY_TOO_DEEP"] and refused["data"] is None
    # the member schema keeps its own (deeper) limit
    _, member = await post(client, "{ me { statement { edges { node { postingId } } } } }")
    assert codes(member) == ["UNAUTHENTICATED"]

    two = "mutation { a: reprocessInbox { __typename } b: reprocessInbox { __typename } }"
    refused = (await client.post("/admin/graphql", json={"query": two})).json()
    assert codes(refused) == ["TOO_MANY_MUTATIONS"]

    large = await client.post("/admin/graphql", json={"query": "{ __typename }" + " " * 3000})
    assert large.status_code == 413 and codes(large.json()) == ["BODY_TOO_LARGE"]
    assert (await client.post("/graphql", json={"query": "{ __typename }" + " " * 3000})).status_code == 200


async def test_introspection_depth_is_not_limited_in_development(edge_client: ClientFactory) -> None:
    client = await edge_client(graphql_max_depth=3)
    _, body = await post(client, "{ __schema { types { fields { type { ofType { name } } } } } }")
    assert "errors" not in body and len(body["data"]["__schema"]["types"]) > 25


async def test_request_bodies_are_limited(edge_client: ClientFactory) -> None:
    client = await edge_client(graphql_max_body_bytes=2048)
    padding = " " * 3000
    response = await client.post("/graphql", json={"query": "{ __typename }" + padding})
    assert response.status_code == 413
    assert response.json() == {
        "errors": [
            {
                "message": "a GraphQL request may have at most 2048 bytes",
                "extensions": {"code": "BODY_TOO_LARGE"},
            }
        ]
    }

    async def chunks() -> Any:  # no Content-Length: the limit still holds
        yield b'{"query": "{ __typename }'
        for _ in range(10):
            yield b" " * 500
        yield b'"}'

    chunked = await client.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
    assert (
        chunked.status_code == 413 and chunked.json()["errors"][0]["extensions"]["code"] == "BODY_TOO_LARGE"
    )
    small = await client.post("/graphql", json={"query": "{ __typename }"})
    assert small.status_code == 200 and small.json() == {"data": {"__typename": "Query"}}


async def test_batches_are_refused(edge_client: ClientFactory) -> None:
    client = await edge_client(production=True)
    response = await client.post("/graphql", json=[{"query": "{ __typename }"}] * 11)
    assert response.status_code == 400


# -- production mode -----------------------------------------------------------------------------------


async def test_production_refuses_introspection(edge_client: ClientFactory) -> None:
    client = await edge_client(production=True)
    for query in ("{ __schema { types { name } } }", '{ __type(name: "Member") { name } }'):
        _, body = await post(client, query)
        assert body["data"] is None and "introspection" in body["errors"][0]["message"].lower()
    _, typename = await post(client, "{ __typename }")
    assert typename == {"data": {"__typename": "Query"}}


async def test_development_keeps_introspection_and_suggestions(edge_client: ClientFactory) -> None:
    client = await edge_client()
    _, body = await post(client, "{ __schema { queryType { name } } }")
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
    _, body = await post(client, "{ me { acountNumber } }")
    assert "Did you mean" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "query",
    [
        "{ me { acountNumber } }",  # field
        '{ securityNotices(langage: "en") { title } }',  # argument
        "query($t: Tierr) { __typename }",  # type
        "{ milesCalculator(itinerary: {segments: []}, tier: SENATR) { __typename } }",  # enum value
        "query { __schema { directive } }",  # graphql-cop's probe
    ],
)
async def test_production_gives_no_suggestions(edge_client: ClientFactory, query: str) -> None:
    client = await edge_client(production=True)
    _, body = await post(client, query)
    assert body["errors"], body
    assert not any("did you mean" in error["message"].lower() for error in body["errors"])


async def test_production_masks_unexpected_errors_and_keeps_typed_ones(
    edge_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from resolvers import privacy

    async def broken(language: str) -> list[object]:
        raise RuntimeError("connection to 10.1.2.3 refused: secret detail")

    monkeypatch.setattr(privacy, "security_notices", broken)
    client = await edge_client(production=True)
    _, body = await post(client, "{ securityNotices { title } }")
    assert body["errors"][0]["message"] == MASKED_MESSAGE
    assert "secret" not in str(body) and "exception" not in str(body).lower()

    _, unauthenticated = await post(client, "{ me { accountNumber } }")
    assert codes(unauthenticated) == ["UNAUTHENTICATED"]
    assert unauthenticated["errors"][0]["message"] == "Sign in to see this."
    refused = await client.post("/admin/graphql", json={"query": "{ partners { code } }"})
    assert codes(refused.json()) == ["FORBIDDEN"]
    _, typed = await post(client, ENROL_MEMBER, variables={"input": enrolment_input(pin="111111")})
    assert typed["data"]["enrolMember"]["code"] == "PIN_TOO_SIMPLE"


async def test_development_shows_unexpected_errors(
    edge_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from resolvers import privacy

    async def broken(language: str) -> list[object]:
        raise RuntimeError("visible in development")

    monkeypatch.setattr(privacy, "security_notices", broken)
    client = await edge_client()
    _, body = await post(client, "{ securityNotices { title } }")
    assert body["errors"][0]["message"] == "visible in development"
