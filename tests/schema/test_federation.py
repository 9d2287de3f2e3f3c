"""The schema is a Federation 2 subgraph: Member and ServiceCard are entities, resolved in batches and for
their own member only, ``_service`` and ``_entities`` answer the router (or an operator) alone, and the
SDL composes with another subgraph under Apollo's composition library (tests/federation, npm)."""

from __future__ import annotations

import contextvars
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest
from asgi_lifespan import LifespanManager
from httpx2 import ASGITransport, AsyncClient
from pydantic import SecretStr
from tortoise import connections

from gateway.app import create_app
from gateway.operators import OperatorTokens
from gateway.settings import Environment, Settings
from tests.factories import TEST_SECRET, enrolled_member
from tests.support import deadline_s, in_ci, without_session_check

ROUTER_SECRET = "router-secret-for-the-federation-tests-0123456789"
FEDERATION_DIR = Path(__file__).resolve().parent.parent / "federation"

SDL = "{ _service { sdl } }"
ENTITIES = """
query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Member { accountNumber givenName balances { awardMiles } card { number } }
    ... on ServiceCard { number state holderName }
  }
}
"""
TRIPS_SUBGRAPH = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.11", import: ["@key"])

type Member @key(fields: "accountNumber") {
  accountNumber: String!
  upcomingTrips: [Trip!]!
}

type ServiceCard @key(fields: "number", resolvable: false) {
  number: String!
}

type Trip {
  bookingCode: String!
  cardUsed: ServiceCard
}

type Query {
  trip(bookingCode: String!): Trip
}
"""
CONFLICTING_SUBGRAPH = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.11", import: ["@key"])

type Member @key(fields: "accountNumber") {
  accountNumber: Int!
}

type Query {
  memberCount: Int!
}
"""


async def _client(settings: Settings, **overrides: Any) -> AsyncIterator[AsyncClient]:
    app = create_app(
        settings.model_copy(update={"federation_router_secret": SecretStr(ROUTER_SECRET), **overrides})
    )
    async with (
        LifespanManager(app, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://subgraph") as http,
    ):
        yield http


@pytest.fixture
async def subgraph(settings: Settings) -> AsyncIterator[AsyncClient]:
    async for http in _client(settings):
        yield http


@pytest.fixture
async def production_subgraph(settings: Settings) -> AsyncIterator[AsyncClient]:
    production = {"env": Environment.PRODUCTION, "database_url": SecretStr(settings.resolved_database_url)}
    async for http in _client(settings, **production):
        yield http


async def _ask(
    client: AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    router_secret: str | None = ROUTER_SECRET,
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    if router_secret is not None:
        headers["milesgate-router-secret"] = router_secret
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


# -- the entities and their keys -------------------------------------------------------------------------


async def test_the_sdl_declares_member_and_service_card_entities(subgraph: AsyncClient) -> None:
    sdl = (await _ask(subgraph, SDL))["data"]["_service"]["sdl"]
    assert '@link(url: "https://specs.apollo.dev/federation/v2' in sdl
    assert 'type Member @key(fields: "accountNumber")' in sdl
    assert 'type ServiceCard @key(fields: "number")' in sdl
    assert "union _Entity = Member | ServiceCard" in sdl
    # the operators' fields are in their own schema (/admin/graphql), not in the subgraph
    for operator_field in (
        "partners",
        "partnerEndpoints",
        "outboundDeliveries",
        "addPartner",
        "reprocessInbox",
    ):
        assert f"  {operator_field}" not in sdl, operator_field
    assert "type PartnerEndpoint" not in sdl and "type OperationalEvent" not in sdl


@pytest.mark.parametrize(
    ("router_secret", "operator"),
    [(None, False), ("wrong-secret-for-the-federation-tests-000000000", False), (None, True)],
)
@pytest.mark.parametrize("query", [SDL, ENTITIES])
async def test_only_the_router_or_an_operator_reach_service_and_entities(
    production_subgraph: AsyncClient, query: str, router_secret: str | None, operator: bool
) -> None:
    token = (await OperatorTokens(TEST_SECRET).mint(name="ops.alice", ttl_s=600))[0] if operator else None
    body = await _ask(
        production_subgraph, query, {"representations": []}, token=token, router_secret=router_secret
    )
    if operator:
        assert "errors" not in body, body
    else:
        assert _codes(body) == ["FORBIDDEN"], body
        assert body["data"] is None


async def test_a_members_token_alone_does_not_open_entities(production_subgraph: AsyncClient) -> None:
    alice = await enrolled_member(production_subgraph, email="alice@example.com")
    representations = [{"__typename": "Member", "accountNumber": alice["accountNumber"]}]
    body = await _ask(
        production_subgraph,
        ENTITIES,
        {"representations": representations},
        token=alice["accessToken"],
        router_secret=None,
    )
    assert _codes(body) == ["FORBIDDEN"] and body["data"] is None


async def test_entities_resolve_for_the_member_whose_token_the_router_forwards(subgraph: AsyncClient) -> None:
    # given two members
    alice = await enrolled_member(subgraph, email="alice@example.com")
    bob = await enrolled_member(subgraph, email="bob@example.com", givenName="Bob")
    representations = [
        {"__typename": "Member", "accountNumber": alice["accountNumber"]},
        {"__typename": "Member", "accountNumber": bob["accountNumber"]},
        {"__typename": "ServiceCard", "number": alice["serviceCardNumber"]},
        {"__typename": "ServiceCard", "number": bob["serviceCardNumber"]},
        {"__typename": "Member", "accountNumber": "000000000"},
    ]

    # when the router asks for all of them with Alice's token
    body = await _ask(subgraph, ENTITIES, {"representations": representations}, token=alice["accessToken"])

    # then Alice's member and card resolve, Bob's and the unknown one do not, all alike
    member, bobs, card, bobs_card, unknown = body["data"]["_entities"]
    assert member == {
        "__typename": "Member",
        "accountNumber": alice["accountNumber"],
        "givenName": "Ada",
        "balances": {"awardMiles": 0},
        "card": {"number": alice["serviceCardNumber"]},
    }
    assert card == {
        "__typename": "ServiceCard",
        "number": alice["serviceCardNumber"],
        "state": "ACTIVE",
        "holderName": "Ada Lovelace",
    }
    assert bobs is None and bobs_card is None and unknown is None
    refused = {tuple(error["path"]): error["extensions"]["code"] for error in body["errors"]}
    assert refused == {
        ("_entities", 1): "FORBIDDEN",
        ("_entities", 3): "FORBIDDEN",
        ("_entities", 4): "FORBIDDEN",
    }
    assert len({error["message"] for error in body["errors"]}) == 1  # nothing tells them apart


async def test_entities_need_a_signed_in_member(subgraph: AsyncClient) -> None:
    alice = await enrolled_member(subgraph, email="alice@example.com")
    representations = [{"__typename": "Member", "accountNumber": alice["accountNumber"]}]
    body = await _ask(subgraph, ENTITIES, {"representations": representations})
    assert body["data"]["_entities"] == [None]
    assert _codes(body) == ["UNAUTHENTICATED"]


async def test_representations_of_other_types_are_refused(subgraph: AsyncClient) -> None:
    alice = await enrolled_member(subgraph, email="alice@example.com")
    representations = [{"__typename": "Partner", "code": "swiss"}]
    body = await _ask(subgraph, ENTITIES, {"representations": representations}, token=alice["accessToken"])
    assert _codes(body) == ["REPRESENTATION_INVALID"]


_COUNTING: contextvars.ContextVar[bool] = contextvars.ContextVar("counting_statements", default=False)


@contextmanager
def _counted_statements() -> Iterator[list[str]]:
    """The statements of requests made inside the block; the app's background loops (relay, senders) run in
    tasks of their own, started before the block, so theirs are not counted."""
    connection = connections.get("default")
    seen: list[str] = []
    originals = {name: getattr(connection, name) for name in ("execute_query", "execute_query_dict")}

    def counting(name: str) -> Any:
        async def run(sql: str, values: list[Any] | None = None) -> Any:
            if _COUNTING.get():
                seen.append(sql)
            return await originals[name](sql, values)

        return run

    for name in originals:
        setattr(connection, name, counting(name))
    token = _COUNTING.set(True)
    try:
        yield seen
    finally:
        _COUNTING.reset(token)
        for name in originals:
            delattr(connection, name)


async def test_references_are_resolved_in_one_query_per_type(subgraph: AsyncClient) -> None:
    members = [await enrolled_member(subgraph, email=f"m{index}@example.com") for index in range(6)]
    token = members[0]["accessToken"]
    query = (
        "query E($representations: [_Any!]!) { _entities(representations: $representations) { __typename } }"
    )

    def representations(count: int) -> list[dict[str, str]]:
        chosen = members[:count]
        return [{"__typename": "Member", "accountNumber": m["accountNumber"]} for m in chosen] + [
            {"__typename": "ServiceCard", "number": m["serviceCardNumber"]} for m in chosen
        ]

    with _counted_statements() as few:
        await _ask(subgraph, query, {"representations": representations(1)}, token=token)
    with _counted_statements() as many:
        body = await _ask(subgraph, query, {"representations": representations(6)}, token=token)

    assert len(body["data"]["_entities"]) == 12
    few, many = without_session_check(few), without_session_check(many)
    assert len(many) == len(few), many
    assert len(many) <= 3, many  # members, cards, the card holder's name


# -- composition with another subgraph -------------------------------------------------------------------


def _composition_missing(reason: str) -> NoReturn:
    message = f"Apollo's composition library cannot run: {reason}"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def compose() -> Any:
    """``compose(subgraphs)``: runs tests/federation/compose.mjs (installing its packages if missing)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _composition_missing("Node.js (node and npm) is not installed")
    if not (FEDERATION_DIR / "node_modules" / "@apollo" / "composition" / "package.json").exists():
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(FEDERATION_DIR)],
            capture_output=True,
            text=True,
            timeout=deadline_s(600),
            check=False,
        )
        if installed.returncode != 0:
            _composition_missing(f"npm ci failed: {installed.stderr[-2000:]}")

    def run(subgraphs: dict[str, str]) -> tuple[int, dict[str, Any]]:
        request = {
            "subgraphs": [
                {"name": name, "url": f"http://127.0.0.1:4000/{name}", "sdl": sdl}
                for name, sdl in subgraphs.items()
            ]
        }
        result = subprocess.run(
            [node, str(FEDERATION_DIR / "compose.mjs")],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=deadline_s(120),
            check=False,
        )
        if not result.stdout:
            pytest.fail(f"compose.mjs printed nothing: {result.stderr[-2000:]}")
        answer: dict[str, Any] = json.loads(result.stdout)
        return result.returncode, answer

    return run


async def test_our_sdl_composes_with_another_subgraph(subgraph: AsyncClient, compose: Any) -> None:
    sdl = (await _ask(subgraph, SDL))["data"]["_service"]["sdl"]

    code, composed = compose({"milesgate": sdl, "trips": TRIPS_SUBGRAPH})

    assert code == 0 and "errors" not in composed, composed.get("errors")
    supergraph = composed["supergraphSdl"]
    assert "upcomingTrips: [Trip!]! @join__field(graph: TRIPS)" in supergraph
    assert '@join__type(graph: MILESGATE, key: "accountNumber")' in supergraph
    assert '@join__type(graph: MILESGATE, key: "number")' in supergraph
    assert "_entities" not in supergraph and "_service" not in supergraph


async def test_composition_errors_fail(subgraph: AsyncClient, compose: Any) -> None:
    sdl = (await _ask(subgraph, SDL))["data"]["_service"]["sdl"]

    code, composed = compose({"milesgate": sdl, "members-count": CONFLICTING_SUBGRAPH})

    assert code == 1
    assert any("accountNumber" in message for message in composed["errors"]), composed
