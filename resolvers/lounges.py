"""The member's lounge and Fast Lane visits: one keyset page (``CURSOR_INVALID``, ``PAGE_SIZE_INVALID``)."""

from __future__ import annotations

from loyalty.lounges.models import LoungeCheck
from loyalty.lounges.visits import lounge_visits
from loyalty.paging import Page, PageRequest


async def member_lounge_visit_page(*, account_id: int, request: PageRequest) -> Page[LoungeCheck]:
    return await lounge_visits(account_id=account_id, request=request)
