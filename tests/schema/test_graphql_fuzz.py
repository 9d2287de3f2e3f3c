"""Property-based fuzzing of the whole GraphQL API with schemathesis: for every root field, generated
documents and arguments (NUL characters, very long strings and ids beyond 64 bits among them), sent
anonymously and as a signed-in member to the app in production mode.

Whatever comes, the answer is never a 500, never a stack trace, and never the masked "unexpected error" that
an unhandled exception turns into; an anonymous request changes no ledger."""

from __future__ import annotations

import contextlib
import decimal
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import schemathesis
from asgi_lifespan import LifespanManager
from graphql import introspection_from_schema
from httpx2 import ASGITransport, AsyncClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from gateway.graphql.edge import MASKED_MESSAGE
from gateway.settings import Environment, Settings
from loyalty.ledger.models import Posting
from schema.root import build_schema
from tests.factories import ENROL_MEMBER, TEST_SECRET, enrolled_member, enrolment_input
from tests.support import PRODUCTION_MAIL, deadline_s

schemathesis.graphql.scalar(
    "Decimal",
    st.decimals(min_value=-1_000_000, max_value=1_000_000, places=2, allow_nan=False).map(
        lambda value: nodes.String(str(value))
    ),
)
# Beside what schemathesis draws for the built-in scalars: what a database refuses (NUL in text, an id past
# bigint) and what no column holds (a 300-character string).
HOSTILE_TEXT = st.sampled_from(["\x00", "a\x00b", "x" * 300, "9" * 20])
schemathesis.graphql.scalar("String", (st.text() | HOSTILE_TEXT).map(nodes.String))
schemathesis.graphql.scalar(
    "ID",
    st.one_of(
        st.text().map(nodes.String),
        st.integers(min_value=0, max_value=10**30).map(str).map(nodes.String),
        st.integers(min_value=0, max_value=10**30).map(nodes.Int),
        HOSTILE_TEXT.map(nodes.String),
    ),
)
SCHEMA = schemathesis.graphql.from_dict(dict(introspection_from_schema(build_schema()._schema)))
OPERATIONS: dict[str, Any] = {}
for _result in SCHEMA.get_all_operations():
    _operation = _result.ok()  # type: ignore[union-attr]  # an Err would raise here: the schema is ours
    OPERATIONS[_operation.label] = _operation
# the one way in without a token (and its bonus posting): a pending enrolment, then its confirmation
WRITES_FOR_ANONYMOUS = {"Mutation.enrolMember", "Mutation.confirmEnrolment"}


@pytest.fixture
async def production_client(settings: Settings) -> AsyncIterator[AsyncClient]:
    """The app as production runs it (masked errors, no introspection) on the stack's database and backends,
    rate limits off for the volume."""
    async with _production_app(settings) as http:
        yield http


@pytest.fixture
async def production_client_both_ways(
    settings: Settings, graphql_fast_path: bool
) -> AsyncIterator[AsyncClient]:
    """The same, through the engine and through Strawberry's stock execution."""
    async with _production_app(settings, graphql_fast_path=graphql_fast_path) as http:
        yield http


@contextlib.asynccontextmanager
async def _production_app(settings: Settings, **overrides: Any) -> AsyncIterator[AsyncClient]:
    from gateway.app import create_app

    limits_off: dict[str, Any] = {"rate_limit_per_ip": 0, "rate_limit_per_member": 0, "rate_limit_sign_in": 0}
    production = Settings(
        env=Environment.PRODUCTION,
        database_url=settings.resolved_database_url,
        redis_url=settings.redis_url,
        redis_prefix=settings.redis_prefix,
        data_dir=settings.data_dir,
        secret_key=TEST_SECRET,
        **limits_off,
        **PRODUCTION_MAIL,
        **overrides,
    )
    application = create_app(production)
    async with (
        LifespanManager(application, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://testserver") as http,
    ):
        yield http


_TOKENS: dict[int, tuple[AsyncClient, str]] = {}


async def _token(client: AsyncClient) -> str:
    """One member per test (the client lives as long as the test), enrolled on first use."""
    known = _TOKENS.get(id(client))
    if known is None or known[0] is not client:
        member = await enrolled_member(client, email=f"fuzz-{uuid.uuid4().hex}@example.com")
        _TOKENS.clear()
        _TOKENS[id(client)] = (client, member["accessToken"])
    return _TOKENS[id(client)][1]


def _document(case: Any) -> dict[str, Any]:
    body = case.body
    return body if isinstance(body, dict) else {"query": str(body)}


@pytest.mark.parametrize("label", sorted(OPERATIONS))
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_no_generated_request_breaks_the_api(
    production_client: AsyncClient, label: str, data: st.DataObject
) -> None:
    case = data.draw(OPERATIONS[label].as_strategy())
    signed_in = data.draw(st.booleans())
    headers = {}
    if signed_in:
        headers["authorization"] = f"Bearer {await _token(production_client)}"
    before = await Posting.all().count()

    response = await production_client.post("/graphql", json=_document(case), headers=headers)

    assert response.status_code in (200, 400, 413, 429), (response.status_code, response.text)
    if response.status_code == 429:  # a sensitive operation's own limit, still on: a typed refusal
        assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["RATE_LIMITED"]
    assert "Traceback" not in response.text
    body = response.json()
    for error in body.get("errors") or []:
        assert error.get("message") != MASKED_MESSAGE, (label, _document(case), body)
    if not signed_in and label not in WRITES_FOR_ANONYMOUS:
        assert await Posting.all().count() == before


HOSTILE_ARGUMENTS = [
    ("mutation($id: ID!) { cancelRedemption(id: $id) { __typename } }", {"id": "9" * 20}),
    ("mutation($id: ID!) { acceptPoolInvitation(id: $id) { __typename } }", {"id": "18446744073709551616"}),
    ("mutation($id: ID!) { declinePoolInvitation(id: $id) { __typename } }", {"id": 10**20}),
    ("mutation { cancelRedemption(id: 99999999999999999999) { __typename } }", {}),
    ('mutation { acceptPoolInvitation(id: "99999999999999999999") { __typename } }', {}),
    ("mutation($code: String!) { activateOffer(code: $code) { __typename } }", {"code": "a\x00b"}),
    ('mutation { activateOffer(code: "a\\u0000b") { __typename } }', {}),
    (ENROL_MEMBER, {"input": enrolment_input(givenName="Ada\x00")}),
]


@pytest.mark.parametrize(("document", "variables"), HOSTILE_ARGUMENTS)
async def test_a_nul_or_an_id_past_64_bits_is_a_typed_argument_error(
    production_client_both_ways: AsyncClient, document: str, variables: dict[str, Any]
) -> None:
    client = production_client_both_ways
    token = await _token(client)
    before = await Posting.all().count()

    response = await client.post(
        "/graphql",
        json={"query": document, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
    )

    assert response.status_code in (200, 400), response.text
    errors = response.json()["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["ARGUMENT_INVALID"], errors
    assert await Posting.all().count() == before


def test_every_root_field_is_fuzzed() -> None:
    roots = build_schema()._schema
    expected = {
        f"{root.name}.{name}"
        for root in (roots.query_type, roots.mutation_type)
        if root is not None
        for name in root.fields
    }
    # _service and _entities answer only the federation router (tests/schema/test_federation.py).
    assert expected <= set(OPERATIONS) | {"Query._service", "Query._entities"}
    assert decimal.Decimal("1.00")  # the Decimal scalar strategy above is what lets milesCalculator in
