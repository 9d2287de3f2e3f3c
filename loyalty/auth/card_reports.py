"""A lost or stolen service card reported: the card blocked and a new number issued (``members.cards``),
and for a stolen one every session of the member ended (``auth.sessions``), in one transaction. Here, above
both, so that cards know nothing of sessions."""

from __future__ import annotations

import datetime as dt

from tortoise.transactions import in_transaction

from loyalty.auth.sessions import revoke_all
from loyalty.members.cards import CardBlockReason, block_card
from loyalty.members.models import ServiceCard
from loyalty.rules import ProgrammeRules


async def report_card(
    *, account_id: int, reason: CardBlockReason, rules: ProgrammeRules, now: dt.datetime
) -> ServiceCard:
    """The new active card. A STOLEN report also ends every session (refresh tokens and, through the
    session generation, access tokens), since whoever holds the card may have signed in with it; the
    member's row is locked first, as every revocation locks it."""
    async with in_transaction():
        card = await block_card(account_id=account_id, reason=reason, rules=rules, now=now)
        if reason == CardBlockReason.STOLEN:
            await revoke_all(account_id=account_id, now=now)
    return card
