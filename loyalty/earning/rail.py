"""Rail partners' segments (DOMAIN.md 3.4): what one segment earns, from the rail chart (``rail.toml``).

A segment of a listed product (Austrian AIRail, Lufthansa Express Rail, SWISS Air Rail) earns the Points of
its travel class; Qualifying Points equal them on a qualifying product; HON Circle Points equal them in the
classes the chart flags (first and business). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loyalty.earning.errors import ChartInvalid
from loyalty.errors import NotFound, ValidationFailed

_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,31}$")


@dataclass(frozen=True, slots=True)
class RailClass:
    points: int
    hon_circle: bool


@dataclass(frozen=True, slots=True)
class RailProduct:
    code: str
    name: str
    qualifying: bool
    classes: frozenset[str]


@dataclass(frozen=True, slots=True)
class RailChart:
    version: str
    classes: Mapping[str, RailClass]
    products: Mapping[str, RailProduct]


@dataclass(frozen=True, slots=True)
class RailEarning:
    """What one rail segment earns, and under which chart version."""

    product: str
    travel_class: str
    points: int
    qualifying_points: int
    hon_circle_points: int
    chart_version: str


def rail_earning(chart: RailChart, *, product: str, travel_class: str, field: str = "rail") -> RailEarning:
    """The segment's Points, Qualifying Points and HON Circle Points; an unknown product or a class the
    product does not have is refused naming the field."""
    found = chart.products.get(product.strip().upper())
    if found is None:
        raise NotFound(
            f"{product!r} is not a rail product of the programme ({', '.join(sorted(chart.products))}).",
            field=f"{field}.product",
            code="RAIL_PRODUCT_UNKNOWN",
        )
    name = travel_class.strip().upper()
    if name not in found.classes:
        raise ValidationFailed(
            f"{found.name} has no travel class {travel_class!r} ({', '.join(sorted(found.classes))}).",
            field=f"{field}.travelClass",
            code="RAIL_CLASS_INVALID",
        )
    rail_class = chart.classes[name]
    return RailEarning(
        product=found.code,
        travel_class=name,
        points=rail_class.points,
        qualifying_points=rail_class.points if found.qualifying else 0,
        hon_circle_points=rail_class.points if found.qualifying and rail_class.hon_circle else 0,
        chart_version=chart.version,
    )


def _fail(where: str, problem: str) -> ChartInvalid:
    return ChartInvalid(f"rail.toml: {where}: {problem}")


def parse_rail_chart(data: Mapping[str, Any]) -> RailChart:
    """Check ``rail.toml`` (already read) into a :class:`RailChart`."""
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise _fail("version", "a non-empty string")
    raw_classes = data.get("classes")
    if not isinstance(raw_classes, dict) or not raw_classes:
        raise _fail("[classes]", "at least one travel class")
    classes: dict[str, RailClass] = {}
    for name, entry in raw_classes.items():
        points = entry.get("points") if isinstance(entry, dict) else None
        if not _CODE.match(name) or not isinstance(points, int) or isinstance(points, bool) or points < 0:
            raise _fail(f"classes.{name}", "an upper-case name with whole points from 0")
        classes[name] = RailClass(points=points, hon_circle=entry.get("hon_circle") is True)
    products: dict[str, RailProduct] = {}
    for index, entry in enumerate(data.get("products", [])):
        where = f"products[{index}]"
        code, name = entry.get("code"), entry.get("name")
        if not isinstance(code, str) or not _CODE.match(code) or code in products:
            raise _fail(where, "a unique upper-case code")
        if not isinstance(name, str) or not name:
            raise _fail(where, "a name")
        listed = frozenset(str(item) for item in entry.get("classes", []))
        if not listed or not listed <= set(classes):
            raise _fail(where, f"classes among {sorted(classes)}")
        products[code] = RailProduct(
            code=code, name=name, qualifying=entry.get("qualifying") is True, classes=listed
        )
    if not products:
        raise _fail("[[products]]", "at least one product")
    return RailChart(version=version, classes=classes, products=products)
