"""Sign-in resolvers: credentials → (second factor) → session; refresh, sign out, step-up checks."""

from __future__ import annotations

import datetime as dt

from loyalty.auth import sessions, totp
from loyalty.auth.credentials import AccountLocked as Locked
from loyalty.auth.credentials import check_credentials
from loyalty.auth.signin import Platform
from loyalty.errors import DomainError, InvalidCredentials
from loyalty.members.models import SessionLevel
from loyalty.members.service import get_member
from loyalty.members.sessions import Principal
from resolvers.sign_in import SessionTokens, claim_challenge, finish_sign_in, issue_session
from schema.auth import (
    AccountLocked,
    CompleteSignInResult,
    RefreshSessionResult,
    SessionEnded,
    SignedIn,
    SignedOut,
    SignInInput,
    SignInResult,
    StepUpRequired,
    TwoFactorRequired,
    WrongCredentials,
)
from schema.context import Info
from schema.errors import InputError, NotAuthenticated
from schema.members import Member


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _signed_in(session: SessionTokens, level: SessionLevel = SessionLevel.AUTHENTICATED) -> SignedIn:
    member = await get_member(account_id=session.account_id)
    return SignedIn(
        member=Member.from_model(member),
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_in=session.expires_in,
        session_level=level,
        bonus_miles_credited=session.bonus_miles,
    )


def second_factor_refusal(error: DomainError) -> AccountLocked | WrongCredentials | InputError:
    """A refused code: locked (with when it unlocks), wrong or replayed, or not usable at all."""
    if isinstance(error, totp.TwoFactorLocked):
        return AccountLocked(code=error.code, message=error.message, unlocks_at=error.unlocks_at)
    if isinstance(error, totp.TwoFactorInvalid | totp.TwoFactorCodeReused):
        return WrongCredentials(code=error.code, message=error.message)
    return InputError.from_domain(error)


async def sign_in(info: Info, data: SignInInput) -> SignInResult:
    context = info.context
    try:
        member = await check_credentials(
            method=data.method,
            identifier=data.identifier,
            secret=data.secret,
            rules=context.rules,
            now=_now(),
        )
    except Locked as locked:
        return AccountLocked(code=locked.code, message=locked.message, unlocks_at=locked.unlocks_at)
    except InvalidCredentials as wrong:
        return WrongCredentials(code=wrong.code, message=wrong.message)
    except DomainError as error:
        return InputError.from_domain(error)
    outcome = await finish_sign_in(
        tokens=context.tokens,
        rules=context.rules,
        account_id=member.id,
        method=data.method.value,
        platform=data.platform,
        now=_now(),
    )
    if isinstance(outcome, SessionTokens):
        return await _signed_in(outcome)
    return TwoFactorRequired(challenge=outcome.challenge, expires_in=outcome.expires_in)


async def complete_sign_in(info: Info, challenge: str, code: str) -> CompleteSignInResult:
    context = info.context
    pending = context.tokens.verify_challenge(challenge)
    if pending is None:
        return SessionEnded(code="CHALLENGE_INVALID", message="The sign-in has expired: start again.")
    try:
        await totp.verify_second_factor(
            account_id=pending.account_id,
            code=code,
            key=context.totp_key,
            rules=context.rules.two_factor,
            now=_now(),
        )
    except DomainError as error:
        return second_factor_refusal(error)
    if not await claim_challenge(
        context.backends.rate_limiter, pending.challenge_id, context.tokens.challenge_ttl_s
    ):
        return SessionEnded(code="CHALLENGE_USED", message="This sign-in was completed already.")
    session = await issue_session(
        tokens=context.tokens,
        rules=context.rules,
        account_id=pending.account_id,
        method=pending.method,
        platform=Platform(pending.platform),
        now=_now(),
    )
    return await _signed_in(session)


async def refresh_session(info: Info, refresh_token: str) -> RefreshSessionResult:
    context = info.context
    try:
        issued = await sessions.rotate(token=refresh_token, rules=context.rules.sign_in, now=_now())
    except sessions.RefreshRefused as refused:
        return SessionEnded(code=refused.code, message=refused.message)
    access = context.tokens.issue(account_id=issued.account_id, level=SessionLevel.IDENTIFIED)
    session = SessionTokens(issued.account_id, access, issued.token, context.tokens.ttl_s, 0)
    return await _signed_in(session, SessionLevel.IDENTIFIED)


async def sign_out(info: Info, refresh_token: str) -> SignedOut:
    return SignedOut(sessions_ended=await sessions.revoke_family_of(token=refresh_token, now=_now()))


def require_member(info: Info) -> Principal:
    principal = info.context.principal
    if principal is None:
        raise NotAuthenticated()
    return principal


def step_up_needed(info: Info) -> StepUpRequired | None:
    """None when the session is AUTHENTICATED; else the typed answer that asks for a fresh sign-in."""
    if require_member(info).level is SessionLevel.AUTHENTICATED:
        return None
    return StepUpRequired(
        message="Sign in again (with your second factor) to do this.",
        required_level=SessionLevel.AUTHENTICATED,
    )


async def sign_out_everywhere(info: Info) -> SignedOut:
    """Allowed at IDENTIFIED: a member who fears a stolen session must be able to end it at once."""
    principal = require_member(info)
    return SignedOut(sessions_ended=await sessions.revoke_all(account_id=principal.account_id, now=_now()))
