"""Travel ID linking and sign-in, end to end against a real OpenID provider on loopback.

The provider is ``tests/oidc/provider.mjs`` (the ``oidc-provider`` npm package), started once for this
module. Our app runs in process (ASGI transport); the "browser" that follows the provider's redirects
talks real HTTP to the provider, and stops at our callback URL to hand its query to our app.
The identity rules of ``loyalty.auth.identities`` are tested on their own first (``db`` fixture).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import os
import select
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import httpx2
import pytest
from asgi_lifespan import LifespanManager
from httpx2 import ASGITransport, AsyncClient
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request

from gateway.app import create_app
from gateway.http.oidc_client import ProviderConfig, ProviderDirectory, TravelIdRefused
from gateway.http.travel_id import FLOW_COOKIE, STATE_TTL_S, TRUSTED_DEVICE_HEADER, FlowState
from gateway.services import services
from gateway.settings import Settings
from loyalty.auth.identities import (
    IdentityAlreadyLinked,
    IdentityLinkedToOtherMember,
    identities_of,
    link_identity,
    member_for_identity,
    unlink_identity,
)
from loyalty.auth.models import LinkedIdentity
from loyalty.errors import NotFound
from loyalty.members.models import SessionLevel
from tests.factories import make_member
from tests.support import deadline_s, in_ci, stop_process, wait_for_sync

OIDC_DIR = Path(__file__).resolve().parent.parent / "oidc"
BASE_URL = "http://testserver"
CALLBACK_URL = f"{BASE_URL}/auth/travel-id/callback"
CLIENT_ID, CLIENT_SECRET = "milesgate-test", "milesgate-test-secret"
OTHER_CLIENT_ID, OTHER_CLIENT_SECRET = "other-client", "other-client-secret"
START_TIMEOUT_S = 30.0
ISSUER = "https://travel-id.example"


# --- loyalty.auth.identities -------------------------------------------------------------------


async def test_link_is_idempotent_for_the_same_pair(db: Settings) -> None:
    member = (await make_member("a@example.com")).member
    first = await link_identity(account_id=member.id, issuer=ISSUER, subject="sub-1")
    again = await link_identity(account_id=member.id, issuer=ISSUER, subject="sub-1")
    assert again.id == first.id
    assert [(i.issuer, i.subject) for i in await identities_of(account_id=member.id)] == [(ISSUER, "sub-1")]


async def test_one_identity_belongs_to_one_member(db: Settings) -> None:
    alice = (await make_member("a@example.com")).member
    bob = (await make_member("b@example.com")).member
    await link_identity(account_id=alice.id, issuer=ISSUER, subject="sub-1")
    with pytest.raises(IdentityLinkedToOtherMember) as refused:
        await link_identity(account_id=bob.id, issuer=ISSUER, subject="sub-1")
    assert refused.value.code == "IDENTITY_LINKED_TO_OTHER_MEMBER"
    assert await identities_of(account_id=bob.id) == []


async def test_one_identity_per_issuer_and_member(db: Settings) -> None:
    member = (await make_member("a@example.com")).member
    await link_identity(account_id=member.id, issuer=ISSUER, subject="sub-1")
    with pytest.raises(IdentityAlreadyLinked) as refused:
        await link_identity(account_id=member.id, issuer=ISSUER, subject="sub-2")
    assert refused.value.code == "IDENTITY_ALREADY_LINKED"
    other_issuer = await link_identity(account_id=member.id, issuer="https://other.example", subject="sub-2")
    assert other_issuer.account_id == member.id
    assert len(await identities_of(account_id=member.id)) == 2


async def test_racing_links_of_one_identity_leave_one_owner(db: Settings) -> None:
    alice = (await make_member("a@example.com")).member
    bob = (await make_member("b@example.com")).member
    outcomes = await asyncio.gather(
        link_identity(account_id=alice.id, issuer=ISSUER, subject="sub-1"),
        link_identity(account_id=bob.id, issuer=ISSUER, subject="sub-1"),
        return_exceptions=True,
    )
    assert sorted(type(outcome).__name__ for outcome in outcomes) == [
        "IdentityLinkedToOtherMember",
        "LinkedIdentity",
    ]
    assert await LinkedIdentity.filter(issuer=ISSUER, subject="sub-1").count() == 1


async def test_link_for_an_unknown_member_is_not_found(db: Settings) -> None:
    with pytest.raises(NotFound):
        await link_identity(account_id=987654, issuer=ISSUER, subject="sub-1")


async def test_member_for_identity_finds_the_member_and_stamps_the_sign_in(db: Settings) -> None:
    member = (await make_member("a@example.com")).member
    await link_identity(account_id=member.id, issuer=ISSUER, subject="sub-1")
    assert await member_for_identity(issuer=ISSUER, subject="unknown") is None
    assert await member_for_identity(issuer="https://other.example", subject="sub-1") is None
    now = dt.datetime(2025, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    assert await member_for_identity(issuer=ISSUER, subject="sub-1", now=now) == member.id
    (identity,) = await identities_of(account_id=member.id)
    assert identity.last_sign_in_at == now


async def test_unlink_removes_the_identity_and_then_is_not_found(db: Settings) -> None:
    member = (await make_member("a@example.com")).member
    await link_identity(account_id=member.id, issuer=ISSUER, subject="sub-1")
    await unlink_identity(account_id=member.id, issuer=ISSUER)
    assert await member_for_identity(issuer=ISSUER, subject="sub-1") is None
    with pytest.raises(NotFound) as refused:
        await unlink_identity(account_id=member.id, issuer=ISSUER)
    assert refused.value.code == "NOT_FOUND"


# --- the test OpenID provider ------------------------------------------------------------------


def _provider_missing(reason: str) -> NoReturn:
    """CI runs on a clean clone with Node.js installed: there a missing provider is a failure."""
    message = f"the test OpenID provider cannot run: {reason}"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def _ensure_packages() -> None:
    if (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        _provider_missing("npm is not installed")
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(OIDC_DIR)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        _provider_missing(f"npm ci failed: {result.stderr[-2000:]}")


def _read_issuer(process: subprocess.Popen[str], log_path: Path) -> str:
    """The provider prints its issuer URL once it listens; it picks a free port itself (PORT=0)."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], deadline_s(START_TIMEOUT_S))
    line = process.stdout.readline().strip() if ready else ""
    if not line.startswith("http://127.0.0.1:"):
        process.kill()
        process.wait()
        _provider_missing(f"it did not start (printed {line!r}): {log_path.read_text()[-2000:]}")
    return line


def _wait_for_discovery(issuer: str) -> None:
    def answers() -> bool:
        try:
            url = f"{issuer}/.well-known/openid-configuration"
            return httpx2.get(url, timeout=deadline_s(2)).status_code == 200
        except httpx2.TransportError:
            return False

    wait_for_sync(
        answers, timeout_s=START_TIMEOUT_S, interval_s=0.1, what="the provider's discovery document answers"
    )


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``node tests/oidc/provider.mjs`` for this module; installs its packages once if they are missing."""
    node = shutil.which("node")
    if node is None:
        _provider_missing("node is not installed")
    _ensure_packages()
    log_path = tmp_path_factory.mktemp("oidc") / "provider.log"
    env = {**os.environ, "PORT": "0", "REDIRECT_URIS": CALLBACK_URL}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [node, str(OIDC_DIR / "provider.mjs")], stdout=subprocess.PIPE, stderr=log, text=True, env=env
        )
    try:
        issuer = _read_issuer(process, log_path)
        _wait_for_discovery(issuer)
        yield issuer
    finally:
        stop_process(process, timeout_s=10)
        if process.stdout is not None:
            process.stdout.close()


# --- the app, configured for the provider --------------------------------------------------------


class SignInStub:
    """Stands in for ``services(app).complete_sign_in``: records the call and issues an access token."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(
        self,
        request: Request,
        *,
        account_id: int,
        method: str,
        platform: str | None,
        trusted_device_hash: str | None = None,
    ) -> dict[str, Any]:
        self.calls.append({"account_id": account_id, "method": method, "platform": platform})
        token = services(request.app).tokens.issue(
            account_id=account_id, level=SessionLevel.AUTHENTICATED, generation=0
        )
        return {"status": "SIGNED_IN", "accessToken": token}


def sign_in_stub(app: Starlette) -> SignInStub:
    stub = services(app).complete_sign_in
    assert isinstance(stub, SignInStub)
    return stub


def travel_settings(settings: Settings, issuer: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "travel_id_issuer": issuer,
        "travel_id_client_id": CLIENT_ID,
        "travel_id_client_secret": SecretStr(CLIENT_SECRET),
        "travel_id_allow_http": True,
    }
    return settings.model_copy(update={**values, **overrides})


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[Starlette, AsyncClient]]:
    app = create_app(settings)
    async with (
        LifespanManager(app, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)),
        AsyncClient(transport=ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        yield app, client


@pytest.fixture
async def travel_app(settings: Settings, oidc_provider: str) -> AsyncIterator[Starlette]:
    async with running(travel_settings(settings, oidc_provider)) as (app, _):
        services(app).complete_sign_in = SignInStub()
        yield app


@pytest.fixture
async def travel_client(travel_app: Starlette) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=travel_app), base_url=BASE_URL) as client:
        yield client


def bearer(
    app: Starlette, account_id: int, level: SessionLevel = SessionLevel.AUTHENTICATED
) -> dict[str, str]:
    return {
        "authorization": f"Bearer {services(app).tokens.issue(account_id=account_id, level=level, generation=0)}"
    }


async def start(client: AsyncClient, purpose: str, headers: dict[str, str] | None = None) -> str:
    response = await client.get("/auth/travel-id/login", params={"purpose": purpose}, headers=headers)
    assert response.status_code == 302, response.text
    location: str = response.headers["location"]
    return location


async def authorize(location: str, *, sub: str) -> dict[str, str]:
    """Play the browser at the provider: follow its redirects, sign ``sub`` in, stop at our callback."""
    async with httpx2.AsyncClient(timeout=deadline_s(10)) as browser:
        response = await browser.get(location)
        for _ in range(10):
            assert response.status_code in (302, 303), response.text
            target = urljoin(str(response.url), response.headers["location"])
            if target.startswith(CALLBACK_URL):
                return dict(parse_qsl(urlsplit(target).query))
            if "/interaction/" in urlsplit(target).path:
                target = f"{target}?{urlencode({'sub': sub})}"
            response = await browser.get(target)
    raise AssertionError("the provider never redirected to our callback")


async def flow(
    client: AsyncClient, purpose: str, *, sub: str, headers: dict[str, str] | None = None
) -> httpx2.Response:
    answer = await authorize(await start(client, purpose, headers), sub=sub)
    return await client.get("/auth/travel-id/callback", params=answer)


def error_code(response: httpx2.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


# --- the whole flow ----------------------------------------------------------------------------


async def test_link_sign_in_and_unlink(
    travel_app: Starlette, travel_client: AsyncClient, oidc_provider: str
) -> None:
    member = (await make_member("a@example.com")).member
    linked = await flow(travel_client, "link", sub="traveller-1", headers=bearer(travel_app, member.id))
    assert linked.status_code == 200, linked.text
    assert linked.json() == {"status": "LINKED", "issuer": oidc_provider, "subject": "traveller-1"}

    signed_in = await flow(travel_client, "login", sub="traveller-1")
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["status"] == "SIGNED_IN"
    principal = services(travel_app).tokens.verify(signed_in.json()["accessToken"])
    assert principal is not None and principal.account_id == member.id
    assert sign_in_stub(travel_app).calls == [
        {"account_id": member.id, "method": "TRAVEL_ID", "platform": None}
    ]
    (identity,) = await identities_of(account_id=member.id)
    assert identity.last_sign_in_at is not None
    shown = await travel_client.post(
        "/graphql",
        json={"query": "{ me { linkedIdentities { issuer subject } } }"},
        headers=bearer(travel_app, member.id),
    )
    assert shown.json()["data"]["me"]["linkedIdentities"] == [
        {"issuer": oidc_provider, "subject": "traveller-1"}
    ]

    unlinked = await travel_client.post("/auth/travel-id/unlink", headers=bearer(travel_app, member.id))
    assert unlinked.status_code == 200 and unlinked.json() == {"status": "UNLINKED", "issuer": oidc_provider}
    refused = await flow(travel_client, "login", sub="traveller-1")
    assert refused.status_code == 404 and error_code(refused) == "IDENTITY_NOT_LINKED"


async def test_login_redirect_carries_state_nonce_and_pkce(
    travel_client: AsyncClient, oidc_provider: str
) -> None:
    location = await start(travel_client, "login")
    assert location.startswith(f"{oidc_provider}/auth?")
    query = dict(parse_qsl(urlsplit(location).query))
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == CALLBACK_URL and query["scope"] == "openid"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32 and query["state"] != query["nonce"]


async def test_state_is_kept_ten_minutes_with_verifier_and_nonce(
    travel_app: Starlette, travel_client: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = services(travel_app).backends.ports.cache
    stored_ttls: dict[str, float | None] = {}
    real_set = cache.set

    async def recording_set(key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        stored_ttls[key] = ttl_s
        await real_set(key, value, ttl_s=ttl_s)

    monkeypatch.setattr(cache, "set", recording_set)
    query = dict(parse_qsl(urlsplit(await start(travel_client, "login")).query))
    key = f"travelid:state:{query['state']}"
    assert stored_ttls == {key: STATE_TTL_S} and STATE_TTL_S == 600
    raw = await cache.get(key)
    assert raw is not None
    stored = FlowState.load(raw)
    assert stored is not None and stored.purpose == "login" and stored.nonce == query["nonce"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(stored.code_verifier.encode()).digest())
    assert challenge.rstrip(b"=").decode() == query["code_challenge"]


BROWSER_BINDING = "b" * 43


def stored_flow(issuer: str, *, created: float) -> FlowState:
    return FlowState(
        purpose="login",
        nonce="n" * 43,
        code_verifier="v" * 64,
        redirect_uri=CALLBACK_URL,
        issuer=issuer,
        client_id=CLIENT_ID,
        account_id=None,
        platform=None,
        created=created,
        browser_hash=hashlib.sha256(BROWSER_BINDING.encode()).hexdigest(),
    )


async def test_state_older_than_ten_minutes_is_refused(
    travel_app: Starlette, travel_client: AsyncClient, oidc_provider: str
) -> None:
    """The cache expires states; a state that outlived its TTL anyway (clock, cache) is refused too."""
    state = "s" * 43
    old = stored_flow(oidc_provider, created=time.time() - STATE_TTL_S - 1)
    await services(travel_app).backends.ports.cache.set(f"travelid:state:{state}", old.dump(), ttl_s=60)
    refused = await travel_client.get("/auth/travel-id/callback", params={"state": state, "code": "c"})
    assert refused.status_code == 400 and error_code(refused) == "STATE_INVALID"


async def test_platform_is_passed_to_sign_in(travel_app: Starlette, travel_client: AsyncClient) -> None:
    member = (await make_member("a@example.com")).member
    await flow(travel_client, "link", sub="traveller-1", headers=bearer(travel_app, member.id))
    response = await travel_client.get(
        "/auth/travel-id/login", params={"purpose": "login", "platform": "IOS"}
    )
    answer = await authorize(response.headers["location"], sub="traveller-1")
    assert (await travel_client.get("/auth/travel-id/callback", params=answer)).status_code == 200
    assert sign_in_stub(travel_app).calls[-1]["platform"] == "IOS"


# --- refused flows -----------------------------------------------------------------------------


async def test_tampered_state_is_refused(travel_app: Starlette, travel_client: AsyncClient) -> None:
    member = (await make_member("a@example.com")).member
    answer = await authorize(
        await start(travel_client, "link", bearer(travel_app, member.id)), sub="traveller-1"
    )
    for state in (answer["state"][:-1] + ("A" if answer["state"][-1] != "A" else "B"), "", "x" * 500):
        refused = await travel_client.get("/auth/travel-id/callback", params={**answer, "state": state})
        assert refused.status_code == 400 and error_code(refused) == "STATE_INVALID"
    untouched = await travel_client.get("/auth/travel-id/callback", params=answer)
    assert untouched.status_code == 200 and untouched.json()["status"] == "LINKED"


async def test_replayed_callback_is_refused(travel_app: Starlette, travel_client: AsyncClient) -> None:
    member = (await make_member("a@example.com")).member
    answer = await authorize(
        await start(travel_client, "link", bearer(travel_app, member.id)), sub="traveller-1"
    )
    assert (await travel_client.get("/auth/travel-id/callback", params=answer)).status_code == 200
    replayed = await travel_client.get("/auth/travel-id/callback", params=answer)
    assert replayed.status_code == 400 and error_code(replayed) == "STATE_INVALID"


async def test_concurrent_callbacks_with_one_state_pass_once(
    travel_app: Starlette, travel_client: AsyncClient
) -> None:
    member = (await make_member("a@example.com")).member
    answer = await authorize(
        await start(travel_client, "link", bearer(travel_app, member.id)), sub="traveller-1"
    )
    responses = await asyncio.gather(
        *(travel_client.get("/auth/travel-id/callback", params=answer) for _ in range(3))
    )
    assert sorted(response.status_code for response in responses) == [200, 400, 400]


async def test_replayed_code_with_a_fresh_state_is_refused(
    travel_app: Starlette, travel_client: AsyncClient
) -> None:
    member = (await make_member("a@example.com")).member
    answer = await authorize(
        await start(travel_client, "link", bearer(travel_app, member.id)), sub="traveller-1"
    )
    assert (await travel_client.get("/auth/travel-id/callback", params=answer)).status_code == 200
    fresh = dict(parse_qsl(urlsplit(await start(travel_client, "login")).query))
    replayed = await travel_client.get("/auth/travel-id/callback", params={**answer, "state": fresh["state"]})
    assert replayed.status_code == 400 and error_code(replayed) == "TOKEN_EXCHANGE_FAILED"


async def test_code_issued_to_another_client_is_refused(
    travel_client: AsyncClient, oidc_provider: str
) -> None:
    ours = dict(parse_qsl(urlsplit(await start(travel_client, "login")).query))
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    theirs = f"{oidc_provider}/auth?" + urlencode(
        {
            "response_type": "code",
            "client_id": OTHER_CLIENT_ID,
            "redirect_uri": CALLBACK_URL,
            "scope": "openid",
            "state": "their-state-0123456789",
            "nonce": "their-nonce",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    stolen = await authorize(theirs, sub="traveller-1")
    refused = await travel_client.get("/auth/travel-id/callback", params={**stolen, "state": ours["state"]})
    assert refused.status_code == 400 and error_code(refused) == "TOKEN_EXCHANGE_FAILED"


async def tamper_next_id_token(issuer: str, **change: Any) -> None:
    async with httpx2.AsyncClient(timeout=deadline_s(10)) as http:
        response = await http.post(f"{issuer}/__test__/tamper-next-id-token", json=change)
    assert response.status_code == 204


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param({"claims": {"aud": OTHER_CLIENT_ID}}, "'aud'", id="another-audience"),
        pytest.param(
            {"claims": {"aud": [OTHER_CLIENT_ID, "third"], "azp": OTHER_CLIENT_ID}}, "'aud'", id="audiences"
        ),
        pytest.param({"claims": {"nonce": "someone-elses-nonce"}}, "'nonce'", id="nonce"),
        pytest.param({"claims": {"iss": "https://evil.example"}}, "'iss'", id="issuer"),
        pytest.param({"claims": {"exp": 1_000_000_000}}, "expired", id="expired"),
        pytest.param({"foreignKey": True}, "signature", id="unpublished-key"),
    ],
)
async def test_unacceptable_id_token_is_refused(
    travel_client: AsyncClient, oidc_provider: str, change: dict[str, Any], reason: str
) -> None:
    answer = await authorize(await start(travel_client, "login"), sub="traveller-1")
    await tamper_next_id_token(oidc_provider, **change)
    refused = await travel_client.get("/auth/travel-id/callback", params=answer)
    assert refused.status_code == 400 and error_code(refused) == "ID_TOKEN_INVALID", refused.text
    assert reason in refused.json()["error"]["message"]


async def test_resigned_but_unchanged_id_token_is_accepted(
    travel_app: Starlette, travel_client: AsyncClient, oidc_provider: str
) -> None:
    """The control for the test above: re-signing alone changes nothing, so each refusal is its claim's."""
    member = (await make_member("a@example.com")).member
    answer = await authorize(
        await start(travel_client, "link", bearer(travel_app, member.id)), sub="traveller-1"
    )
    await tamper_next_id_token(oidc_provider, claims={})
    linked = await travel_client.get("/auth/travel-id/callback", params=answer)
    assert linked.status_code == 200 and linked.json()["status"] == "LINKED"


async def test_travel_id_of_one_member_cannot_be_linked_to_another(
    travel_app: Starlette, travel_client: AsyncClient
) -> None:
    alice = (await make_member("a@example.com")).member
    bob = (await make_member("b@example.com")).member
    first = await flow(travel_client, "link", sub="traveller-1", headers=bearer(travel_app, alice.id))
    assert first.status_code == 200
    second = await flow(travel_client, "link", sub="traveller-1", headers=bearer(travel_app, bob.id))
    assert second.status_code == 409 and error_code(second) == "IDENTITY_LINKED_TO_OTHER_MEMBER"
    assert await identities_of(account_id=bob.id) == []


async def test_second_travel_id_for_a_member_needs_unlinking_first(
    travel_app: Starlette, travel_client: AsyncClient
) -> None:
    member = (await make_member("a@example.com")).member
    headers = bearer(travel_app, member.id)
    assert (await flow(travel_client, "link", sub="traveller-1", headers=headers)).status_code == 200
    again = await flow(travel_client, "link", sub="traveller-1", headers=headers)
    assert again.status_code == 200 and again.json()["status"] == "LINKED"
    other = await flow(travel_client, "link", sub="traveller-2", headers=headers)
    assert other.status_code == 409 and error_code(other) == "IDENTITY_ALREADY_LINKED"


async def test_link_needs_an_authenticated_session(travel_app: Starlette, travel_client: AsyncClient) -> None:
    member = (await make_member("a@example.com")).member
    cases = [
        ({}, 401),
        ({"authorization": "Bearer not-a-token"}, 401),
        ({"authorization": "Basic abc"}, 401),
        (bearer(travel_app, member.id, SessionLevel.IDENTIFIED), 403),
    ]
    for headers, status in cases:
        response = await travel_client.get(
            "/auth/travel-id/login", params={"purpose": "link"}, headers=headers
        )
        assert response.status_code == status and error_code(response) == "STEP_UP_REQUIRED"
    unlink = await travel_client.post("/auth/travel-id/unlink")
    assert unlink.status_code == 401 and error_code(unlink) == "STEP_UP_REQUIRED"


async def test_unknown_identity_cannot_sign_in(travel_app: Starlette, travel_client: AsyncClient) -> None:
    refused = await flow(travel_client, "login", sub="traveller-3")
    assert refused.status_code == 404 and error_code(refused) == "IDENTITY_NOT_LINKED"
    assert sign_in_stub(travel_app).calls == []


async def test_unlink_without_a_link_is_not_found(travel_app: Starlette, travel_client: AsyncClient) -> None:
    member = (await make_member("a@example.com")).member
    response = await travel_client.post("/auth/travel-id/unlink", headers=bearer(travel_app, member.id))
    assert response.status_code == 404 and error_code(response) == "NOT_FOUND"


async def test_provider_refusal_and_bad_requests_are_typed(
    travel_client: AsyncClient, oidc_provider: str
) -> None:
    state = dict(parse_qsl(urlsplit(await start(travel_client, "login")).query))["state"]
    denied = await travel_client.get(
        "/auth/travel-id/callback", params={"state": state, "error": "access_denied", "iss": oidc_provider}
    )
    assert denied.status_code == 400 and error_code(denied) == "AUTHORIZATION_FAILED"
    used = await travel_client.get("/auth/travel-id/callback", params={"state": state, "code": "x"})
    assert used.status_code == 400 and error_code(used) == "STATE_INVALID"

    state = dict(parse_qsl(urlsplit(await start(travel_client, "login")).query))["state"]
    mixed_up = await travel_client.get(
        "/auth/travel-id/callback", params={"state": state, "code": "x", "iss": "https://evil.example"}
    )
    assert mixed_up.status_code == 400 and error_code(mixed_up) == "ISSUER_MISMATCH"

    purpose = await travel_client.get("/auth/travel-id/login", params={"purpose": "steal"})
    assert purpose.status_code == 400 and error_code(purpose) == "PURPOSE_INVALID"
    platform = await travel_client.get("/auth/travel-id/login", params={"platform": "<script>"})
    assert platform.status_code == 400 and error_code(platform) == "PLATFORM_INVALID"


# --- configuration and provider failures -------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_unreachable_provider_is_502(settings: Settings) -> None:
    issuer = f"http://127.0.0.1:{_closed_port()}"
    async with running(travel_settings(settings, issuer)) as (app, client):
        login = await client.get("/auth/travel-id/login")
        assert login.status_code == 502 and error_code(login) == "PROVIDER_UNAVAILABLE"
        flow_state = stored_flow(issuer, created=time.time())
        state = "s" * 43
        await services(app).backends.ports.cache.set(f"travelid:state:{state}", flow_state.dump(), ttl_s=60)
        client.cookies.set(FLOW_COOKIE, BROWSER_BINDING, path="/auth/travel-id")
        callback = await client.get("/auth/travel-id/callback", params={"state": state, "code": "c"})
        assert callback.status_code == 502 and error_code(callback) == "PROVIDER_UNAVAILABLE"


async def test_http_issuer_is_refused_unless_allowed(settings: Settings, oidc_provider: str) -> None:
    configured = travel_settings(settings, oidc_provider, travel_id_allow_http=False)
    async with running(configured) as (_, client):
        response = await client.get("/auth/travel-id/login")
        assert response.status_code == 503 and error_code(response) == "TRAVEL_ID_NOT_CONFIGURED"


async def test_routes_answer_503_when_travel_id_is_not_configured(client: AsyncClient) -> None:
    for response in (
        await client.get("/auth/travel-id/login"),
        await client.get("/auth/travel-id/callback", params={"state": "s" * 43, "code": "c"}),
    ):
        assert response.status_code == 503 and error_code(response) == "TRAVEL_ID_NOT_CONFIGURED"


async def test_discovery_and_keys_are_cached_until_their_ttl(oidc_provider: str) -> None:
    now = [0.0]
    directory = ProviderDirectory(ttl_s=100, min_refresh_s=10, clock=lambda: now[0])
    config = ProviderConfig(oidc_provider, CLIENT_ID, CLIENT_SECRET, allow_http=True)
    metadata = await directory.metadata(config)
    keys = await directory.key_set(config, metadata)
    now[0] = 50.0
    assert await directory.metadata(config) is metadata
    assert await directory.key_set(config, metadata) is keys
    now[0] = 55.0
    assert await directory.key_set(config, metadata, refresh=True) is not keys  # unknown key id: once
    now[0] = 200.0
    fresh = await directory.metadata(config)
    assert fresh is not metadata and fresh == metadata


async def test_discovery_naming_another_issuer_is_refused(oidc_provider: str) -> None:
    directory = ProviderDirectory()
    config = ProviderConfig(oidc_provider + "/", CLIENT_ID, CLIENT_SECRET, allow_http=True)
    with pytest.raises(TravelIdRefused, match="another issuer") as refused:
        await directory.metadata(config)
    assert refused.value.code == "PROVIDER_UNAVAILABLE"


async def test_sign_in_goes_through_the_apps_own_complete_sign_in(
    settings: Settings, oidc_provider: str
) -> None:
    """No stub: the gateway's ``complete_sign_in`` (session, second factor) answers the callback."""
    async with running(travel_settings(settings, oidc_provider)) as (app, client):
        member = (await make_member("a@example.com")).member
        assert (
            await flow(client, "link", sub="traveller-2", headers=bearer(app, member.id))
        ).status_code == 200
        signed_in = await flow(client, "login", sub="traveller-2")
        assert signed_in.status_code == 200, signed_in.text
        body = signed_in.json()
        assert body["status"] == "SIGNED_IN" and body["refreshToken"]
        principal = services(app).tokens.verify(body["accessToken"])
        assert principal is not None and principal.account_id == member.id


async def test_a_callback_from_another_browser_is_refused_and_spends_nothing(
    travel_app: Starlette, travel_client: AsyncClient
) -> None:
    """Login/link CSRF: the flow is bound to the browser that started it (an HttpOnly cookie)."""
    answer = await authorize(await start(travel_client, "login"), sub="traveller-1")
    async with AsyncClient(transport=ASGITransport(app=travel_app), base_url=BASE_URL) as other_browser:
        forged = await other_browser.get("/auth/travel-id/callback", params=answer)
    assert forged.status_code == 400 and error_code(forged) == "BROWSER_MISMATCH"
    # The member's own browser can still finish (the forged attempt claimed nothing).
    own = await travel_client.get("/auth/travel-id/callback", params=answer)
    assert own.status_code in (200, 404), own.text  # 404: traveller-1 is not linked in this test


async def test_link_can_start_as_json_for_front_ends(
    travel_app: Starlette, travel_client: AsyncClient
) -> None:
    member = (await make_member("json@example.com")).member
    response = await travel_client.get(
        "/auth/travel-id/login",
        params={"purpose": "link", "format": "json"},
        headers=bearer(travel_app, member.id),
    )
    assert response.status_code == 200
    url = response.json()["authorizationUrl"]
    assert "code_challenge_method=S256" in url and "state=" in url
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/auth/travel-id" in cookie
    linked = await travel_client.get(
        "/auth/travel-id/callback", params=await authorize(url, sub="traveller-3")
    )
    assert linked.status_code == 200 and linked.json()["status"] == "LINKED"


async def test_travel_id_sign_in_asks_for_the_second_factor_when_enabled(
    settings: Settings, oidc_provider: str
) -> None:
    """App 2FA is needed at every sign-in, Travel ID included (DOMAIN.md 2)."""
    from loyalty.auth import totp
    from loyalty.rules import current_rules
    from tests.loyalty.test_totp import oath

    async with running(travel_settings(settings, oidc_provider)) as (app, client):
        member = (await make_member("tf@example.com")).member
        key = services(app).totp_key
        rules = current_rules().two_factor
        started = await totp.begin_enrolment(account_id=member.id, account_label="tf", key=key, rules=rules)
        earlier = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
        code = await oath(started.secret_base32, earlier)
        await totp.confirm_enrolment(account_id=member.id, code=code, key=key, rules=rules, now=earlier)
        assert (
            await flow(client, "link", sub="traveller-2", headers=bearer(app, member.id))
        ).status_code == 200

        answer = (await flow(client, "login", sub="traveller-2")).json()
        assert answer["status"] == "TWO_FACTOR_REQUIRED" and "accessToken" not in answer
        completed = await client.post(
            "/graphql",
            json={
                "query": "mutation F($c: String!, $k: String!) { completeSignIn(challenge: $c, code: $k) "
                "{ __typename } }",
                "variables": {
                    "c": answer["challenge"],
                    "k": await oath(started.secret_base32, dt.datetime.now(dt.UTC)),
                },
            },
        )
        assert completed.json()["data"]["completeSignIn"]["__typename"] == "SignedIn"


async def test_a_trusted_device_skips_the_second_factor_at_travel_id_sign_in_too(
    settings: Settings, oidc_provider: str
) -> None:
    """The device's trusted-device token, sent with the login's start, works as it does with signIn; the
    flow keeps only its hash. An unknown, revoked or malformed token changes nothing or is refused."""
    from loyalty.auth import devices, totp
    from loyalty.rules import current_rules
    from tests.loyalty.test_totp import oath

    async with running(travel_settings(settings, oidc_provider)) as (app, client):
        # given: a member with app 2FA, a linked Travel ID and a device they trust
        member = (await make_member("td@example.com")).member
        key, rules = services(app).totp_key, current_rules()
        started = await totp.begin_enrolment(
            account_id=member.id, account_label="td", key=key, rules=rules.two_factor
        )
        earlier = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
        code = await oath(started.secret_base32, earlier)
        await totp.confirm_enrolment(
            account_id=member.id, code=code, key=key, rules=rules.two_factor, now=earlier
        )
        now = dt.datetime.now(dt.UTC)
        phone = await devices.trust_device(
            account_id=member.id, name="phone", rules=rules.trusted_devices, now=now
        )
        assert (
            await flow(client, "link", sub="traveller-3", headers=bearer(app, member.id))
        ).status_code == 200

        def carrying(token: str) -> dict[str, str]:
            return {TRUSTED_DEVICE_HEADER: token}

        # when / then: from the trusted device, no second factor
        trusted = (await flow(client, "login", sub="traveller-3", headers=carrying(phone.token))).json()
        assert trusted["status"] == "SIGNED_IN" and trusted["accessToken"], trusted
        # the flow state holds the token's hash, never the token
        location = await start(client, "login", carrying(phone.token))
        raw = await services(app).backends.ports.cache.get(
            f"travelid:state:{dict(parse_qsl(urlsplit(location).query))['state']}"
        )
        assert raw is not None and phone.token.encode() not in raw
        assert FlowState.load(raw).trusted_device_hash == devices.device_token_hash(phone.token)  # type: ignore[union-attr]

        # an unknown device: the second factor is asked
        unknown = (await flow(client, "login", sub="traveller-3", headers=carrying("u" * 43))).json()
        assert unknown["status"] == "TWO_FACTOR_REQUIRED"
        # a revoked one: asked too
        await devices.revoke_device(account_id=member.id, device_id=str(phone.device.id), now=now)
        revoked = (await flow(client, "login", sub="traveller-3", headers=carrying(phone.token))).json()
        assert revoked["status"] == "TWO_FACTOR_REQUIRED"
        # a malformed one is refused at the start, in the JSON error shape
        refused = await client.get(
            "/auth/travel-id/login", params={"purpose": "login"}, headers=carrying("not a token!")
        )
        assert refused.status_code == 400 and error_code(refused) == "DEVICE_TOKEN_INVALID"
