"""The Travel ID OpenID provider as a client sees it: configuration, discovery and keys (cached),
and the checks an ID token must pass (signature against the provider's keys, iss, aud, exp, nonce).

Authlib's ``CodeIDToken`` and joserfc do the checks; this module decides what to fetch, how long to
trust it, and turns every failure into a ``TravelIdRefused`` with an HTTP status and a code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from gateway.settings import Settings

log = logging.getLogger(__name__)

DISCOVERY_TTL_S = 3600.0
KEYS_MIN_REFRESH_S = 60.0
CLOCK_LEEWAY_S = 60
HTTP_TIMEOUT_S = 5.0
_ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


class TravelIdRefused(Exception):
    """An expected failure of the flow, answered as JSON with this status and code."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def provider_unavailable(message: str) -> TravelIdRefused:
    return TravelIdRefused(502, "PROVIDER_UNAVAILABLE", message)


def _id_token_invalid(message: str) -> TravelIdRefused:
    return TravelIdRefused(400, "ID_TOKEN_INVALID", message)


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """The Travel ID provider and our client there, as configured (``MILESGATE_TRAVEL_ID_*``)."""

    issuer: str
    client_id: str
    client_secret: str | None = field(repr=False)
    allow_http: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> ProviderConfig:
        issuer, client_id = settings.travel_id_issuer, settings.travel_id_client_id
        if not issuer or not client_id:
            raise TravelIdRefused(503, "TRAVEL_ID_NOT_CONFIGURED", "Travel ID sign-in is not configured.")
        secret = settings.travel_id_client_secret
        config = cls(
            issuer, client_id, secret.get_secret_value() if secret else None, settings.travel_id_allow_http
        )
        if not config.acceptable_url(issuer):
            log.error("travel id issuer refused: it must be an https URL", extra={"issuer": issuer})
            raise TravelIdRefused(503, "TRAVEL_ID_NOT_CONFIGURED", "Travel ID sign-in is not configured.")
        return config

    def acceptable_url(self, url: object) -> bool:
        """https only: codes and tokens never cross plain HTTP (http only if allowed, for loopback tests)."""
        if not isinstance(url, str):
            return False
        parts = urlsplit(url)
        return bool(parts.netloc) and (
            parts.scheme == "https" or (parts.scheme == "http" and self.allow_http)
        )

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


async def _get_json(url: str) -> dict[str, Any]:
    """One GET of a provider document; any transport failure or non-JSON answer is PROVIDER_UNAVAILABLE."""
    try:
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT_S) as http:
            response = await http.get(url, headers={"accept": "application/json"})
            response.raise_for_status()
            body = response.json()
    except (httpx2.HTTPError, ValueError) as exc:
        raise provider_unavailable(f"Travel ID could not be reached ({type(exc).__name__}).") from exc
    if not isinstance(body, dict):
        raise provider_unavailable("Travel ID answered with something other than a JSON object.")
    return body


def _checked_metadata(document: dict[str, Any], config: ProviderConfig) -> dict[str, Any]:
    """OpenID Discovery 4.3: the document names exactly the configured issuer; its endpoints are https."""
    if document.get("issuer") != config.issuer:
        raise provider_unavailable("Travel ID's discovery document names another issuer.")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not config.acceptable_url(document.get(name)):
            raise provider_unavailable(f"Travel ID's discovery document has no usable {name}.")
    return document


def _signing_algorithms(metadata: dict[str, Any]) -> list[str]:
    """The provider's advertised asymmetric algorithms: never "none", never HMAC with a shared secret."""
    advertised = metadata.get("id_token_signing_alg_values_supported")
    allowed = (
        [alg for alg in advertised if alg in _ASYMMETRIC_ALGORITHMS] if isinstance(advertised, list) else []
    )
    return allowed or ["RS256"]


def _claim_options(config: ProviderConfig, nonce: str) -> dict[str, Any]:
    return {
        "iss": {"essential": True, "value": config.issuer},
        "aud": {"essential": True, "value": config.client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "nonce": {"essential": True, "value": nonce},
    }


class ProviderDirectory:
    """Discovery documents and key sets per issuer, kept in this process for ``ttl_s``.

    Fetching them for every sign-in would add two round trips and make the provider's discovery
    endpoint part of every request's failure surface. A key set is fetched again early when an ID
    token names a key it does not hold (the provider rotated its keys), at most every ``min_refresh_s``.
    """

    def __init__(
        self,
        *,
        ttl_s: float = DISCOVERY_TTL_S,
        min_refresh_s: float = KEYS_MIN_REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._min_refresh_s = min_refresh_s
        self._clock = clock
        self._metadata: dict[str, tuple[float, dict[str, Any]]] = {}
        self._keys: dict[str, tuple[float, KeySet]] = {}

    async def metadata(self, config: ProviderConfig) -> dict[str, Any]:
        cached = self._metadata.get(config.issuer)
        if cached is not None and self._clock() - cached[0] < self._ttl_s:
            return cached[1]
        document = _checked_metadata(await _get_json(config.discovery_url), config)
        self._metadata[config.issuer] = (self._clock(), document)
        return document

    async def key_set(
        self, config: ProviderConfig, metadata: dict[str, Any], *, refresh: bool = False
    ) -> KeySet:
        cached = self._keys.get(config.issuer)
        if cached is not None:
            age = self._clock() - cached[0]
            if age < self._ttl_s and not (refresh and age >= self._min_refresh_s):
                return cached[1]
        document = await _get_json(metadata["jwks_uri"])
        try:
            keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise provider_unavailable("Travel ID publishes no usable signing keys.") from exc
        self._keys[config.issuer] = (self._clock(), keys)
        return keys

    async def _decode(self, config: ProviderConfig, metadata: dict[str, Any], raw: str) -> jwt.Token:
        """Check the signature; a key id we do not know yet fetches the key set again once."""
        algorithms = _signing_algorithms(metadata)
        for refresh in (False, True):
            keys = await self.key_set(config, metadata, refresh=refresh)
            try:
                return jwt.decode(raw, keys, algorithms=algorithms)
            except InvalidKeyIdError:
                continue
            except (JoseError, ValueError, TypeError) as exc:
                raise _id_token_invalid("The ID token's signature does not verify.") from exc
        raise _id_token_invalid("The ID token is signed with a key Travel ID does not publish.")

    async def verified_claims(
        self, config: ProviderConfig, metadata: dict[str, Any], token: dict[str, Any], *, nonce: str
    ) -> dict[str, Any]:
        """The ID token's claims once signature, issuer, audience, expiry and nonce all hold."""
        raw = token.get("id_token")
        if not isinstance(raw, str):
            raise _id_token_invalid("Travel ID returned no ID token.")
        decoded = await self._decode(config, metadata, raw)
        params = {"nonce": nonce, "client_id": config.client_id, "access_token": token.get("access_token")}
        claims = CodeIDToken(decoded.claims, decoded.header, _claim_options(config, nonce), params)
        try:
            claims.validate(leeway=CLOCK_LEEWAY_S)
        except JoseError as exc:
            raise _id_token_invalid(f"The ID token is not valid for us ({exc.description}).") from exc
        subject = claims.get("sub")
        if not isinstance(subject, str) or not 0 < len(subject) <= 255:
            raise _id_token_invalid("The ID token's subject is not usable.")
        return dict(claims)
