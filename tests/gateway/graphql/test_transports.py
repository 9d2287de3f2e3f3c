"""One edge for every transport: each rule of the edge refuses an operation sent over HTTP and the same
operation sent as a graphql-transport-ws ``subscribe`` message, with the same code (an ``error`` message
before execution, a ``next`` with errors after it), and an operation the edge lets through runs over both.
The older graphql-ws protocol is refused at the handshake."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from gateway.app import create_app
from gateway.graphql.edge import MASKED_MESSAGE
from gateway.graphql.persisted_queries import document_hash
from gateway.services import services
from gateway.settings import Environment, Settings
from gateway.tokens import TokenService
from loyalty.members.models import Member, SessionLevel
from resolvers import privacy
from tests.factories import CONFIRM_ENROLMENT, ENROL_MEMBER, enrolled_member_sync
from tests.support import deadline_s, wait_for_sync

PROTOCOL = "graphql-transport-ws"
REWARDS = "query Rewards { rewards { code } }"
NOTICES = 'query Notices { securityNotices(language: "en") { title } }'
MY_DATA = "{ me { accountNumber email } }"
MY_NUMBER = "query Number { me { accountNumber } }"

Body = dict[str, Any]


@pytest.fixture
def settings(settings: Settings, graphql_fast_path: bool) -> Settings:
    """Every app of this module runs both ways: through the GraphQL engine and with stock Strawberry."""
    return settings.model_copy(update={"graphql_fast_path": graphql_fast_path})


def codes(body: Body) -> list[str | None]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


def refusals(body: Body) -> list[tuple[str, dict[str, Any] | None]]:
    """What a client is told: each error's message and extensions."""
    return [(error["message"], error.get("extensions")) for error in body.get("errors") or []]


def apq(document: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": document_hash(document)}}


class Socket:
    """One graphql-transport-ws connection, signed in with ``token``."""

    def __init__(self, ws: Any, token: str) -> None:
        self.ws = ws
        self.ids = (str(number) for number in itertools.count(1))
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"

    def send(self, payload: Body) -> str:
        operation_id = next(self.ids)
        self.ws.send_json({"id": operation_id, "type": "subscribe", "payload": payload})
        return operation_id

    def answers(self, ids: list[str]) -> dict[str, Body]:
        """Each operation's answer as an HTTP body: an ``error`` message's errors, or its ``next``."""
        answers: dict[str, Body] = {}
        pending = set(ids)
        while pending:
            message = self.ws.receive_json()
            if message["type"] == "error":
                answers[message["id"]] = {"data": None, "errors": message["payload"]}
            elif message["type"] == "next":
                answers[message["id"]] = message["payload"]
            if message["type"] in ("error", "complete"):
                pending.discard(message["id"])
        return answers

    def ask(self, payload: Body) -> Body:
        operation_id = self.send(payload)
        return self.answers([operation_id])[operation_id]


@dataclass
class Edge:
    """One app, asked over HTTP and over a WebSocket by one member."""

    client: TestClient
    token: str = ""
    sockets: ExitStack = field(default_factory=ExitStack)

    def http(self, payload: Body, *, token: str | None = None) -> Body:
        headers = {"authorization": f"Bearer {token or self.token}"}
        body: Body = self.client.post("/graphql", json=payload, headers=headers).json()
        return body

    def socket(self, token: str | None = None) -> Socket:
        ws = self.sockets.enter_context(self.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]))
        return Socket(ws, token or self.token)

    def both(self, payload: Body) -> tuple[Body, Body]:
        """The same operation over HTTP and over a WebSocket."""
        return self.http(payload), self.socket().ask(payload)


@pytest.fixture
def edge(settings: Settings, tmp_path: Path) -> Iterator[Any]:
    """``edge(production=True, safelist=[...], **settings)``: a started app and a member enrolled on it
    (the enrolment is on the safelist, as a real one would be)."""
    with ExitStack() as stack:

        def build(*, production: bool = False, safelist: tuple[str, ...] = (), **overrides: Any) -> Edge:
            update = dict(overrides)
            if production:
                update |= {
                    "env": Environment.PRODUCTION,
                    "database_url": SecretStr(settings.resolved_database_url),
                }
            if safelist:
                directory = tmp_path / "safelist"
                directory.mkdir()
                for document in (*safelist, ENROL_MEMBER, CONFIRM_ENROLMENT):
                    (directory / f"{document_hash(document)}.graphql").write_text(document, encoding="utf-8")
                update["persisted_queries_dir"] = directory
            client = stack.enter_context(TestClient(create_app(settings.model_copy(update=update))))
            built = Edge(client, enrolled_member_sync(client, settings)["accessToken"])
            stack.enter_context(built.sockets)
            return built

        yield build


# -- safelist and persisted queries ----------------------------------------------------------------------


def test_the_safelist_holds_on_both_transports(edge: Any) -> None:
    # given production with a safelist, and a member anyone can become
    app = edge(production=True, safelist=(REWARDS,))

    # when an unregistered document is sent, by text or by hash, then both transports refuse it
    unregistered: list[Body] = [{"query": MY_DATA}, {"query": MY_DATA, "extensions": apq(MY_DATA)}]
    for payload in unregistered:
        http, ws = app.both(payload)
        assert codes(http) == codes(ws) == ["PERSISTED_QUERY_NOT_ALLOWED"]
        assert http["data"] is ws["data"] is None

    # and a registered one runs on both, by text and by hash alone
    registered: list[Body] = [{"query": REWARDS}, {"extensions": apq(REWARDS)}]
    for payload in registered:
        http, ws = app.both(payload)
        assert "errors" not in http and http["data"]["rewards"]
        assert ws == http


def test_automatic_persisted_queries_work_alike_on_both_transports(edge: Any) -> None:
    app = edge(production=True)
    socket = app.socket()

    # an unknown hash, and a hash that is not the document's: the same answers
    unknown = {"extensions": apq(NOTICES)}
    assert codes(app.http(unknown)) == codes(socket.ask(unknown)) == ["PERSISTED_QUERY_NOT_FOUND"]
    mismatch = {"query": REWARDS, "extensions": apq(NOTICES)}
    assert codes(app.http(mismatch)) == codes(socket.ask(mismatch)) == ["PERSISTED_QUERY_HASH_MISMATCH"]

    # a document stored over the WebSocket answers its hash over HTTP, and the other way round
    assert socket.ask({"query": NOTICES, "extensions": apq(NOTICES)})["data"] is not None
    assert app.http({"extensions": apq(NOTICES)})["data"] is not None
    assert app.http({"query": REWARDS, "extensions": apq(REWARDS)})["data"]["rewards"]
    assert socket.ask({"extensions": apq(REWARDS)})["data"]["rewards"]


# -- document limits -------------------------------------------------------------------------------------

THREE_MUTATIONS = (
    'mutation { remindUserId(email: "a@x.de") { __typename } requestPasswordReset(email: "b@x.de") '
    '{ __typename } signOut(refreshToken: "x") { __typename } }'
)


@pytest.mark.parametrize(
    ("limit", "document", "code", "words"),
    [
        (
            {"graphql_max_cost": 50},
            "{ me { statement(first: 20) { edges { node { postingId } } } } }",
            "QUERY_TOO_COSTLY",
            "costs 62",
        ),
        (
            {"graphql_max_tokens": 60},
            "{ " + "__typename " * 60 + "}",
            "TOO_MANY_TOKENS",
            "more than 60 tokens",
        ),
        (
            {"graphql_max_directives": 2},
            "{ __typename @include(if: true) @skip(if: false) rewards @include(if: true) { code } }",
            "TOO_MANY_DIRECTIVES",
            "3 directives",
        ),
        ({"graphql_max_mutations": 2}, THREE_MUTATIONS, "TOO_MANY_MUTATIONS", "3 mutations"),
        (
            {"graphql_max_depth": 3},
            "{ me { statement { edges { node { postingId } } } } }",
            "QUERY_TOO_DEEP",
            "exceeds maximum operation depth of 3",
        ),
        (
            {"graphql_max_aliases": 2},
            "{ a: __typename b: __typename c: __typename }",
            "TOO_MANY_ALIASES",
            "aliases found",
        ),
    ],
    ids=["cost", "tokens", "directives", "mutations", "depth", "aliases"],
)
def test_document_limits_refuse_alike_on_both_transports(
    edge: Any, limit: dict[str, int], document: str, code: str | None, words: str
) -> None:
    app = edge(**limit)
    http, ws = app.both({"query": document})
    assert codes(http) == [code] and words in http["errors"][0]["message"].lower() and http["data"] is None
    assert refusals(ws) == refusals(http) and ws["data"] is None

    # and what fits the limit runs on both
    fine = {"query": "{ __typename rewards { code } }"}
    assert app.http(fine) == app.socket().ask(fine)
    assert "errors" not in app.http(fine)


# -- rate limits -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["member", "ip"])
def test_request_rate_limits_count_both_transports_in_one_budget(edge: Any, scope: str) -> None:
    # given a budget of four requests (the enrolment's two count against the IP, not yet the member)
    limits = {"rate_limit_per_member": 4} if scope == "member" else {"rate_limit_per_ip": 6}
    app = edge(**limits)
    socket = app.socket()
    me = {"query": MY_NUMBER}

    # when it is spent over both transports
    for answer in (app.http(me), socket.ask(me), app.http(me), socket.ask(me)):
        assert "errors" not in answer and answer["data"]["me"]["accountNumber"]

    # then both refuse the next one, with the rate limit's code and scope
    http, ws = app.http(me), socket.ask(me)
    assert codes(http) == codes(ws) == ["RATE_LIMITED"]
    assert http["errors"][0]["extensions"]["scope"] == ws["errors"][0]["extensions"]["scope"] == scope
    assert ws["errors"][0]["extensions"]["retryAfter"] >= 1


def test_one_connection_cannot_outrun_the_member_limit(edge: Any) -> None:
    app = edge(rate_limit_per_member=5, graphql_max_subscriptions=20)
    socket = app.socket()

    # when twelve queries are sent at once on one connection
    ids = [socket.send({"query": MY_NUMBER}) for _ in range(12)]
    answers = socket.answers(ids)

    # then five are answered and seven refused with the rate limit's code
    answered = [body for body in answers.values() if "errors" not in body]
    refused = [body for body in answers.values() if codes(body) == ["RATE_LIMITED"]]
    assert (len(answered), len(refused)) == (5, 7)
    assert {body["errors"][0]["extensions"]["scope"] for body in refused} == {"member"}


# -- authentication and the error policy -----------------------------------------------------------------


def test_an_expired_token_is_refused_on_both_transports(edge: Any) -> None:
    # given a connection opened with a token that runs out soon
    app = edge()
    account_number = app.http({"query": MY_NUMBER})["data"]["me"]["accountNumber"]
    assert app.client.portal is not None
    account = app.client.portal.call(lambda: Member.get(account_number=account_number))
    settings = services(app.client.app).settings
    short_lived = TokenService(
        settings.resolved_secret_key(), ttl_s=int(deadline_s(3)), authenticated_window_s=60
    ).issue(account_id=account.id, level=SessionLevel.IDENTIFIED, generation=account.session_generation)
    socket = app.socket(short_lived)
    me = {"query": MY_NUMBER}
    assert socket.ask(me)["data"]["me"]["accountNumber"] == account_number

    # when it has run out
    tokens = services(app.client.app).tokens
    wait_for_sync(lambda: tokens.verify(short_lived) is None, timeout_s=10, what="the token's expiry")

    # then HTTP and the open connection both refuse the member's data
    http, ws = app.http(me, token=short_lived), socket.ask(me)
    assert codes(http) == codes(ws) == ["UNAUTHENTICATED"]
    assert ws["data"] is None


def test_production_masks_unexpected_errors_on_both_transports(
    edge: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(language: str) -> list[object]:
        raise RuntimeError("connection to 10.1.2.3 refused: secret detail")

    monkeypatch.setattr(privacy, "security_notices", broken)
    app = edge(production=True)
    http, ws = app.both({"query": NOTICES})
    assert [error["message"] for error in http["errors"]] == [MASKED_MESSAGE]
    assert refusals(ws) == refusals(http)
    assert "secret" not in str(ws)


def test_the_older_graphql_ws_protocol_is_refused(edge: Any) -> None:
    app = edge()
    with app.client.websocket_connect("/graphql", subprotocols=["graphql-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {app.token}"}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4406
