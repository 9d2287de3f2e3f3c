"""Travel ID (OpenID Connect): link a member's Travel ID, and sign in with it (flow 4 of ARCHITECTURE.md).

``GET /auth/travel-id/login?purpose=login|link[&platform=…]``
    302 to the provider's authorization endpoint: authorization-code flow with PKCE (S256), a state and
    a nonce. ``link`` needs an AUTHENTICATED bearer token: linking changes how the account can be entered.
    A ``login`` may carry the device's trusted-device token in ``X-Trusted-Device-Token``: the flow keeps
    its hash, and a device the member trusts skips the second factor, as with ``signIn``.
``GET /auth/travel-id/callback?code=…&state=…``
    Takes the state (single use), exchanges the code with the PKCE verifier, checks the ID token
    (signature against the provider's keys, iss, aud, exp, nonce), then links the (issuer, sub) pair or
    signs its member in through the app's ``complete_sign_in`` service.
``POST /auth/travel-id/unlink``
    Removes the member's Travel ID (AUTHENTICATED bearer token).

Every refusal is JSON ``{"error": {"code", "message"}}``. The flow state lives in the Cache port, so
any gateway replica can finish a flow another one started; the browser only holds a random binding in
an HttpOnly cookie, so a callback URL carried to another browser cannot finish the flow (login CSRF); the RateLimiter's atomic
counter claims a state, so two callbacks racing with one state cannot both pass. Authlib builds the
authorization URL and exchanges the code; joserfc and Authlib's ``CodeIDToken`` check the ID token.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import httpx2
import orjson
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway.http.oidc_client import (
    HTTP_TIMEOUT_S,
    ProviderConfig,
    ProviderDirectory,
    TravelIdRefused,
    provider_unavailable,
)
from gateway.services import services
from gateway.session_generations import signed_in_principal
from gateway.settings import Settings
from loyalty.auth.devices import device_token_hash
from loyalty.auth.identities import link_identity, member_for_identity, unlink_identity
from loyalty.errors import Conflict, DomainError, NotFound
from loyalty.members.models import SessionLevel
from loyalty.ports import Backends

log = logging.getLogger(__name__)

STATE_TTL_S = 600
SCOPE = "openid"
SIGN_IN_METHOD = "TRAVEL_ID"
LOGIN, LINK = "login", "link"
CALLBACK_ROUTE = "travel_id_callback"
_STATE_SHAPE = re.compile(r"[A-Za-z0-9]{32,128}")
_PLATFORM_SHAPE = re.compile(r"[A-Za-z]{1,16}")
_DEVICE_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,128}")

TRUSTED_DEVICE_HEADER = "X-Trusted-Device-Token"
"""Sent with ``/login?purpose=login`` by an app or browser holding a trusted-device token
(``completeSignIn(trustDevice: true)``)."""
NO_STORE = {"cache-control": "no-store"}
FLOW_COOKIE = "milesgate_travel_id_flow"
Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class FlowState:
    """What the callback must know about the flow its state started; kept server-side, never sent."""

    purpose: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    issuer: str
    client_id: str
    account_id: int | None
    platform: str | None
    created: float
    browser_hash: str = ""
    """SHA-256 of the random value in the browser's flow cookie: only that browser can finish the flow."""
    trusted_device_hash: str = ""
    """The hash of the trusted-device token sent with a login's start (``TRUSTED_DEVICE_HEADER``), if
    any: a device the member trusts skips the second factor here too. The token itself is not kept."""

    def dump(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def load(cls, raw: bytes) -> FlowState | None:
        try:
            flow = cls(**orjson.loads(raw))
        except (orjson.JSONDecodeError, TypeError):
            return None
        return flow if flow.purpose in (LOGIN, LINK) else None


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status,
        headers={**NO_STORE, **(headers or {})},
    )


def _answering_errors(handler: Handler) -> Handler:
    """Every expected failure becomes a typed JSON answer: no 500, no traceback for the client."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except TravelIdRefused as refused:
            log.info("travel id refused", extra={"code": refused.code, "path": request.url.path})
            return _error(refused.status, refused.code, refused.message, refused.headers)
        except DomainError as error:
            status = 404 if isinstance(error, NotFound) else 409 if isinstance(error, Conflict) else 400
            log.info("travel id refused", extra={"code": error.code, "path": request.url.path})
            return _error(status, error.code, error.message)

    return endpoint


def _rate_limited(handler: Handler) -> Handler:
    """Login and callback count against the client IP's Travel ID limit (``MILESGATE_RATE_LIMIT_TRAVEL_ID``)."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        app_services = services(request)
        refused = await app_services.rate_limits.refuse_http(
            request, app_services.backends.ports.rate_limiter, "travel_id"
        )
        if refused is not None:
            return refused
        return await handler(request)

    return endpoint


async def _authenticated_account(request: Request) -> int:
    """The bearer token's account, if the session is AUTHENTICATED (fresh credentials, like any change)
    and was not ended since."""
    app_services = services(request)
    principal = await signed_in_principal(
        app_services.tokens, app_services.session_generations, request.headers.get("authorization")
    )
    if principal is None:
        raise TravelIdRefused(
            401, "STEP_UP_REQUIRED", "Sign in with fresh credentials first.", {"www-authenticate": "Bearer"}
        )
    if principal.level is not SessionLevel.AUTHENTICATED:
        raise TravelIdRefused(
            403, "STEP_UP_REQUIRED", "Confirm your credentials again to change sign-in methods."
        )
    account_id: int = principal.account_id
    return account_id


def _ports(request: Request) -> Backends:
    return services(request).backends.ports


def _settings(request: Request) -> Settings:
    return services(request).settings


def _browser_hash(binding: str) -> str:
    return hashlib.sha256(binding.encode()).hexdigest()


def _new_flow(
    request: Request, config: ProviderConfig, purpose: str, account_id: int | None, binding: str
) -> FlowState:
    platform = request.query_params.get("platform")
    if platform is not None and not _PLATFORM_SHAPE.fullmatch(platform):
        raise TravelIdRefused(400, "PLATFORM_INVALID", "The platform is one of WEB, IOS, ANDROID.")
    redirect_uri = _settings(request).travel_id_redirect_uri or str(request.url_for(CALLBACK_ROUTE))
    device_token = request.headers.get(TRUSTED_DEVICE_HEADER) if purpose == LOGIN else None
    if device_token is not None and not _DEVICE_TOKEN_SHAPE.fullmatch(device_token):
        raise TravelIdRefused(
            400, "DEVICE_TOKEN_INVALID", f"{TRUSTED_DEVICE_HEADER} is not a trusted-device token."
        )
    return FlowState(
        purpose=purpose,
        nonce=generate_token(43),
        code_verifier=generate_token(64),
        redirect_uri=redirect_uri,
        issuer=config.issuer,
        client_id=config.client_id,
        account_id=account_id,
        platform=platform,
        created=time.time(),
        browser_hash=_browser_hash(binding),
        trusted_device_hash=device_token_hash(device_token) if device_token else "",
    )


def _authorization_url(endpoint: str, config: ProviderConfig, flow: FlowState, state: str) -> str:
    url: str = prepare_grant_uri(
        endpoint,
        client_id=config.client_id,
        response_type="code",
        redirect_uri=flow.redirect_uri,
        scope=SCOPE,
        state=state,
        nonce=flow.nonce,
        code_challenge=create_s256_code_challenge(flow.code_verifier),
        code_challenge_method="S256",
    )
    return url


async def _take_state(request: Request, config: ProviderConfig) -> FlowState:
    """The flow of this callback's state, claimed once: unknown, expired or replayed states are refused,
    and so is a callback from another browser than the one that started the flow (checked before the
    claim, so a forged callback cannot spend the real member's flow)."""
    refused = TravelIdRefused(400, "STATE_INVALID", "This sign-in link is unknown, expired or already used.")
    state = request.query_params.get("state", "")
    if not _STATE_SHAPE.fullmatch(state):
        raise refused
    ports = _ports(request)
    key = f"travelid:state:{state}"
    raw = await ports.cache.get(key)
    flow = FlowState.load(raw) if raw is not None else None
    if flow is None or flow.created + STATE_TTL_S < time.time():
        raise refused
    binding = request.cookies.get(FLOW_COOKIE, "")
    if not binding or not hmac.compare_digest(_browser_hash(binding), flow.browser_hash):
        # Login/link CSRF: a callback URL carried to another browser must not finish the flow there.
        raise TravelIdRefused(
            400, "BROWSER_MISMATCH", "Finish Travel ID sign-in in the browser that started it."
        )
    claim = await ports.rate_limiter.hit(f"travelid:claimed:{state}", limit=1, window_s=STATE_TTL_S)
    await ports.cache.delete(key)
    if not claim.allowed:
        raise refused
    if (flow.issuer, flow.client_id) != (config.issuer, config.client_id):
        raise refused  # the configuration changed since this flow started
    return flow


def _check_provider_answer(request: Request, config: ProviderConfig, metadata: dict[str, Any]) -> str:
    """The authorization code, or the provider's refusal (the member cancelled, for example).

    RFC 9207: a provider that announces the ``iss`` response parameter must send its own issuer, so a
    code another provider issued cannot be slipped into this flow (mix-up attack).
    """
    issuer = request.query_params.get("iss")
    if issuer != config.issuer and (
        issuer is not None or metadata.get("authorization_response_iss_parameter_supported")
    ):
        raise TravelIdRefused(
            400, "ISSUER_MISMATCH", "The answer did not come from the configured Travel ID."
        )
    error = request.query_params.get("error")
    if error is not None:
        raise TravelIdRefused(400, "AUTHORIZATION_FAILED", f"Travel ID did not authorize: {error[:64]}.")
    code = request.query_params.get("code")
    if not code:
        raise TravelIdRefused(400, "CODE_MISSING", "The callback carries no authorization code.")
    return code


async def _exchange_code(
    config: ProviderConfig, token_endpoint: str, flow: FlowState, code: str
) -> dict[str, Any]:
    """Code plus PKCE verifier for tokens; a refused code (replayed, expired, wrong verifier) is a 400."""
    method = "client_secret_basic" if config.client_secret else "none"
    try:
        async with AsyncOAuth2Client(
            client_id=config.client_id,
            client_secret=config.client_secret,
            token_endpoint_auth_method=method,
            timeout=HTTP_TIMEOUT_S,
        ) as client:
            token = await client.fetch_token(
                token_endpoint,
                grant_type="authorization_code",
                code=code,
                redirect_uri=flow.redirect_uri,
                code_verifier=flow.code_verifier,
            )
    except OAuthError as exc:
        if exc.error == "invalid_client":  # our credentials, not the member's doing
            log.error("travel id refused our client credentials")
            raise provider_unavailable("Travel ID sign-in is misconfigured.") from exc
        raise TravelIdRefused(
            400, "TOKEN_EXCHANGE_FAILED", f"Travel ID refused the code ({exc.error})."
        ) from exc
    except httpx2.HTTPStatusError as exc:
        if exc.response.status_code >= 500:
            raise provider_unavailable(f"Travel ID failed ({exc.response.status_code}).") from exc
        raise TravelIdRefused(400, "TOKEN_EXCHANGE_FAILED", "Travel ID refused the code.") from exc
    except (httpx2.HTTPError, ValueError) as exc:
        raise provider_unavailable(f"Travel ID could not be reached ({type(exc).__name__}).") from exc
    return dict(token)


async def _finish_login(request: Request, issuer: str, subject: str, flow: FlowState) -> Response:
    account_id = await member_for_identity(issuer=issuer, subject=subject)
    if account_id is None:
        raise TravelIdRefused(
            404, "IDENTITY_NOT_LINKED", "This Travel ID is not linked to a member; sign in and link it first."
        )
    result = await services(request).complete_sign_in(
        request,
        account_id=account_id,
        method=SIGN_IN_METHOD,
        platform=flow.platform,
        trusted_device_hash=flow.trusted_device_hash or None,
    )
    log.info("travel id sign-in", extra={"account_id": account_id})
    return JSONResponse(result, headers=NO_STORE)


class TravelIdEndpoints:
    """The three routes of one app; the discovery and key cache lives as long as the app."""

    def __init__(self, directory: ProviderDirectory | None = None) -> None:
        self.directory = directory or ProviderDirectory()

    async def login(self, request: Request) -> Response:
        config = ProviderConfig.from_settings(_settings(request))
        purpose = request.query_params.get("purpose", LOGIN)
        if purpose not in (LOGIN, LINK):
            raise TravelIdRefused(400, "PURPOSE_INVALID", "The purpose is login or link.")
        account_id = await _authenticated_account(request) if purpose == LINK else None
        metadata = await self.directory.metadata(config)
        binding = generate_token(43)
        flow = _new_flow(request, config, purpose, account_id, binding)
        state = generate_token(43)
        await _ports(request).cache.set(f"travelid:state:{state}", flow.dump(), ttl_s=STATE_TTL_S)
        url = _authorization_url(metadata["authorization_endpoint"], config, flow, state)
        # A front end that must send the bearer token (purpose=link) cannot follow a 302 with fetch:
        # format=json hands it the URL to navigate to instead.
        if request.query_params.get("format") == "json":
            response: Response = JSONResponse({"authorizationUrl": url}, headers=NO_STORE)
        else:
            response = RedirectResponse(url, status_code=302, headers=NO_STORE)
        response.set_cookie(
            FLOW_COOKIE,
            binding,
            max_age=STATE_TTL_S,
            path="/auth/travel-id",
            httponly=True,
            secure=_settings(request).is_production,
            samesite="lax",
        )
        return response

    async def callback(self, request: Request) -> Response:
        config = ProviderConfig.from_settings(_settings(request))
        flow = await _take_state(request, config)
        metadata = await self.directory.metadata(config)
        code = _check_provider_answer(request, config, metadata)
        token = await _exchange_code(config, metadata["token_endpoint"], flow, code)
        claims = await self.directory.verified_claims(config, metadata, token, nonce=flow.nonce)
        subject: str = claims["sub"]
        if flow.purpose == LOGIN:
            return await _finish_login(request, config.issuer, subject, flow)
        if flow.account_id is None:  # pragma: no cover - a link flow always stores its account
            raise TravelIdRefused(400, "STATE_INVALID", "This link flow has no member.")
        await link_identity(account_id=flow.account_id, issuer=config.issuer, subject=subject)
        log.info("travel id linked", extra={"account_id": flow.account_id})
        return JSONResponse(
            {"status": "LINKED", "issuer": config.issuer, "subject": subject}, headers=NO_STORE
        )

    async def unlink(self, request: Request) -> Response:
        config = ProviderConfig.from_settings(_settings(request))
        account_id = await _authenticated_account(request)
        await unlink_identity(account_id=account_id, issuer=config.issuer)
        log.info("travel id unlinked", extra={"account_id": account_id})
        return JSONResponse({"status": "UNLINKED", "issuer": config.issuer}, headers=NO_STORE)


def travel_id_routes(directory: ProviderDirectory | None = None) -> list[Route]:
    """The Travel ID routes for one app, sharing one in-memory discovery and key cache."""
    endpoints = TravelIdEndpoints(directory)
    return [
        Route(
            "/auth/travel-id/login",
            _rate_limited(_answering_errors(endpoints.login)),
            methods=["GET"],
            name="travel_id_login",
        ),
        Route(
            "/auth/travel-id/callback",
            _rate_limited(_answering_errors(endpoints.callback)),
            methods=["GET"],
            name=CALLBACK_ROUTE,
        ),
        Route(
            "/auth/travel-id/unlink",
            _answering_errors(endpoints.unlink),
            methods=["POST"],
            name="travel_id_unlink",
        ),
    ]
