"""The flight date of a boarding pass: the barcode holds a day of the year, no year (DOMAIN.md 6.1).

The year is inferred: the latest date with that day of the year on or before the scan date plus one
day (a pass may be scanned the evening before a flight past midnight elsewhere). A date further back
than the configured maximum age is refused.
"""

from __future__ import annotations

import datetime as dt
from calendar import isleap

from loyalty.errors import ValidationFailed
from loyalty.ledger.quarters import add_months

SCAN_TOLERANCE = dt.timedelta(days=1)


class BoardingPassTooOld(ValidationFailed):
    code = "BOARDING_PASS_TOO_OLD"


def _on_day(year: int, day_of_year: int) -> dt.date | None:
    if day_of_year > (366 if isleap(year) else 365):
        return None
    return dt.date(year, 1, 1) + dt.timedelta(days=day_of_year - 1)


def infer_flight_date(day_of_year: int, *, scanned_on: dt.date) -> dt.date:
    """The latest date with this day of the year on or before ``scanned_on`` + 1 day."""
    if not 1 <= day_of_year <= 366:
        raise ValueError(f"day of year {day_of_year} is outside 1-366")
    latest = scanned_on + SCAN_TOLERANCE
    year = latest.year
    while True:  # day 366 exists at least every 8 years
        candidate = _on_day(year, day_of_year)
        if candidate is not None and candidate <= latest:
            return candidate
        year -= 1


def recent_flight_date(day_of_year: int, *, scanned_on: dt.date, max_age_months: int, field: str) -> dt.date:
    """The inferred flight date, or BoardingPassTooOld when it lies more than ``max_age_months`` back."""
    flown = infer_flight_date(day_of_year, scanned_on=scanned_on)
    if flown < add_months(scanned_on, -max_age_months):
        raise BoardingPassTooOld(
            f"The flight on day {day_of_year:03d} was on {flown.isoformat()}, more than {max_age_months} months ago.",
            field=field,
        )
    return flown
