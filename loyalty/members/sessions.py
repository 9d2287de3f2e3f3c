"""Who a request acts for, as the programme sees it (tokens themselves are the gateway's business)."""

from __future__ import annotations

from dataclasses import dataclass

from loyalty.members.models import SessionLevel


@dataclass(frozen=True, slots=True)
class Principal:
    account_id: int
    level: SessionLevel
    token_id: str
