"""Sign-in resolvers: credentials → (second factor) → session; refresh and sign out.

Refusals are raised as domain errors (``AccountLocked``, ``InvalidCredentials``, ``RefreshRefused``,
``ChallengeRefused``…); the schema turns each into its typed result.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from loyalty.auth import devices, sessions, sms, totp
from loyalty.auth.credentials import SignInMethod, check_credentials
from loyalty.auth.factors import SecondFactor, second_factors
from loyalty.auth.signin import Platform
from loyalty.auth.totp import ChallengeRefused
from loyalty.members import models
from loyalty.members.models import SessionLevel
from loyalty.members.service import get_member
from loyalty.members.sessions import Challenge
from loyalty.rules import ProgrammeRules
from resolvers.sign_in import (
    SecondFactorNeeded,
    SessionRevocations,
    SessionTokens,
    TokenIssuer,
    finish_sign_in,
    issue_session,
)


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in member with their tokens and the session level they carry."""

    member: models.Member
    tokens: SessionTokens
    level: SessionLevel
    trusted_device_token: str | None = None
    """Given once, when the sign-in trusted its device: the device sends it with later sign-ins."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _session(
    tokens: SessionTokens,
    level: SessionLevel = SessionLevel.AUTHENTICATED,
    device_token: str | None = None,
    member: models.Member | None = None,
) -> Session:
    """``member``: the row the caller holds already (sign-in read it to check the secret), else it is read."""
    if member is None:
        member = await get_member(account_id=tokens.account_id)
    return Session(member=member, tokens=tokens, level=level, trusted_device_token=device_token)


async def sign_in(
    *,
    tokens: TokenIssuer,
    rules: ProgrammeRules,
    method: SignInMethod,
    identifier: str,
    secret: str,
    platform: Platform,
    trusted_device_token: str | None = None,
) -> Session | SecondFactorNeeded:
    member = await check_credentials(
        method=method, identifier=identifier, secret=secret, rules=rules, now=_now()
    )
    outcome = await finish_sign_in(
        tokens=tokens,
        rules=rules,
        account_id=member.id,
        method=method.value,
        platform=platform,
        now=_now(),
        trusted_device_hash=devices.device_token_hash(trusted_device_token) if trusted_device_token else None,
    )
    if isinstance(outcome, SessionTokens):
        # The row read (and locked) to check the secret: starting the session changes nothing in it.
        return await _session(outcome, member=member)
    return outcome


async def complete_sign_in(
    *,
    tokens: TokenIssuer,
    rules: ProgrammeRules,
    totp_key: bytes,
    challenge: str,
    code: str,
    method: SecondFactor | None = None,
    trust_device: bool = False,
    device_name: str | None = None,
) -> Session:
    """The challenge is claimed in the transaction that accepts the code: a completed one (CHALLENGE_USED)
    spends no recovery code, time step or SMS code.

    ``method`` None: the app when it is on, else SMS. ``trust_device``: the session comes with a trusted
    device token, and sign-ins on that device skip the second factor for the configured days."""
    pending = _pending(tokens, challenge)
    name = devices.clean_device_name(device_name) if trust_device else ""
    if method is None:
        factors = await second_factors(account_id=pending.account_id)
        method = SecondFactor.SMS if factors == (SecondFactor.SMS,) else SecondFactor.APP
    if method is SecondFactor.SMS:
        await sms.complete_challenge(
            challenge=pending, code=code, key=totp_key, rules=rules.sms_two_factor, now=_now()
        )
    else:
        await totp.complete_challenge(
            challenge=pending, code=code, key=totp_key, rules=rules.two_factor, now=_now()
        )
    session = await issue_session(
        tokens=tokens,
        rules=rules,
        account_id=pending.account_id,
        method=pending.method,
        platform=Platform(pending.platform),
        now=_now(),
    )
    device_token = None
    if trust_device:
        issued = await devices.trust_device(
            account_id=pending.account_id, name=name, rules=rules.trusted_devices, now=_now()
        )
        device_token = issued.token
    return await _session(session, device_token=device_token)


async def send_sign_in_sms(
    *, tokens: TokenIssuer, rules: ProgrammeRules, key: bytes, challenge: str
) -> sms.SmsSent:
    """Send the SMS code of a sign-in challenge (the member has SMS codes on)."""
    return await sms.send_sign_in_code(
        challenge=_pending(tokens, challenge), key=key, rules=rules.sms_two_factor, now=_now()
    )


def _pending(tokens: TokenIssuer, challenge: str) -> Challenge:
    pending = tokens.verify_challenge(challenge)
    if pending is None:
        raise ChallengeRefused("The sign-in has expired: start again.", code="CHALLENGE_INVALID")
    return pending


async def refresh_session(
    *, tokens: TokenIssuer, revocations: SessionRevocations, rules: ProgrammeRules, refresh_token: str
) -> Session:
    """A reused refresh token ends every session of the member, access tokens included."""
    try:
        issued = await sessions.rotate(token=refresh_token, rules=rules.sign_in, now=_now())
    except sessions.RefreshRefused as refused:
        if refused.account_id is not None:
            await revocations.revoked(refused.account_id)
        raise
    access = tokens.issue(
        account_id=issued.account_id, level=SessionLevel.IDENTIFIED, generation=issued.generation
    )
    session = SessionTokens(issued.account_id, access, issued.token, tokens.ttl_s, 0)
    return await _session(session, SessionLevel.IDENTIFIED)


async def sign_out(*, refresh_token: str) -> int:
    """How many sessions ended: the family of this refresh token."""
    return await sessions.revoke_family_of(token=refresh_token, now=_now())


async def sign_out_everywhere(*, account_id: int, revocations: SessionRevocations) -> int:
    """Allowed at IDENTIFIED: a member who fears a stolen session must be able to end it at once,
    access tokens included."""
    ended = await sessions.revoke_all(account_id=account_id, now=_now())
    await revocations.revoked(account_id)
    return ended
