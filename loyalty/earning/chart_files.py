"""Parse and check the earning-chart files (TOML tables, already read) into an :class:`EarningChart`.

Every check runs when the chart is loaded, so a broken chart stops the process at start, with a
message naming the file, the table and the entry, rather than at the first calculation.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from loyalty.earning.chart import (
    Airline,
    CabinPoints,
    CarrierBasis,
    DistanceChart,
    EarningChart,
    RateTable,
    RegionTable,
    RevenueFactor,
    RevenueRules,
    UpgradeChart,
    UpgradePrice,
)
from loyalty.earning.errors import ChartInvalid
from loyalty.earning.model import Cabin, Region
from loyalty.members.models import Tier

CHART_FILES = ("earning", "regions", "upgrades", "rates")
_CARRIER = re.compile(r"^[A-Z0-9]{2}$")
_TICKET_STOCK = re.compile(r"^[0-9]{3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_BOOKING_CLASS = re.compile(r"^[A-Z]$")
E = TypeVar("E", bound=StrEnum)


def _fail(where: str, problem: str) -> ChartInvalid:
    return ChartInvalid(f"{where}: {problem}")


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise _fail(where, f"[{key}] is missing or not a table")
    return value


def _keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise _fail(where, f"unknown keys {sorted(unknown)}")


def _int(value: Any, where: str, *, minimum: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise _fail(where, f"{value!r} is not a whole number >= {minimum}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, "text missing")
    return value


def _decimal(value: Any, where: str) -> Decimal:
    try:
        number = Decimal(str(value)) if isinstance(value, str | int) and not isinstance(value, bool) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number <= 0:
        raise _fail(where, f"{value!r} is not a positive number (write decimals as strings)")
    return number


def _enum(kind: type[E], value: Any, where: str) -> E:
    try:
        return kind(str(value))
    except ValueError:
        raise _fail(where, f"{value!r} is not one of {[member.value for member in kind]}") from None


def _codes(values: Any, pattern: re.Pattern[str], where: str) -> frozenset[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) and pattern.match(v) for v in values):
        raise _fail(where, f"expected a list of codes like {pattern.pattern}, got {values!r}")
    twice = sorted({value for value in values if values.count(value) > 1})
    if twice:
        raise _fail(where, f"{', '.join(twice)} listed twice")
    return frozenset(values)


def _version(data: Mapping[str, Any], where: str) -> str:
    return _text(data.get("version"), f"{where} version")


def parse_points(data: Mapping[str, Any]) -> dict[Cabin, CabinPoints]:
    where = "earning.toml [points_per_segment]"
    table = _table(data, "points_per_segment", "earning.toml")
    _keys(table, {cabin.value for cabin in Cabin}, where)
    points: dict[Cabin, CabinPoints] = {}
    for cabin in Cabin:
        row = table.get(cabin.value)
        if not isinstance(row, dict):
            raise _fail(where, f"{cabin.value} missing")
        _keys(row, {"continental", "intercontinental"}, f"{where} {cabin.value}")
        points[cabin] = CabinPoints(
            continental=_int(row.get("continental"), f"{where} {cabin.value}.continental"),
            intercontinental=_int(row.get("intercontinental"), f"{where} {cabin.value}.intercontinental"),
        )
    return points


def parse_revenue(data: Mapping[str, Any]) -> RevenueRules:
    where = "earning.toml [revenue_based]"
    table = _table(data, "revenue_based", "earning.toml")
    _keys(table, {"ticket_stocks", "issuing_airlines", "factors"}, where)
    rows = table.get("factors")
    if not isinstance(rows, list) or not rows:
        raise _fail(where, "no [[revenue_based.factors]] rows")
    factors: list[RevenueFactor] = []
    for number, row in enumerate(rows, start=1):
        at = f"{where} factors row {number}"
        _keys(row, {"tiers", "operating_carriers", "miles_per_eur"}, at)
        tiers = frozenset(_enum(Tier, tier, f"{at} tiers") for tier in row.get("tiers") or [])
        if not tiers:
            raise _fail(at, "tiers missing")
        carriers = row.get("operating_carriers")
        factors.append(
            RevenueFactor(
                tiers=tiers,
                operating_carriers=None if carriers is None else _codes(carriers, _CARRIER, at),
                miles_per_eur=_decimal(row.get("miles_per_eur"), f"{at} miles_per_eur"),
            )
        )
    for tier in Tier:
        if not any(tier in row.tiers and row.operating_carriers is None for row in factors):
            raise _fail(where, f"tier {tier.value} has no default row (one without operating_carriers)")
    return RevenueRules(
        ticket_stocks=_codes(table.get("ticket_stocks"), _TICKET_STOCK, f"{where} ticket_stocks"),
        issuing_airlines=_codes(table.get("issuing_airlines"), _CARRIER, f"{where} issuing_airlines"),
        factors=tuple(factors),
    )


def parse_distance_charts(data: Mapping[str, Any]) -> dict[str, DistanceChart]:
    charts: dict[str, DistanceChart] = {}
    for name, row in _table(data, "distance_charts", "earning.toml").items():
        at = f"earning.toml [distance_charts.{name}]"
        if not isinstance(row, dict):
            raise _fail(at, "not a table")
        _keys(row, {"description", "percent", "other_classes_percent"}, at)
        percent = _table(row, "percent", at)
        for booking_class, value in percent.items():
            if not _BOOKING_CLASS.match(booking_class):
                raise _fail(at, f"booking class {booking_class!r} is not one letter A-Z")
            _int(value, f"{at} percent.{booking_class}")
        charts[name] = DistanceChart(
            name=name,
            description=_text(row.get("description"), f"{at} description"),
            percent=dict(percent),
            other_classes_percent=_int(row.get("other_classes_percent"), f"{at} other_classes_percent"),
        )
    if not charts:
        raise _fail("earning.toml [distance_charts]", "no chart")
    return charts


def parse_airlines(data: Mapping[str, Any], charts: Mapping[str, DistanceChart]) -> dict[str, Airline]:
    rows = data.get("airlines")
    if not isinstance(rows, list) or not rows:
        raise _fail("earning.toml", "no [[airlines]]")
    airlines: dict[str, Airline] = {}
    for row in rows:
        designator = row.get("designator")
        at = f"earning.toml [[airlines]] {designator!r}"
        if not isinstance(designator, str) or not _CARRIER.match(designator):
            raise _fail(at, "designator must be 2 letters or digits")
        _keys(row, {"designator", "name", "distance_chart", "qualifying"}, at)
        if designator in airlines:
            raise _fail(at, "listed twice")
        chart = row.get("distance_chart")
        if chart not in charts:
            raise _fail(at, f"distance_chart {chart!r} is not one of {sorted(charts)}")
        qualifying = row.get("qualifying")
        if not isinstance(qualifying, bool):
            raise _fail(at, "qualifying must be true or false")
        airlines[designator] = Airline(
            designator=designator,
            name=_text(row.get("name"), f"{at} name"),
            distance_chart=str(chart),
            qualifying=qualifying,
        )
    return airlines


def parse_regions(data: Mapping[str, Any]) -> RegionTable:
    table = _table(data, "regions", "regions.toml")
    _keys(table, {region.value for region in Region}, "regions.toml [regions]")
    by_country: dict[str, Region] = {}
    for region in Region:
        for country in _codes(table.get(region.value), _COUNTRY, f"regions.toml [regions] {region.value}"):
            if country in by_country:
                raise _fail(
                    "regions.toml [regions]",
                    f"{country} is in {by_country[country].value} and {region.value}",
                )
            by_country[country] = region
    return RegionTable(version=_version(data, "regions.toml"), by_country=by_country)


def parse_upgrades(data: Mapping[str, Any]) -> UpgradeChart:
    _keys(data, {"version", "carriers", "prices"}, "upgrades.toml")
    rows = data.get("prices")
    if not isinstance(rows, list) or not rows:
        raise _fail("upgrades.toml", "no [[prices]]")
    prices: list[UpgradePrice] = []
    for number, row in enumerate(rows, start=1):
        at = f"upgrades.toml [[prices]] row {number}"
        _keys(row, {"regions", "from_cabin", "to_cabin", "miles", "evouchers"}, at)
        regions = row.get("regions")
        if not isinstance(regions, list) or len(regions) != 2:
            raise _fail(at, "regions must name two regions (the same one twice within a region)")
        price = UpgradePrice(
            regions=frozenset(_enum(Region, region, f"{at} regions") for region in regions),
            from_cabin=_enum(Cabin, row.get("from_cabin"), f"{at} from_cabin"),
            to_cabin=_enum(Cabin, row.get("to_cabin"), f"{at} to_cabin"),
            miles=_int(row.get("miles"), f"{at} miles", minimum=1),
            evouchers=None
            if row.get("evouchers") is None
            else _int(row["evouchers"], f"{at} evouchers", minimum=1),
        )
        if price.to_cabin.rank <= price.from_cabin.rank:
            raise _fail(at, "to_cabin must be a higher cabin than from_cabin")
        if any(
            (p.regions, p.from_cabin, p.to_cabin) == (price.regions, price.from_cabin, price.to_cabin)
            for p in prices
        ):
            raise _fail(at, "the same regions and cabins are priced twice")
        prices.append(price)
    return UpgradeChart(
        version=_version(data, "upgrades.toml"),
        carriers=_codes(data.get("carriers"), _CARRIER, "upgrades.toml carriers"),
        prices=tuple(prices),
    )


def parse_rates(data: Mapping[str, Any]) -> RateTable:
    _keys(data, {"version", "base", "per_eur"}, "rates.toml")
    if data.get("base") != "EUR":
        raise _fail("rates.toml", "base must be EUR: revenue-based factors are miles per EUR")
    per_eur: dict[str, Decimal] = {}
    for currency, rate in _table(data, "per_eur", "rates.toml").items():
        if not _CURRENCY.match(currency):
            raise _fail("rates.toml [per_eur]", f"{currency!r} is not an ISO 4217 code")
        per_eur[currency] = _decimal(rate, f"rates.toml [per_eur] {currency}")
    if per_eur.get("EUR") != Decimal(1):
        raise _fail("rates.toml [per_eur]", 'EUR must be listed with rate "1"')
    return RateTable(version=_version(data, "rates.toml"), per_eur=per_eur)


def _cabins(values: Any, where: str) -> frozenset[Cabin]:
    if not isinstance(values, list):
        raise _fail(where, "expected a list of cabins")
    return frozenset(_enum(Cabin, value, where) for value in values)


def _qualifying(data: Mapping[str, Any]) -> tuple[CarrierBasis, frozenset[Cabin]]:
    table = _table(data, "qualifying", "earning.toml")
    _keys(table, {"carrier_basis", "hon_circle_cabins"}, "earning.toml [qualifying]")
    basis = _enum(CarrierBasis, table.get("carrier_basis"), "earning.toml [qualifying] carrier_basis")
    return basis, _cabins(table.get("hon_circle_cabins"), "earning.toml [qualifying] hon_circle_cabins")


def _effective_from(data: Mapping[str, Any]) -> dt.date:
    value = data.get("effective_from")
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise _fail("earning.toml effective_from", f"{value!r} is not a date (write 2024-01-01)")
    return value


def parse_chart(files: Mapping[str, Mapping[str, Any]]) -> EarningChart:
    """Check the four chart files (``earning``, ``regions``, ``upgrades``, ``rates``) and build the chart."""
    missing = [name for name in CHART_FILES if name not in files]
    if missing:
        raise ChartInvalid(f"chart files missing: {', '.join(name + '.toml' for name in missing)}")
    earning = files["earning"]
    _keys(
        earning,
        {
            "version",
            "effective_from",
            "points_per_segment",
            "qualifying",
            "revenue_based",
            "distance_charts",
            "airlines",
        },
        "earning.toml",
    )
    charts = parse_distance_charts(earning)
    airlines = parse_airlines(earning, charts)
    revenue = parse_revenue(earning)
    upgrades = parse_upgrades(files["upgrades"])
    _known_carriers(airlines, revenue.issuing_airlines, "earning.toml [revenue_based] issuing_airlines")
    _known_carriers(airlines, upgrades.carriers, "upgrades.toml carriers")
    basis, hon_circle_cabins = _qualifying(earning)
    return EarningChart(
        earning_version=_version(earning, "earning.toml"),
        effective_from=_effective_from(earning),
        points_per_segment=parse_points(earning),
        carrier_basis=basis,
        hon_circle_cabins=hon_circle_cabins,
        revenue=revenue,
        distance_charts=charts,
        airlines=airlines,
        regions=parse_regions(files["regions"]),
        upgrades=upgrades,
        rates=parse_rates(files["rates"]),
    )


def _known_carriers(airlines: Mapping[str, Airline], carriers: Iterable[str], where: str) -> None:
    unknown = sorted(set(carriers) - set(airlines))
    if unknown:
        raise _fail(where, f"{unknown} are not in [[airlines]]")
