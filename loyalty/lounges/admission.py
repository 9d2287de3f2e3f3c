"""Who may enter a lounge or the Fast Lane (DOMAIN.md 10): the admission table as data, and the pure rule.

The table (``admission.toml``, or the file ``MILESGATE_LOUNGE_ADMISSION_FILE`` names) lists per facility
the grounds that admit, in order: a status tier, a travel class, or (Fast Lane) a travel class with a
fare family at airports of some countries; each with the flights the boarding pass must be for. The rule
takes what the check found out (tier held today, the pass's cabin, carriers, fare family, the airport's
country) and answers with the first ground that holds, or the most telling reason none does.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from loyalty.members.models import Tier

DEFAULT_ADMISSION_FILE = Path(__file__).with_name("admission.toml")
ADMISSION_FILE_ENV = "MILESGATE_LOUNGE_ADMISSION_FILE"


class Facility(StrEnum):
    """Where the check happens: a lounge of one kind, or the security Fast Lane."""

    FIRST_CLASS_LOUNGE = "FIRST_CLASS_LOUNGE"
    FIRST_CLASS_TERMINAL = "FIRST_CLASS_TERMINAL"
    SENATOR_LOUNGE = "SENATOR_LOUNGE"
    BUSINESS_LOUNGE = "BUSINESS_LOUNGE"
    FAST_LANE = "FAST_LANE"


class FlightScope(StrEnum):
    ANY = "ANY"
    ELIGIBLE = "ELIGIBLE"
    STAR = "STAR"
    LH_GROUP = "LH_GROUP"


class Refusal(StrEnum):
    """Why a check refused; each one is what the partner's staff and the member are told."""

    CARD_NOT_FOUND = "CARD_NOT_FOUND"
    CARD_BLOCKED = "CARD_BLOCKED"
    BOARDING_PASS_INVALID = "BOARDING_PASS_INVALID"  # noqa: S105 - a reason, not a password
    NAME_MISMATCH = "NAME_MISMATCH"
    NOT_DEPARTING_HERE = "NOT_DEPARTING_HERE"
    WRONG_DAY = "WRONG_DAY"
    CARRIER_NOT_ELIGIBLE = "CARRIER_NOT_ELIGIBLE"
    BASIC_FARE = "BASIC_FARE"
    NO_PRIVILEGE = "NO_PRIVILEGE"


REFUSAL_MESSAGES: dict[Refusal, str] = {
    Refusal.CARD_NOT_FOUND: "No member has this service card number.",
    Refusal.CARD_BLOCKED: "This service card number is blocked (reported lost or stolen).",
    Refusal.BOARDING_PASS_INVALID: "The boarding pass cannot be read.",
    Refusal.NAME_MISMATCH: "The boarding pass is not in the card holder's name.",
    Refusal.NOT_DEPARTING_HERE: "The boarding pass has no flight departing from this airport.",
    Refusal.WRONG_DAY: "The boarding pass is not for a flight today.",
    Refusal.CARRIER_NOT_ELIGIBLE: "The privilege needs a flight of a Lufthansa Group or Star Alliance airline.",
    Refusal.BASIC_FARE: "Status holders get no lounge on the Eurowings / Discover basic fare.",
    Refusal.NO_PRIVILEGE: "Neither the status nor the travel class gives access here.",
}


@dataclass(frozen=True, slots=True)
class Ground:
    """One line of the admission table: what admits, on which flights."""

    flights: FlightScope
    tier: Tier | None = None
    cabin: str | None = None
    fare_family: str | None = None
    countries: frozenset[str] | None = None
    not_on_basic_fare: bool = False

    @property
    def name(self) -> str:
        """``STATUS_HON``, ``CABIN_FIRST`` or ``FARE_ECONOMY_FLEX``: what the check records as its ground."""
        if self.tier is not None:
            return f"STATUS_{self.tier.value}"
        if self.fare_family is not None:
            return f"FARE_{self.cabin}_{self.fare_family}"
        return f"CABIN_{self.cabin}"


@dataclass(frozen=True, slots=True)
class AdmissionTable:
    version: str
    day_tolerance: int
    lufthansa_group: frozenset[str]
    star_alliance: frozenset[str]
    basic_fare_carriers: frozenset[str]
    basic_fare_families: frozenset[str]
    facilities: dict[Facility, tuple[Ground, ...]]

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> AdmissionTable:
        carriers = data["carriers"]
        facilities = {
            Facility(name): tuple(_ground(row) for row in rows) for name, rows in data["facilities"].items()
        }
        missing = set(Facility) - facilities.keys()
        if missing:
            raise ValueError(f"the admission table has no rows for {sorted(missing)}")
        return cls(
            version=str(data["version"]),
            day_tolerance=int(data["day_tolerance"]),
            lufthansa_group=_codes(carriers["lufthansa_group"]),
            star_alliance=_codes(carriers["star_alliance"]),
            basic_fare_carriers=_codes(carriers["basic_fare_carriers"]),
            basic_fare_families=_codes(carriers["basic_fare_families"]),
            facilities=facilities,
        )

    def flies_within(self, scope: FlightScope, carriers: Iterable[str]) -> bool:
        """Whether a flight operated or marketed by ``carriers`` is one the scope admits."""
        codes = {code.upper() for code in carriers if code}
        if scope is FlightScope.ANY:
            return True
        if scope is FlightScope.LH_GROUP:
            return bool(codes & self.lufthansa_group)
        return bool(codes & (self.lufthansa_group | self.star_alliance))


def _codes(values: Iterable[Any]) -> frozenset[str]:
    return frozenset(str(value).upper() for value in values)


def _ground(row: dict[str, Any]) -> Ground:
    unknown = row.keys() - {"tier", "cabin", "fare_family", "countries", "flights", "not_on_basic_fare"}
    if unknown or ("tier" in row) == ("cabin" in row):
        raise ValueError(f"an admission row has a tier or a cabin (and no other keys): {row}")
    return Ground(
        flights=FlightScope(row["flights"]),
        tier=Tier(row["tier"]) if "tier" in row else None,
        cabin=str(row["cabin"]).upper() if "cabin" in row else None,
        fare_family=str(row["fare_family"]).upper() if "fare_family" in row else None,
        countries=_codes(row["countries"]) if "countries" in row else None,
        not_on_basic_fare=bool(row.get("not_on_basic_fare", False)),
    )


def load_admission_table(path: Path | None = None) -> AdmissionTable:
    source = path or Path(os.environ.get(ADMISSION_FILE_ENV) or DEFAULT_ADMISSION_FILE)
    with source.open("rb") as handle:
        return AdmissionTable.from_mapping(tomllib.load(handle))


@cache
def admission_table() -> AdmissionTable:
    """The table this process runs with (read once)."""
    return load_admission_table()


@dataclass(frozen=True, slots=True)
class Traveller:
    """What a check found out about the holder and the flight on the boarding pass."""

    tier: Tier
    cabin: str
    carriers: tuple[str, ...]
    """The operating carrier, and the marketing carrier when the pass names one (a codeshare)."""
    fare_family: str | None
    country: str
    """Country of the airport of the check (ISO 3166-1 alpha-2)."""


@dataclass(frozen=True, slots=True)
class Decision:
    admitted: bool
    ground: str | None = None
    reason: Refusal | None = None


def decide(table: AdmissionTable, facility: Facility, traveller: Traveller) -> Decision:
    """The first ground of the facility that holds; else why not: a ground the holder has, refused for the
    flight's carrier (CARRIER_NOT_ELIGIBLE) or its basic fare (BASIC_FARE), or none at all (NO_PRIVILEGE)."""
    reason = Refusal.NO_PRIVILEGE
    basic_fare = (
        traveller.fare_family is not None
        and traveller.fare_family.upper() in table.basic_fare_families
        and bool(set(traveller.carriers) & table.basic_fare_carriers)
    )
    for ground in table.facilities[facility]:
        if not _holder_has(ground, traveller):
            continue
        if not table.flies_within(ground.flights, traveller.carriers):
            reason = Refusal.CARRIER_NOT_ELIGIBLE if reason is Refusal.NO_PRIVILEGE else reason
            continue
        if ground.not_on_basic_fare and basic_fare:
            reason = Refusal.BASIC_FARE
            continue
        return Decision(admitted=True, ground=ground.name)
    return Decision(admitted=False, reason=reason)


def _holder_has(ground: Ground, traveller: Traveller) -> bool:
    if ground.tier is not None:
        return traveller.tier is ground.tier
    if ground.cabin != traveller.cabin:
        return False
    if ground.fare_family is not None and (traveller.fare_family or "").upper() != ground.fare_family:
        return False
    return ground.countries is None or traveller.country.upper() in ground.countries
