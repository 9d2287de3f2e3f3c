"""Refresh tokens: stored as hashes, rotated on every use, and a reused one revokes its whole family.

A family starts at a sign-in and ends at sign-out (or when reuse shows that a token was stolen).
``authenticated_at`` travels with the family: a refreshed session is only IDENTIFIED, and the
gateway decides from it whether the AUTHENTICATED window is still open.

The member's session generation ends access tokens too: every event that ends all of a member's
sessions (sign-out everywhere, a reused refresh token, a stolen card, a PIN or password reset, erasure)
raises it in its own transaction. An access token carries the generation it was issued at, and the
gateway refuses one whose generation is lower than the member's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from loyalty.auth.devices import revoke_all_devices
from loyalty.auth.models import RefreshToken
from loyalty.errors import DomainError
from loyalty.members.models import Member
from loyalty.rules import SignInRules

TOKEN_BYTES = 32


class RefreshRefused(DomainError):
    code = "REFRESH_TOKEN_INVALID"

    account_id: int | None = None
    """Set when a reused token revoked the member's sessions: whose they were."""


@dataclass(frozen=True, slots=True)
class IssuedRefresh:
    account_id: int
    token: str
    family: str
    authenticated_at: dt.datetime
    expires_at: dt.datetime
    generation: int
    """The member's session generation the access tokens of this session carry."""


def token_hash(raw: str) -> str:
    """Refresh tokens are 256 random bits: a plain SHA-256 is enough to make the stored value useless."""
    return hashlib.sha256(raw.encode()).hexdigest()


async def _issue(
    *,
    account_id: int,
    family: str,
    authenticated_at: dt.datetime,
    platform: str,
    rules: SignInRules,
    now: dt.datetime,
) -> IssuedRefresh:
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = now + dt.timedelta(days=rules.refresh_token_days)
    await RefreshToken.create(
        account_id=account_id,
        family=family,
        token_hash=token_hash(raw),
        level_granted_at=authenticated_at,
        client_platform=platform,
        expires_at=expires_at,
    )
    generation = await current_generation(account_id=account_id)
    return IssuedRefresh(account_id, raw, family, authenticated_at, expires_at, generation or 0)


async def start_family(
    *, account_id: int, platform: str, rules: SignInRules, now: dt.datetime
) -> IssuedRefresh:
    """A new session after fresh credentials (and the second factor, when enabled)."""
    return await _issue(
        account_id=account_id,
        family=secrets.token_hex(16),
        authenticated_at=now,
        platform=platform,
        rules=rules,
        now=now,
    )


async def rotate(*, token: str, rules: SignInRules, now: dt.datetime) -> IssuedRefresh:
    """Trade a refresh token for the next one of its family; reuse of a spent one revokes the family
    and raises the member's session generation, so their access tokens end too.

    Locks the member's row before the token's, the order every revocation takes, so a reuse and a
    parallel sign-out everywhere queue instead of deadlocking.
    """
    found = await RefreshToken.get_or_none(token_hash=token_hash(token)).only("id", "account_id")
    if found is None:
        raise RefreshRefused("This session has ended: sign in again.")
    reused_family = ""
    async with in_transaction():
        await Member.filter(id=found.account_id).select_for_update(no_key=True).only("id").first()
        row = await RefreshToken.filter(id=found.id).select_for_update().first()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise RefreshRefused("This session has ended: sign in again.")
        if row.used_at is not None:
            # Somebody else holds a token of this family: end it, and every access token of the member.
            reused_family = row.family
            await _raise_generation(row.account_id)
            await RefreshToken.filter(family=row.family, revoked_at=None).update(revoked_at=now)
        else:
            row.used_at = now
            await row.save(update_fields=["used_at"])
            return await _issue(
                account_id=row.account_id,
                family=row.family,
                authenticated_at=row.level_granted_at,
                platform=row.client_platform,
                rules=rules,
                now=now,
            )
    # Raised after the commit: the revocation stays.
    refused = RefreshRefused(
        f"This refresh token was used before; every session of family {reused_family[:6]}… is revoked.",
        code="REFRESH_TOKEN_REUSED",
    )
    refused.account_id = found.account_id
    raise refused


async def revoke_family_of(*, token: str, now: dt.datetime) -> int:
    """Sign out: end the session this refresh token belongs to."""
    row = await RefreshToken.get_or_none(token_hash=token_hash(token))
    if row is None:
        return 0
    return await RefreshToken.filter(family=row.family, revoked_at=None).update(revoked_at=now)


async def revoke_all(*, account_id: int, now: dt.datetime) -> int:
    """Sign out everywhere: every refresh token and every access token of the member stops working, and
    no device stays trusted (the next sign-in asks for the second factor again).

    One transaction (or part of the caller's): the refresh tokens and trusted devices are revoked and the
    session generation raised together. Returns how many refresh tokens were revoked.
    """
    async with in_transaction():
        await _raise_generation(account_id)  # the member's row first, as ``rotate`` locks it
        ended = await RefreshToken.filter(account_id=account_id, revoked_at=None).update(revoked_at=now)
        await revoke_all_devices(account_id=account_id, now=now)
    return int(ended)


async def current_generation(*, account_id: int) -> int | None:
    """The member's session generation; None for no such member (no token of theirs is valid)."""
    member = await Member.get_or_none(id=account_id).only("id", "session_generation")
    return None if member is None else member.session_generation


async def _raise_generation(account_id: int) -> None:
    await Member.filter(id=account_id).update(session_generation=F("session_generation") + 1)
