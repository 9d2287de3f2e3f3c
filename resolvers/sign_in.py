"""The one way a sign-in ends, whatever proved the first factor (PIN, password, Travel ID):
a second-factor challenge when the app or SMS factor is on (unless the device is trusted), else an
AUTHENTICATED session with tokens.

Used by the GraphQL resolvers and by the Travel ID callback route, so both give the same outcome.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from loyalty.auth.devices import is_trusted_by_hash
from loyalty.auth.factors import SecondFactor, second_factors
from loyalty.auth.signin import Platform, grant_session
from loyalty.members.models import SessionLevel
from loyalty.members.sessions import Challenge
from loyalty.rules import ProgrammeRules


class SessionRevocations(Protocol):
    """What resolvers need of the gateway's session check (``gateway.session_generations``)."""

    async def revoked(self, account_id: int) -> None:
        """Called after a revocation committed, so every gateway process refuses the old tokens soon."""
        ...


class TokenIssuer(Protocol):
    """What resolvers need of the gateway's token service (``gateway.tokens.TokenService``)."""

    ttl_s: int
    challenge_ttl_s: int

    def issue(
        self, *, account_id: int, level: SessionLevel, generation: int, auth_time: int | None = None
    ) -> str: ...

    def issue_challenge(self, *, account_id: int, method: str, platform: str) -> str: ...

    def verify_challenge(self, token: str) -> Challenge | None: ...


@dataclass(frozen=True, slots=True)
class SessionTokens:
    account_id: int
    access_token: str
    refresh_token: str
    expires_in: int
    bonus_miles: int


@dataclass(frozen=True, slots=True)
class SecondFactorNeeded:
    challenge: str
    expires_in: int
    methods: tuple[SecondFactor, ...] = (SecondFactor.APP,)
    """The factors the member has on: any one of them completes the sign-in."""


SignInOutcome = SessionTokens | SecondFactorNeeded


async def issue_session(
    *,
    tokens: TokenIssuer,
    rules: ProgrammeRules,
    account_id: int,
    method: str,
    platform: Platform,
    now: dt.datetime,
) -> SessionTokens:
    granted = await grant_session(
        account_id=account_id, method=method, platform=platform, rules=rules, now=now
    )
    access = tokens.issue(
        account_id=account_id,
        level=SessionLevel.AUTHENTICATED,
        generation=granted.refresh.generation,
        auth_time=int(granted.refresh.authenticated_at.timestamp()),
    )
    return SessionTokens(
        account_id=account_id,
        access_token=access,
        refresh_token=granted.refresh.token,
        expires_in=tokens.ttl_s,
        bonus_miles=granted.bonus_miles,
    )


async def finish_sign_in(
    *,
    tokens: TokenIssuer,
    rules: ProgrammeRules,
    account_id: int,
    method: str,
    platform: Platform,
    now: dt.datetime,
    trusted_device_hash: str | None = None,
) -> SignInOutcome:
    """After the first factor: ask for the second one if the member has one on and this is not a device
    they trust (known by its token's hash, ``device_token_hash``), else start the session."""
    methods = await second_factors(account_id=account_id)
    if methods and not await is_trusted_by_hash(
        account_id=account_id, token_hash=trusted_device_hash, now=now
    ):
        challenge = tokens.issue_challenge(account_id=account_id, method=method, platform=platform.value)
        return SecondFactorNeeded(challenge=challenge, expires_in=tokens.challenge_ttl_s, methods=methods)
    return await issue_session(
        tokens=tokens, rules=rules, account_id=account_id, method=method, platform=platform, now=now
    )
