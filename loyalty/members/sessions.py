"""Who a request acts for, as the programme sees it (tokens themselves are the gateway's business)."""

from __future__ import annotations

from dataclasses import dataclass

from loyalty.members.models import SessionLevel


@dataclass(frozen=True, slots=True)
class Principal:
    account_id: int
    level: SessionLevel
    token_id: str
    generation: int
    """The member's session generation the token was issued at: lower than the current one, it is revoked."""


@dataclass(frozen=True, slots=True)
class Challenge:
    """A sign-in that passed the first factor and waits for the second."""

    account_id: int
    method: str
    platform: str
    challenge_id: str
    expires_at: int
