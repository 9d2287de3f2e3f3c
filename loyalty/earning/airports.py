"""Airports from a maintained database package (``airportsdata``) and great-circle distances.

The database is read once per process. Distances are great-circle distances in statute miles, the
unit of the earning charts, rounded to whole miles (half up).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

import airportsdata
from haversine import Unit, haversine

from loyalty.earning.errors import UnknownAirport

_IATA_CODE = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class Airport:
    code: str
    name: str
    city: str
    country: str
    """ISO 3166-1 alpha-2 (XK for Kosovo)."""
    latitude: float
    longitude: float


class AirportDirectory:
    """Look airports up by IATA code; an unknown code is an :class:`UnknownAirport` naming the field."""

    def __init__(self, airports: dict[str, Airport]) -> None:
        self._airports = airports

    def get(self, code: str, *, field: str) -> Airport:
        normalised = code.strip().upper()
        airport = self._airports.get(normalised) if _IATA_CODE.match(normalised) else None
        if airport is None:
            raise UnknownAirport(code, field=field)
        return airport

    def countries(self) -> frozenset[str]:
        return frozenset(airport.country for airport in self._airports.values())

    def __len__(self) -> int:
        return len(self._airports)


def great_circle_miles(origin: Airport, destination: Airport) -> int:
    """The great-circle distance between two airports in statute miles, rounded half up."""
    miles = haversine(
        (origin.latitude, origin.longitude), (destination.latitude, destination.longitude), unit=Unit.MILES
    )
    return int(Decimal(repr(miles)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@cache
def airport_directory() -> AirportDirectory:
    """Every airport with an IATA code in the installed ``airportsdata`` release."""
    return AirportDirectory(
        {
            code: Airport(
                code=code,
                name=row["name"],
                city=row["city"],
                country=row["country"],
                latitude=float(row["lat"]),
                longitude=float(row["lon"]),
            )
            for code, row in airportsdata.load("IATA").items()
        }
    )
