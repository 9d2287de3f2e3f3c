"""A member's lounge and Fast Lane visits: every check made with their cards, newest first, by keyset page.

The key is (``checked_at``, ``id``), both descending; the cursor is URL-safe base64 of
``lv1:<checked_at in µs since 1970 UTC>:<check id>``, opaque to clients. Checks recorded after a page was
read neither shift nor repeat the next one.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass

from tortoise.expressions import Q

from loyalty.errors import ValidationFailed
from loyalty.lounges.models import LoungeCheck

MAX_PAGE_SIZE = 100
_CURSOR_VERSION = "lv1"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


class VisitCursorInvalid(ValidationFailed):
    code = "CURSOR_INVALID"


class VisitPageSizeInvalid(ValidationFailed):
    code = "PAGE_SIZE_INVALID"


@dataclass(frozen=True, slots=True)
class VisitPage:
    checks: list[LoungeCheck]
    has_next_page: bool

    @property
    def end_cursor(self) -> str | None:
        return visit_cursor(self.checks[-1]) if self.checks else None


def visit_cursor(check: LoungeCheck) -> str:
    micros = (check.checked_at - _EPOCH) // _MICROSECOND
    raw = f"{_CURSOR_VERSION}:{micros}:{check.id}"
    return base64.urlsafe_b64encode(raw.encode("ascii")).decode("ascii")


def _decode(cursor: str) -> tuple[dt.datetime, int]:
    invalid = VisitCursorInvalid("The cursor is not one this list handed out.", field="after")
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (UnicodeError, binascii.Error, ValueError):
        raise invalid from None
    version, _, rest = raw.partition(":")
    micros, _, check_id = rest.partition(":")
    if version != _CURSOR_VERSION or not micros.isdigit() or not check_id.isdigit():
        raise invalid
    try:
        checked_at = _EPOCH + int(micros) * _MICROSECOND
    except OverflowError:
        raise invalid from None
    return checked_at, int(check_id)


async def lounge_visits(*, account_id: int, first: int, after: str | None) -> VisitPage:
    """The member's checks, newest first, ``first`` (1 to 100) after the ``after`` cursor: one query."""
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise VisitPageSizeInvalid(f"A page holds 1 to {MAX_PAGE_SIZE} visits.", field="first")
    checks = LoungeCheck.filter(account_id=account_id)
    if after is not None:
        checked_at, check_id = _decode(after)
        checks = checks.filter(Q(checked_at__lt=checked_at) | Q(checked_at=checked_at, id__lt=check_id))
    rows = await checks.order_by("-checked_at", "-id").limit(first + 1)
    return VisitPage(checks=list(rows[:first]), has_next_page=len(rows) > first)
