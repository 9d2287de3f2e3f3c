"""Sign-in for routes outside GraphQL (Travel ID callback): the same outcome, as JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request

from gateway.services import services
from loyalty.auth.signin import Platform
from resolvers.sign_in import SessionTokens, finish_sign_in

DEFAULT_PLATFORM = Platform.WEB


def platform_of(raw: str | None) -> Platform:
    try:
        return Platform((raw or DEFAULT_PLATFORM.value).upper())
    except ValueError:
        return DEFAULT_PLATFORM


async def complete_sign_in(
    request: Request,
    *,
    account_id: int,
    method: str,
    platform: str | None,
    trusted_device_hash: str | None = None,
) -> dict[str, Any]:
    """Second factor if enabled and this is not a device the member trusts (known by its token's hash),
    else a session: ``{"status": "SIGNED_IN" | "TWO_FACTOR_REQUIRED", …}``."""
    app_services = services(request)
    outcome = await finish_sign_in(
        tokens=app_services.tokens,
        rules=app_services.rules,
        account_id=account_id,
        method=method,
        platform=platform_of(platform),
        now=dt.datetime.now(dt.UTC),
        trusted_device_hash=trusted_device_hash,
    )
    if isinstance(outcome, SessionTokens):
        return {
            "status": "SIGNED_IN",
            "accessToken": outcome.access_token,
            "refreshToken": outcome.refresh_token,
            "expiresIn": outcome.expires_in,
            "bonusMilesCredited": outcome.bonus_miles,
        }
    return {
        "status": "TWO_FACTOR_REQUIRED",
        "challenge": outcome.challenge,
        "expiresIn": outcome.expires_in,
        "methods": [method.value for method in outcome.methods],
    }
