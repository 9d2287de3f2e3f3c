"""Pure date rules of miles expiry (DOMAIN.md 5): quarter ends, expiry dates, protection. No I/O."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

VALIDITY_MONTHS = 36


def quarter_end(day: dt.date) -> dt.date:
    """The last day of the calendar quarter ``day`` falls in (31.03, 30.06, 30.09 or 31.12)."""
    last_month = ((day.month - 1) // 3) * 3 + 3
    return dt.date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])


def next_quarter_end(day: dt.date) -> dt.date:
    """The end of the quarter after the one ``day`` falls in."""
    return quarter_end(quarter_end(day) + dt.timedelta(days=1))


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole months; a day past the target month's end becomes its last day (29.02 → 28.02)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def expiry_date(activity_date: dt.date, months: int = VALIDITY_MONTHS) -> dt.date:
    """Miles are valid ``months`` from the activity date and expire at the end of that quarter.

    12.12.2016 ⇒ 31.12.2019; 10.02.2025 ⇒ 31.03.2028.
    """
    return quarter_end(add_months(activity_date, months))


@dataclass(frozen=True, slots=True)
class ProtectionPeriod:
    """A period without expiry: from ``starts_on``, up to and including ``ends_on`` (None: still open)."""

    starts_on: dt.date
    ends_on: dt.date | None


def is_protected(expires_on: dt.date, as_of: dt.date, periods: Iterable[ProtectionPeriod]) -> bool:
    """A lot due by ``as_of`` is kept when a protection already held on its expiry date and still holds.

    Protection that starts after a lot's expiry date does not save it (expired miles are never
    reactivated); protection that has ended lets expiry resume.
    """
    return any(
        period.starts_on <= expires_on and (period.ends_on is None or period.ends_on >= as_of)
        for period in periods
    )


def protected_until(day: dt.date, periods: Iterable[ProtectionPeriod]) -> dt.date | None:
    """The last protected day of the period holding on ``day``; ``dt.date.max`` when it is open-ended."""
    holding = [
        period.ends_on or dt.date.max
        for period in periods
        if period.starts_on <= day and (period.ends_on is None or period.ends_on >= day)
    ]
    return max(holding) if holding else None
