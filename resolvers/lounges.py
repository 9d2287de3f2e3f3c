"""The member's lounge and Fast Lane visits: one keyset page (``CURSOR_INVALID``, ``PAGE_SIZE_INVALID``)."""

from __future__ import annotations

from loyalty.lounges.visits import VisitPage, lounge_visits


async def member_lounge_visits(*, account_id: int, first: int, after: str | None) -> VisitPage:
    return await lounge_visits(account_id=account_id, first=first, after=after)
