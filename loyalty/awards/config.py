"""The award rules, loaded from a TOML file (defaults ship in ``awards.toml``): the identity check, dynamic
pricing for the Lufthansa Group, the partners' zone chart, Cash & Miles, MilesPay and award tickets.

The file is data: an operator points ``MILESGATE_AWARDS_FILE`` at a copy. Every table is checked when the
file is loaded, so a broken file stops the process at start with a message naming the table and the entry.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from loyalty.earning.model import Cabin

DEFAULT_AWARDS_FILE = Path(__file__).with_name("awards.toml")
AWARDS_FILE_ENV = "MILESGATE_AWARDS_FILE"
_CARRIER = re.compile(r"^[A-Z0-9]{2}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_AIRPORT = re.compile(r"^[A-Z]{3}$")


class AwardsInvalid(ValueError):
    """The awards file breaks a rule; the message names the table and the entry."""


class FareFamily(StrEnum):
    """The Lufthansa Group's fare families (DOMAIN.md 7): continental Light, Classic, Flex; long-haul
    Light, Basic, Basic Plus, Flex."""

    LIGHT = "LIGHT"
    CLASSIC = "CLASSIC"
    BASIC = "BASIC"
    BASIC_PLUS = "BASIC_PLUS"
    FLEX = "FLEX"


@dataclass(frozen=True, slots=True)
class IdentityCheckRules:
    balance_above_miles: int
    code_digits: int
    code_minutes: int
    max_code_attempts: int
    max_open_checks: int


@dataclass(frozen=True, slots=True)
class FareFamilyFactor:
    """The configured rule ``fare_family_factor``: cash fare (EUR) x miles per EUR x the family's per cent."""

    miles_per_eur: Decimal
    rounding_miles: int
    minimum_miles: int
    percent: Mapping[FareFamily, int]


@dataclass(frozen=True, slots=True)
class DynamicPricingRules:
    rule: str
    carriers: frozenset[str]
    continental_zones: frozenset[str]
    continental_fare_families: tuple[FareFamily, ...]
    long_haul_fare_families: tuple[FareFamily, ...]
    fare_family_factor: FareFamilyFactor


@dataclass(frozen=True, slots=True)
class ZonePrice:
    zones: frozenset[str]
    miles: Mapping[Cabin, int]


@dataclass(frozen=True, slots=True)
class ZoneChart:
    version: str
    zone_by_country: Mapping[str, str]
    zone_by_airport: Mapping[str, str]
    zones: tuple[str, ...]
    prices: tuple[ZonePrice, ...]

    def zone_of(self, *, airport: str, country: str) -> str | None:
        return self.zone_by_airport.get(airport) or self.zone_by_country.get(country)

    def price(self, zone_a: str, zone_b: str, cabin: Cabin) -> int | None:
        wanted = frozenset({zone_a, zone_b})
        for price in self.prices:
            if price.zones == wanted:
                return price.miles.get(cabin)
        return None


@dataclass(frozen=True, slots=True)
class CashAndMilesRules:
    eur_per_mile: Decimal
    minimum_miles: int
    step_miles: int


@dataclass(frozen=True, slots=True)
class MilesPayRules:
    eur_per_mile: Decimal
    minimum_miles: int
    maximum_cap_miles: int


@dataclass(frozen=True, slots=True)
class TicketRules:
    stock: str
    serial_start: int


@dataclass(frozen=True, slots=True)
class AwardRules:
    version: str
    identity_check: IdentityCheckRules
    dynamic: DynamicPricingRules
    zone_chart: ZoneChart
    cash_and_miles: CashAndMilesRules
    milespay: MilesPayRules
    tickets: TicketRules


def _fail(where: str, problem: str) -> AwardsInvalid:
    return AwardsInvalid(f"awards.toml {where}: {problem}")


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise _fail(where, f"[{key}] is missing or not a table")
    return value


def _keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(data) - allowed
    missing = allowed - set(data)
    if unknown or missing:
        raise _fail(where, f"unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")


def _int(value: Any, where: str, *, minimum: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise _fail(where, f"{value!r} is not a whole number >= {minimum}")
    return value


def _decimal(value: Any, where: str) -> Decimal:
    try:
        number = Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number <= 0:
        raise _fail(where, f"{value!r} is not a positive number written as a string")
    return number


def _codes(values: Any, pattern: re.Pattern[str], where: str) -> frozenset[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) and pattern.match(v) for v in values):
        raise _fail(where, f"expected a list of codes like {pattern.pattern}, got {values!r}")
    return frozenset(values)


def _families(values: Any, where: str) -> tuple[FareFamily, ...]:
    if not isinstance(values, list) or not values:
        raise _fail(where, "expected a list of fare families")
    try:
        return tuple(FareFamily(value) for value in values)
    except ValueError:
        raise _fail(where, f"fare families are {[family.value for family in FareFamily]}") from None


def _identity(data: Mapping[str, Any]) -> IdentityCheckRules:
    where = "[identity_check]"
    table = _table(data, "identity_check", "")
    _keys(table, set(IdentityCheckRules.__dataclass_fields__), where)
    return IdentityCheckRules(**{key: _int(value, f"{where} {key}") for key, value in table.items()})


def _dynamic(data: Mapping[str, Any]) -> DynamicPricingRules:
    where = "[dynamic]"
    table = _table(data, "dynamic", "")
    _keys(
        table,
        {
            "rule",
            "carriers",
            "continental_zones",
            "continental_fare_families",
            "long_haul_fare_families",
            "fare_family_factor",
        },
        where,
    )
    if table["rule"] != "fare_family_factor":
        raise _fail(where, f"rule {table['rule']!r} is not one of ['fare_family_factor']")
    factor = _table(table, "fare_family_factor", where)
    at = f"{where} fare_family_factor"
    _keys(factor, {"miles_per_eur", "rounding_miles", "minimum_miles", "percent"}, at)
    percent = _table(factor, "percent", at)
    families = {
        *_families(table["continental_fare_families"], f"{where} continental_fare_families"),
        *_families(table["long_haul_fare_families"], f"{where} long_haul_fare_families"),
    }
    if set(percent) != {family.value for family in families}:
        raise _fail(f"{at}.percent", f"needs exactly the fare families {sorted(families)}")
    return DynamicPricingRules(
        rule=str(table["rule"]),
        carriers=_codes(table["carriers"], _CARRIER, f"{where} carriers"),
        continental_zones=frozenset(str(zone) for zone in table["continental_zones"]),
        continental_fare_families=_families(
            table["continental_fare_families"], f"{where} continental_fare_families"
        ),
        long_haul_fare_families=_families(
            table["long_haul_fare_families"], f"{where} long_haul_fare_families"
        ),
        fare_family_factor=FareFamilyFactor(
            miles_per_eur=_decimal(factor["miles_per_eur"], f"{at} miles_per_eur"),
            rounding_miles=_int(factor["rounding_miles"], f"{at} rounding_miles"),
            minimum_miles=_int(factor["minimum_miles"], f"{at} minimum_miles"),
            percent={FareFamily(key): _int(value, f"{at}.percent {key}") for key, value in percent.items()},
        ),
    )


def _zone_chart(data: Mapping[str, Any]) -> ZoneChart:
    table = _table(data, "zone_chart", "")
    _keys(table, {"version", "zones", "prices"}, "[zone_chart]")
    by_country: dict[str, str] = {}
    by_airport: dict[str, str] = {}
    for zone, row in _table(table, "zones", "[zone_chart]").items():
        at = f"[zone_chart.zones.{zone}]"
        if not isinstance(row, dict) or not set(row) <= {"countries", "airports"}:
            raise _fail(at, "a zone lists countries (and may list airports)")
        for country in _codes(row.get("countries"), _COUNTRY, f"{at} countries"):
            if country in by_country:
                raise _fail(at, f"{country} is in {by_country[country]} and {zone}")
            by_country[country] = zone
        for airport in _codes(row.get("airports", []), _AIRPORT, f"{at} airports"):
            if airport in by_airport:
                raise _fail(at, f"{airport} is in {by_airport[airport]} and {zone}")
            by_airport[airport] = zone
    zones = tuple(table["zones"])
    prices: list[ZonePrice] = []
    for number, row in enumerate(table["prices"], start=1):
        at = f"[[zone_chart.prices]] row {number}"
        pair = row.get("zones")
        if not isinstance(pair, list) or len(pair) != 2 or not set(pair) <= set(zones):
            raise _fail(at, f"zones must name two of {list(zones)} (the same one twice within a zone)")
        unknown = set(row) - {"zones"} - {cabin.value for cabin in Cabin}
        if unknown:
            raise _fail(at, f"unknown keys {sorted(unknown)}")
        miles = {Cabin(key): _int(value, f"{at} {key}") for key, value in row.items() if key != "zones"}
        if not miles or any(price.zones == frozenset(pair) for price in prices):
            raise _fail(at, "prices no cabin, or prices a pair of zones twice")
        prices.append(ZonePrice(zones=frozenset(pair), miles=miles))
    return ZoneChart(
        version=str(table["version"]),
        zone_by_country=by_country,
        zone_by_airport=by_airport,
        zones=zones,
        prices=tuple(prices),
    )


def _rates(data: Mapping[str, Any], key: str, ints: set[str]) -> dict[str, Any]:
    table = _table(data, key, "")
    _keys(table, {"eur_per_mile", *ints}, f"[{key}]")
    values: dict[str, Any] = {name: _int(table[name], f"[{key}] {name}") for name in ints}
    values["eur_per_mile"] = _decimal(table["eur_per_mile"], f"[{key}] eur_per_mile")
    return values


def parse_awards(data: Mapping[str, Any]) -> AwardRules:
    """Check every table above; the first broken one raises AwardsInvalid."""
    _keys(
        data,
        {"version", "identity_check", "dynamic", "cash_and_miles", "milespay", "tickets", "zone_chart"},
        "",
    )
    dynamic = _dynamic(data)
    chart = _zone_chart(data)
    if not dynamic.continental_zones <= set(chart.zones):
        raise _fail("[dynamic] continental_zones", f"must name zones of {list(chart.zones)}")
    tickets = _table(data, "tickets", "")
    _keys(tickets, {"stock", "serial_start"}, "[tickets]")
    if not isinstance(tickets["stock"], str) or not re.fullmatch(r"[0-9]{3}", tickets["stock"]):
        raise _fail("[tickets] stock", "is three digits")
    serial_start = _int(tickets["serial_start"], "[tickets] serial_start", minimum=0)
    if serial_start >= 10**10:
        raise _fail("[tickets] serial_start", "a serial number has 10 digits")
    milespay = MilesPayRules(**_rates(data, "milespay", {"minimum_miles", "maximum_cap_miles"}))
    if milespay.maximum_cap_miles < milespay.minimum_miles:
        raise _fail("[milespay]", "maximum_cap_miles is below minimum_miles")
    return AwardRules(
        version=str(data["version"]),
        identity_check=_identity(data),
        dynamic=dynamic,
        zone_chart=chart,
        cash_and_miles=CashAndMilesRules(**_rates(data, "cash_and_miles", {"minimum_miles", "step_miles"})),
        milespay=milespay,
        tickets=TicketRules(stock=tickets["stock"], serial_start=serial_start),
    )


def load_awards(path: Path | None = None) -> AwardRules:
    """Parse and check an awards file (the environment's, else the shipped one)."""
    source = path or Path(os.environ.get(AWARDS_FILE_ENV) or DEFAULT_AWARDS_FILE)
    with source.open("rb") as handle:
        return parse_awards(tomllib.load(handle))


@cache
def current_awards() -> AwardRules:
    """The award rules this process runs with (read once)."""
    return load_awards()
