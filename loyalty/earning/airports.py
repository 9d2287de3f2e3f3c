"""Airports from a maintained database package (``airportsdata``) and the distances between them.

The database is read once per process. Distances are the shortest path on the WGS-84 ellipsoid (the
geodesic, computed by GeographicLib, as partner airlines and gcmap compute them; a sphere is about
0.3 % short on transatlantic routes), in statute miles, the unit of the earning charts, rounded to
whole miles (half up).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

import airportsdata
from geographiclib.geodesic import Geodesic

from loyalty.earning.errors import UnknownAirport

_IATA_CODE = re.compile(r"^[A-Z]{3}$")
METRES_PER_STATUTE_MILE = Decimal("1609.344")


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


def geodesic_metres(origin: Airport, destination: Airport) -> float:
    """The WGS-84 geodesic distance between two airports in metres (GeographicLib's inverse problem)."""
    solution = Geodesic.WGS84.Inverse(
        origin.latitude, origin.longitude, destination.latitude, destination.longitude, Geodesic.DISTANCE
    )
    return float(solution["s12"])


def great_circle_miles(origin: Airport, destination: Airport) -> int:
    """The flight distance between two airports: the WGS-84 geodesic in statute miles, rounded half up."""
    miles = Decimal(repr(geodesic_metres(origin, destination))) / METRES_PER_STATUTE_MILE
    return int(miles.quantize(Decimal(1), rounding=ROUND_HALF_UP))


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
