"""The earning function, table-driven: each DOMAIN.md 3 example and rule boundary, on the shipped chart."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.earning.airports import airport_directory, geodesic_metres
from loyalty.earning.calculator import compute_earning
from loyalty.earning.errors import InvalidItinerary, UnknownAirport, UnknownCurrency
from loyalty.earning.model import Cabin, FlightSegment, MilesMethod, Money, Region, RuleCode, Ticket
from loyalty.members.models import Tier
from partners.charts import current_earning_chart

CHART = current_earning_chart()
DAY = dt.date(2026, 5, 4)


def flight(
    origin: str,
    destination: str,
    *,
    carrier: str = "LH",
    marketing: str | None = None,
    cabin: Cabin = Cabin.ECONOMY,
    booking_class: str = "Y",
    number: str = "400",
    date: dt.date = DAY,
) -> FlightSegment:
    return FlightSegment(
        origin=origin,
        destination=destination,
        operating_carrier=carrier,
        marketing_carrier=marketing or carrier,
        flight_number=number,
        booking_class=booking_class,
        cabin=cabin,
        date=date,
    )


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, exactly (Python's round() rounds half to even)."""
    return (2 * numerator + denominator) // (2 * denominator)


def eur(amount: str, currency: str = "EUR") -> Money:
    return Money(amount=Decimal(amount), currency=currency)


def test_ams_fra_jfk_in_business_on_lh_earns_40_plus_200() -> None:
    # given the DOMAIN.md 3.2 example
    itinerary = [
        flight("AMS", "FRA", cabin=Cabin.BUSINESS, booking_class="C"),
        flight("FRA", "JFK", cabin=Cabin.BUSINESS, booking_class="C"),
    ]
    # when
    earning = compute_earning(itinerary=itinerary, tier=Tier.BASE, chart=CHART)
    # then: each segment counts separately, and on LH Points = QP = HCP in Business
    assert [s.points for s in earning.segments] == [40, 200]
    assert (earning.points, earning.qualifying_points, earning.hon_circle_points) == (240, 240, 240)
    assert [s.continental for s in earning.segments] == [True, False]
    assert earning.chart_version == CHART.version and "earning 2024.1" in earning.chart_version
    assert [s.rules[1].code for s in earning.segments] == [RuleCode.CONTINENTAL, RuleCode.INTERCONTINENTAL]


@pytest.mark.parametrize(
    ("cabin", "continental", "intercontinental"),
    [
        (Cabin.ECONOMY, 20, 60),
        (Cabin.PREMIUM_ECONOMY, 20, 80),
        (Cabin.BUSINESS, 40, 200),
        (Cabin.FIRST, 40, 300),
    ],
)
def test_points_per_segment_by_cabin(cabin: Cabin, continental: int, intercontinental: int) -> None:
    short = compute_earning(itinerary=[flight("FRA", "MUC", cabin=cabin)], tier=Tier.BASE, chart=CHART)
    long = compute_earning(itinerary=[flight("FRA", "JFK", cabin=cabin)], tier=Tier.BASE, chart=CHART)
    assert (short.points, long.points) == (continental, intercontinental)


@pytest.mark.parametrize(
    ("origin", "destination", "continental", "regions"),
    [
        ("FRA", "CAI", True, (Region.EUROPE, Region.EUROPE)),  # Egypt counts as Europe
        ("MUC", "CMN", True, (Region.EUROPE, Region.EUROPE)),  # Morocco
        ("FRA", "ALG", True, (Region.EUROPE, Region.EUROPE)),  # Algeria
        ("VIE", "TUN", True, (Region.EUROPE, Region.EUROPE)),  # Tunisia
        ("FRA", "ADD", False, (Region.EUROPE, Region.AFRICA)),
        ("CAI", "JNB", False, (Region.EUROPE, Region.AFRICA)),
        ("JFK", "MEX", True, (Region.NORTH_AMERICA, Region.NORTH_AMERICA)),  # Central America
        ("EWR", "PTY", True, (Region.NORTH_AMERICA, Region.NORTH_AMERICA)),
        ("MIA", "BGI", True, (Region.NORTH_AMERICA, Region.NORTH_AMERICA)),  # the Caribbean
        ("SYD", "AKL", True, (Region.OCEANIA, Region.OCEANIA)),
        ("GRU", "EZE", True, (Region.SOUTH_AMERICA, Region.SOUTH_AMERICA)),
        ("MEX", "BOG", False, (Region.NORTH_AMERICA, Region.SOUTH_AMERICA)),
        ("SIN", "SYD", False, (Region.ASIA, Region.OCEANIA)),
        ("FRA", "TLV", False, (Region.EUROPE, Region.ASIA)),
    ],
)
def test_continental_means_one_region(
    origin: str, destination: str, continental: bool, regions: tuple[Region, Region]
) -> None:
    segment = compute_earning(
        itinerary=[flight(origin, destination, carrier="LH")], tier=Tier.BASE, chart=CHART
    ).segments[0]
    assert segment.continental is continental
    assert (segment.origin_region, segment.destination_region) == regions
    assert segment.points == (20 if continental else 60)


@pytest.mark.parametrize(
    ("operating", "marketing", "points", "qualifying", "hon_circle"),
    [
        ("LH", "LH", 200, 200, 200),
        ("LX", "LX", 200, 200, 200),
        ("LO", "LO", 200, 200, 200),  # co-issuing partner
        ("UA", "UA", 200, 0, 0),  # Star Alliance: Points, but no QP or HCP
        ("SQ", "SQ", 200, 0, 0),
        ("UA", "LH", 200, 200, 200),  # codeshare with a Lufthansa Group number (carrier_basis EITHER)
        ("FR", "FR", 0, 0, 0),  # not a partner: nothing at all
    ],
)
def test_carrier_eligibility_for_qualifying_and_hon_circle_points(
    operating: str, marketing: str, points: int, qualifying: int, hon_circle: int
) -> None:
    earning = compute_earning(
        itinerary=[flight("FRA", "ORD", carrier=operating, marketing=marketing, cabin=Cabin.BUSINESS)],
        tier=Tier.SEN,
        chart=CHART,
    )
    assert (earning.points, earning.qualifying_points, earning.hon_circle_points) == (
        points,
        qualifying,
        hon_circle,
    )


def test_a_non_partner_carrier_earns_nothing_and_says_why() -> None:
    segment = compute_earning(
        itinerary=[flight("STN", "DUB", carrier="FR", booking_class="Y")], tier=Tier.BASE, chart=CHART
    ).segments[0]
    assert segment.award_miles == 0 and segment.miles_method is MilesMethod.NOT_EARNING
    assert [rule.code for rule in segment.rules] == [RuleCode.NON_PARTNER_CARRIER]


def test_a_qualifying_carrier_only_counts_under_its_basis() -> None:
    operating_only = replace(CHART, carrier_basis=type(CHART.carrier_basis).OPERATING)
    codeshare = [flight("FRA", "ORD", carrier="UA", marketing="LH", cabin=Cabin.BUSINESS)]
    earning = compute_earning(itinerary=codeshare, tier=Tier.BASE, chart=operating_only)
    assert (earning.points, earning.qualifying_points) == (200, 0)


@pytest.mark.parametrize(
    ("cabin", "hon_circle"),
    [(Cabin.ECONOMY, 0), (Cabin.PREMIUM_ECONOMY, 0), (Cabin.BUSINESS, 40), (Cabin.FIRST, 40)],
)
def test_hon_circle_points_only_in_business_and_first(cabin: Cabin, hon_circle: int) -> None:
    earning = compute_earning(itinerary=[flight("FRA", "VIE", cabin=cabin)], tier=Tier.HON, chart=CHART)
    assert earning.qualifying_points == earning.points
    assert earning.hon_circle_points == hon_circle
    codes = {rule.code for rule in earning.segments[0].rules}
    assert (RuleCode.HON_CIRCLE_CABIN in codes) is (hon_circle > 0)


@pytest.mark.parametrize(
    ("booking_class", "percent"),
    [("F", 150), ("A", 150), ("J", 125), ("C", 125), ("D", 125), ("Z", 100), ("P", 100), ("G", 100),
     ("Y", 100), ("M", 100), ("H", 100), ("Q", 50), ("V", 50), ("S", 50), ("O", 50), ("T", 25),
     ("L", 25), ("K", 25), ("I", 0), ("X", 0), ("R", 0)],
)  # fmt: skip
def test_distance_based_miles_by_booking_class(booking_class: str, percent: int) -> None:
    segment = compute_earning(
        itinerary=[flight("FRA", "JFK", booking_class=booking_class, carrier="UA")],
        tier=Tier.BASE,
        chart=CHART,
    ).segments[0]
    assert segment.miles_method is MilesMethod.DISTANCE_BASED
    assert segment.award_miles == half_up(segment.distance_miles * percent, 100)
    assert segment.rules[0].code is RuleCode.DISTANCE_BASED
    assert (
        f"{percent} % of {segment.distance_miles:,} miles for booking class {booking_class}"
        in segment.rules[0].text
    )


def test_zero_percent_classes_earn_no_miles_but_still_points() -> None:
    earning = compute_earning(
        itinerary=[flight("FRA", "JFK", booking_class="X")], tier=Tier.BASE, chart=CHART
    )
    assert (earning.award_miles, earning.points, earning.qualifying_points) == (0, 60, 60)


def test_a_class_the_chart_does_not_list_earns_the_other_classes_percent() -> None:
    default = CHART.distance_charts["default"]
    without_y = replace(
        default, percent={k: v for k, v in default.percent.items() if k != "Y"}, other_classes_percent=10
    )
    chart = replace(CHART, distance_charts={"default": without_y})
    segment = compute_earning(itinerary=[flight("FRA", "JFK")], tier=Tier.BASE, chart=chart).segments[0]
    assert segment.award_miles == half_up(segment.distance_miles, 10)
    assert "a class the chart does not list" in segment.rules[0].text


@pytest.mark.parametrize(
    ("tier", "operating", "factor"),
    [
        (Tier.BASE, "LH", 4),
        (Tier.BASE, "EW", 4),
        (Tier.BASE, "UA", 4),
        (Tier.FTL, "LH", 6),
        (Tier.SEN, "LX", 6),
        (Tier.HON, "OS", 6),
        (Tier.FTL, "UA", 6),
        (Tier.SEN, "AC", 6),
        (Tier.FTL, "LO", 6),
        (Tier.SEN, "OU", 6),
        (Tier.HON, "EN", 6),
        (Tier.FTL, "EW", 5),
        (Tier.SEN, "SN", 5),
        (Tier.HON, "TK", 5),  # "others"
    ],
)
def test_revenue_based_status_factors(tier: Tier, operating: str, factor: int) -> None:
    # given a Lufthansa-issued ticket: EUR 500 fare + EUR 100 carrier surcharges (taxes excluded)
    ticket = Ticket(issuer="220", fare=eur("500"), carrier_surcharges=eur("100"))
    earning = compute_earning(
        itinerary=[flight("FRA", "LHR", carrier=operating)], tier=tier, chart=CHART, ticket=ticket
    )
    assert earning.award_miles == 600 * factor
    assert earning.eligible_amount_eur == Decimal("600.00")
    rule = earning.segments[0].rules[0]
    assert rule.code is RuleCode.REVENUE_BASED and rule.text.startswith(f"{factor} miles per EUR")


@pytest.mark.parametrize("issuer", ["220", "724", "257", "082", "LH", "LX", "OS", "SN", "EW"])
def test_lufthansa_group_issuers_earn_revenue_based(issuer: str) -> None:
    ticket = Ticket(issuer=issuer, fare=eur("250"))
    earning = compute_earning(itinerary=[flight("FRA", "VIE")], tier=Tier.BASE, chart=CHART, ticket=ticket)
    assert earning.segments[0].miles_method is MilesMethod.REVENUE_BASED and earning.award_miles == 1000


@pytest.mark.parametrize(
    "ticket",
    [
        Ticket(issuer="016", fare=eur("900")),  # United ticket stock
        Ticket(issuer="UA", fare=eur("900")),
        Ticket(issuer="LH", fare=eur("900"), tour_operator=True),
        None,
    ],
)
def test_other_tickets_earn_by_distance(ticket: Ticket | None) -> None:
    earning = compute_earning(
        itinerary=[flight("FRA", "JFK", booking_class="Q")], tier=Tier.SEN, chart=CHART, ticket=ticket
    )
    segment = earning.segments[0]
    assert segment.miles_method is MilesMethod.DISTANCE_BASED
    assert segment.award_miles == half_up(segment.distance_miles, 2)
    assert earning.eligible_amount_eur is None


def test_foreign_currencies_are_converted_at_the_rates_table() -> None:
    rate = CHART.rates.per_eur["USD"]
    ticket = Ticket(
        issuer="LH", fare=eur(str(rate * 800), "USD"), carrier_surcharges=eur(str(rate * 200), "USD")
    )
    earning = compute_earning(itinerary=[flight("FRA", "JFK")], tier=Tier.BASE, chart=CHART, ticket=ticket)
    assert earning.eligible_amount_eur == Decimal("1000.00") and earning.award_miles == 4000
    assert f"at {rate} per EUR" in earning.segments[0].rules[0].text


def test_the_ticket_amount_is_shared_by_distance_and_each_segment_uses_its_carriers_factor() -> None:
    ticket = Ticket(issuer="220", fare=eur("1000"))
    itinerary = [flight("VIE", "FRA", carrier="EW"), flight("FRA", "JFK", carrier="LH")]
    earning = compute_earning(itinerary=itinerary, tier=Tier.FTL, chart=CHART, ticket=ticket)
    short, long = earning.segments
    total = short.distance_miles + long.distance_miles
    assert short.award_miles == half_up(1000 * short.distance_miles * 5, total)
    assert long.award_miles == half_up(1000 * long.distance_miles * 6, total)
    assert earning.award_miles == short.award_miles + long.award_miles


def _vincenty_metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Vincenty's inverse formula on WGS-84 (1975): an independent way to the same geodesic."""
    a, f = 6378137.0, 1 / 298.257223563
    b = (1 - f) * a
    u1, u2 = (
        math.atan((1 - f) * math.tan(math.radians(lat1))),
        math.atan((1 - f) * math.tan(math.radians(lat2))),
    )
    big_l = math.radians(lon2 - lon1)
    lam = big_l
    for _ in range(200):
        sin_sigma = math.hypot(
            math.cos(u2) * math.sin(lam),
            math.cos(u1) * math.sin(u2) - math.sin(u1) * math.cos(u2) * math.cos(lam),
        )
        cos_sigma = math.sin(u1) * math.sin(u2) + math.cos(u1) * math.cos(u2) * math.cos(lam)
        sigma = math.atan2(sin_sigma, cos_sigma)
        sin_alpha = math.cos(u1) * math.cos(u2) * math.sin(lam) / sin_sigma
        cos2_alpha = 1 - sin_alpha**2
        cos_2sm = cos_sigma - 2 * math.sin(u1) * math.sin(u2) / cos2_alpha
        c = f / 16 * cos2_alpha * (4 + f * (4 - 3 * cos2_alpha))
        previous, lam = (
            lam,
            big_l
            + (1 - c)
            * f
            * sin_alpha
            * (sigma + c * sin_sigma * (cos_2sm + c * cos_sigma * (-1 + 2 * cos_2sm**2))),
        )
        if abs(lam - previous) < 1e-12:
            break
    u_sq = cos2_alpha * (a**2 - b**2) / b**2
    big_a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
    big_b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
    delta = (
        big_b
        * sin_sigma
        * (
            cos_2sm
            + big_b
            / 4
            * (
                cos_sigma * (-1 + 2 * cos_2sm**2)
                - big_b / 6 * cos_2sm * (-3 + 4 * sin_sigma**2) * (-3 + 4 * cos_2sm**2)
            )
        )
    )
    return b * big_a * (sigma - delta)


def test_distances_are_wgs84_geodesic_statute_miles() -> None:
    earning = compute_earning(
        itinerary=[flight("FRA", "JFK"), flight("JFK", "FRA")], tier=Tier.BASE, chart=CHART
    )
    there, back = earning.segments
    assert there.distance_miles == back.distance_miles
    fra, jfk = airport_directory().get("FRA", field="o"), airport_directory().get("JFK", field="d")
    geodesic = _vincenty_metres(fra.latitude, fra.longitude, jfk.latitude, jfk.longitude)
    assert (
        abs(geodesic_metres(fra, jfk) - geodesic) < 0.01
    )  # GeographicLib and Vincenty agree to a centimetre
    assert there.distance_miles == round(geodesic / 1609.344) == 3855  # 6,205 km on the ellipsoid
    # a sphere of mean radius falls short by about 0.3 %: 3,845 miles, what the calculator said before
    sphere = (
        2
        * 6371.0088
        * math.asin(
            math.sqrt(
                math.sin(math.radians(jfk.latitude - fra.latitude) / 2) ** 2
                + math.cos(math.radians(fra.latitude))
                * math.cos(math.radians(jfk.latitude))
                * math.sin(math.radians(jfk.longitude - fra.longitude) / 2) ** 2
            )
        )
    )
    assert round(sphere * 1000 / 1609.344) == 3845


def test_codes_are_normalised() -> None:
    segment = (
        compute_earning(
            itinerary=[flight("fra", " muc ", carrier="lh", booking_class="y", number="0099")],
            tier=Tier.BASE,
            chart=CHART,
        )
        .segments[0]
        .segment
    )
    assert (segment.origin, segment.destination, segment.operating_carrier, segment.flight_number) == (
        "FRA",
        "MUC",
        "LH",
        "99",
    )


@pytest.mark.parametrize(
    ("itinerary", "error", "code", "field"),
    [
        ([flight("FRA", "XXX")], UnknownAirport, "UNKNOWN_AIRPORT", "itinerary.segments[0].destination"),
        ([flight("FRA", "MUC"), flight("Q1Z", "FRA")], UnknownAirport, "UNKNOWN_AIRPORT", "itinerary.segments[1].origin"),
        ([], InvalidItinerary, "ITINERARY_EMPTY", "itinerary.segments"),
        ([flight("FRA", "MUC")] * 17, InvalidItinerary, "ITINERARY_TOO_LONG", "itinerary.segments"),
        ([flight("FRA", "FRA")], InvalidItinerary, "SAME_AIRPORT", "itinerary.segments[0].destination"),
        ([flight("FRA", "MUC", booking_class="YY")], InvalidItinerary, "BOOKING_CLASS_INVALID",
         "itinerary.segments[0].bookingClass"),
        ([flight("FRA", "MUC", carrier="LUF")], InvalidItinerary, "CARRIER_INVALID",
         "itinerary.segments[0].operatingCarrier"),
        ([flight("FRA", "MUC", number="12345")], InvalidItinerary, "FLIGHT_NUMBER_INVALID",
         "itinerary.segments[0].flightNumber"),
        ([flight("FRA", "MUC", date=dt.date(2023, 12, 31))], InvalidItinerary, "CHART_NOT_IN_FORCE",
         "itinerary.segments[0].date"),
    ],
)  # fmt: skip
def test_bad_itineraries_are_typed_errors_naming_the_field(
    itinerary: list[FlightSegment], error: type[Exception], code: str, field: str
) -> None:
    with pytest.raises(error) as raised:
        compute_earning(itinerary=itinerary, tier=Tier.BASE, chart=CHART)
    assert (raised.value.code, raised.value.field) == (code, field)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ticket", "code", "field"),
    [
        (Ticket(issuer="LH", fare=eur("100", "XYZ")), "UNKNOWN_CURRENCY", "ticket.fare"),
        (Ticket(issuer="LH", fare=eur("100"), carrier_surcharges=eur("5", "EURO")), "CURRENCY_INVALID",
         "ticket.carrierSurcharges.currency"),
        (Ticket(issuer="LH", fare=eur("-1")), "AMOUNT_INVALID", "ticket.fare.amount"),
        (Ticket(issuer="LUFT", fare=eur("1")), "TICKET_ISSUER_INVALID", "ticket.issuer"),
    ],
)  # fmt: skip
def test_bad_tickets_are_typed_errors(ticket: Ticket, code: str, field: str) -> None:
    with pytest.raises((InvalidItinerary, UnknownCurrency)) as raised:
        compute_earning(itinerary=[flight("FRA", "MUC")], tier=Tier.BASE, chart=CHART, ticket=ticket)
    assert (raised.value.code, raised.value.field) == (code, field)


AIRPORTS = ["FRA", "MUC", "ZRH", "VIE", "CAI", "JFK", "LAX", "GRU", "NRT", "SYD", "JNB", "BOM"]


@given(
    origin=st.sampled_from(AIRPORTS),
    destination=st.sampled_from(AIRPORTS),
    carrier=st.sampled_from(["LH", "LX", "UA", "SQ", "EW", "FR"]),
    cabin=st.sampled_from(list(Cabin)),
    tier=st.sampled_from(list(Tier)),
    booking_class=st.sampled_from("FJCYBMQKLX"),
)
def test_qualifying_and_hon_circle_never_exceed_points(
    origin: str, destination: str, carrier: str, cabin: Cabin, tier: Tier, booking_class: str
) -> None:
    if origin == destination:
        return
    segment = flight(origin, destination, carrier=carrier, cabin=cabin, booking_class=booking_class)
    earning = compute_earning(itinerary=[segment], tier=tier, chart=CHART)
    assert 0 <= earning.hon_circle_points <= earning.qualifying_points <= earning.points
    if cabin in (Cabin.ECONOMY, Cabin.PREMIUM_ECONOMY):
        assert earning.hon_circle_points == 0
    # distance-based miles never depend on the tier
    assert (
        earning.award_miles == compute_earning(itinerary=[segment], tier=Tier.BASE, chart=CHART).award_miles
    )
