"""A member's lounge and Fast Lane visits: every check made with their cards, newest first, by keyset page
(``loyalty.paging``: the key is (``checked_at``, ``id``), both descending, so checks recorded after a page
was read neither shift nor repeat the next one)."""

from __future__ import annotations

from loyalty.lounges.models import LoungeCheck
from loyalty.paging import Page, PageRequest, newest_first


async def lounge_visits(*, account_id: int, request: PageRequest) -> Page[LoungeCheck]:
    """The member's checks, newest first, one page (``CURSOR_INVALID``, ``PAGE_SIZE_INVALID``): one query."""
    return await newest_first(LoungeCheck.filter(account_id=account_id), request, time_field="checked_at")
