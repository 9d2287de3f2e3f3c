"""The pure rules of retro credit (DOMAIN.md 6): the 6-month window, the partners' 7 days, the name on
the ticket, and what a complete claim is. Worked examples at each boundary."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.earning.model import Cabin
from loyalty.errors import ValidationFailed
from loyalty.retro_credit.checks import FlightClaim, cabin_for_compartment, validate_claim, window_reason
from loyalty.retro_credit.models import RetroCreditReason
from loyalty.retro_credit.names import names_match
from loyalty.rules import current_rules

RULES = current_rules().retro_credit
TITLES = RULES.name_titles
OUT, EARLY = RetroCreditReason.OUT_OF_WINDOW, RetroCreditReason.TOO_EARLY_WAIT_7D


@pytest.mark.parametrize(
    ("flight_date", "carrier", "requested_on", "expected"),
    [
        # 6 months back, to the day (month ends clamp: 31 Aug - 6 months = 28 Feb)
        pytest.param(dt.date(2025, 3, 15), "LH", dt.date(2025, 9, 15), None, id="exactly-6-months"),
        pytest.param(dt.date(2025, 3, 14), "LH", dt.date(2025, 9, 15), OUT, id="6-months-and-a-day"),
        pytest.param(dt.date(2025, 2, 28), "LH", dt.date(2025, 8, 31), None, id="month-end-clamped"),
        pytest.param(dt.date(2025, 2, 27), "LH", dt.date(2025, 8, 31), OUT, id="before-clamped-month-end"),
        pytest.param(dt.date(2024, 2, 29), "LH", dt.date(2024, 8, 29), None, id="leap-day"),
        # Lufthansa Group: no waiting period
        pytest.param(dt.date(2025, 9, 15), "LH", dt.date(2025, 9, 15), None, id="group-same-day"),
        pytest.param(dt.date(2025, 9, 14), "LX", dt.date(2025, 9, 15), None, id="group-next-day"),
        pytest.param(dt.date(2025, 9, 10), "EW", dt.date(2025, 9, 15), None, id="eurowings-is-group"),
        # partner airlines: from the 7th day after the flight
        pytest.param(dt.date(2025, 9, 8), "UA", dt.date(2025, 9, 15), None, id="partner-day-7"),
        pytest.param(dt.date(2025, 9, 9), "UA", dt.date(2025, 9, 15), EARLY, id="partner-day-6"),
        pytest.param(dt.date(2025, 9, 15), "TK", dt.date(2025, 9, 15), EARLY, id="partner-same-day"),
        pytest.param(dt.date(2025, 3, 14), "UA", dt.date(2025, 9, 15), OUT, id="partner-too-old"),
    ],
)
def test_window(
    flight_date: dt.date, carrier: str, requested_on: dt.date, expected: RetroCreditReason | None
) -> None:
    assert (
        window_reason(flight_date=flight_date, carrier=carrier, requested_on=requested_on, rules=RULES)
        is expected
    )


@given(
    requested_on=st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31)),
    days_back=st.integers(min_value=0, max_value=400),
)
def test_group_flights_are_in_time_exactly_while_within_the_window(
    requested_on: dt.date, days_back: int
) -> None:
    flight_date = requested_on - dt.timedelta(days=days_back)
    reason = window_reason(flight_date=flight_date, carrier="LH", requested_on=requested_on, rules=RULES)
    months_back = (requested_on.year - flight_date.year) * 12 + requested_on.month - flight_date.month
    if months_back < RULES.window_months:
        assert reason is None
    elif months_back > RULES.window_months:
        assert reason is OUT


@pytest.mark.parametrize(
    ("given_name", "family_name", "ticket_surname", "ticket_given", "cut", "expected"),
    [
        pytest.param("Grace", "Hopper", "HOPPER", "GRACE", False, True, id="plain"),
        pytest.param("Grace", "Hopper", "hopper", "grace", False, True, id="case"),
        pytest.param("Grace", "Hopper", "HOPPER", "GRACE MRS", False, True, id="title-after"),
        pytest.param("Grace", "Hopper", "HOPPER", "MRS GRACE", False, True, id="title-before"),
        pytest.param("Grace", "Hopper", "HOPPER", "GRACEMRS", False, True, id="title-glued"),
        pytest.param("Grace", "Hopper", "HOPPER", "Mrs. Grace", False, True, id="title-with-dot"),
        pytest.param("Grace Brewster", "Hopper", "HOPPER", "GRACE", False, True, id="first-given-name-only"),
        pytest.param("Grace", "Hopper", "HOPPER", "", False, True, id="surname-only"),
        pytest.param("Grace", "Hopper", "HOPPER", "ADA", False, False, id="other-given-name"),
        pytest.param("Grace", "Hopper", "LOVELACE", "GRACE", False, False, id="other-surname"),
        pytest.param("Grace", "Hopper", "HOPPE", "GRACE", False, False, id="surname-prefix-not-cut"),
        pytest.param("Grace", "Hopper", "HOPPERS", "GRACE", False, False, id="longer-surname"),
        pytest.param("José", "Núñez", "NUNEZ", "JOSE", False, True, id="accents"),
        pytest.param("Jürgen", "Müller", "MUELLER", "JUERGEN", False, True, id="umlaut-written-out"),
        pytest.param("Jürgen", "Müller", "MULLER", "JURGEN", False, True, id="umlaut-dropped"),
        pytest.param("Jürgen", "Weiß", "WEISS", "JURGEN", False, True, id="sharp-s"),
        pytest.param("Søren", "Kierkegård", "KIERKEGARD", "SOREN", False, True, id="nordic"),
        pytest.param(
            "Anne-Marie", "Smith-Jones", "SMITHJONES", "ANNEMARIE", False, True, id="hyphens-dropped"
        ),
        pytest.param(
            "Anne Marie", "Smith Jones", "SMITH-JONES", "ANNE-MARIE", False, True, id="hyphen-for-space"
        ),
        pytest.param("Ursula", "von der Leyen", "VONDERLEYEN", "URSULA", False, True, id="particles-joined"),
        pytest.param("Sean", "O'Brien", "OBRIEN", "SEAN MR", False, True, id="apostrophe"),
        pytest.param("Maximilian", "Mustermann", "MUSTERMANN", "MAXIMIL", True, True, id="pass-cut-given"),
        pytest.param(
            "Maximilian",
            "Schwarzenegger-Mustermann",
            "SCHWARZENEGGERMUSTE",
            "",
            True,
            True,
            id="pass-cut-surname",
        ),
        pytest.param("Grace", "Hopper", "", "GRACE", False, False, id="no-surname"),
    ],
)
def test_names_match(
    given_name: str, family_name: str, ticket_surname: str, ticket_given: str, cut: bool, expected: bool
) -> None:
    assert (
        names_match(
            member_given_name=given_name,
            member_family_name=family_name,
            ticket_surname=ticket_surname,
            ticket_given_name=ticket_given,
            titles=TITLES,
            surname_may_be_cut=cut,
        )
        is expected
    )


def _claim(**changes: object) -> FlightClaim:
    values: dict[str, object] = {
        "ticket_number": "220 1234567890",
        "carrier": "lh",
        "flight_number": "0400",
        "flight_date": dt.date(2025, 3, 1),
        "origin": "fra",
        "destination": "jfk",
        "cabin": Cabin.BUSINESS,
        "booking_class": "j",
    }
    values.update(changes)
    return FlightClaim(**values)  # type: ignore[arg-type]


def test_a_claim_is_normalised() -> None:
    claim = validate_claim(_claim(), today=dt.date(2025, 3, 10))
    assert (claim.ticket_number, claim.carrier, claim.flight_number) == ("2201234567890", "LH", "400")
    assert (claim.origin, claim.destination, claim.booking_class) == ("FRA", "JFK", "J")


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        pytest.param(
            {"ticket_number": "22012345"}, "TICKET_NUMBER_INVALID", "ticketNumber", id="short-ticket"
        ),
        pytest.param({"carrier": "L"}, "CARRIER_INVALID", "carrier", id="carrier"),
        pytest.param({"flight_number": "40000"}, "FLIGHT_NUMBER_INVALID", "flightNumber", id="number"),
        pytest.param({"flight_number": "000"}, "FLIGHT_NUMBER_INVALID", "flightNumber", id="number-zero"),
        pytest.param({"destination": "FRA"}, "SAME_AIRPORT", "destination", id="same-airport"),
        pytest.param({"flight_number": ""}, "FLIGHT_NUMBER_REQUIRED", "flightNumber", id="no-number"),
        pytest.param({"flight_number": "  "}, "FLIGHT_NUMBER_REQUIRED", "flightNumber", id="blank-number"),
        pytest.param({"carrier": ""}, "CARRIER_REQUIRED", "carrier", id="no-carrier"),
        pytest.param({"origin": ""}, "ORIGIN_REQUIRED", "origin", id="no-origin"),
        pytest.param({"destination": " "}, "DESTINATION_REQUIRED", "destination", id="no-destination"),
        pytest.param({"booking_class": ""}, "BOOKING_CLASS_REQUIRED", "bookingClass", id="no-class"),
        pytest.param({"ticket_number": ""}, "TICKET_NUMBER_REQUIRED", "ticketNumber", id="no-ticket"),
        pytest.param({"booking_class": "JJ"}, "BOOKING_CLASS_INVALID", "bookingClass", id="class"),
        pytest.param({"flight_date": dt.date(2025, 3, 11)}, "FLIGHT_IN_FUTURE", "flightDate", id="future"),
    ],
)
def test_an_incomplete_or_wrong_claim_is_refused(changes: dict[str, object], code: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        validate_claim(_claim(**changes), today=dt.date(2025, 3, 10))
    assert (refused.value.code, refused.value.field) == (code, field)


@pytest.mark.parametrize(
    ("compartment", "cabin"),
    [
        ("F", Cabin.FIRST),
        ("J", Cabin.BUSINESS),
        ("C", Cabin.BUSINESS),
        ("W", Cabin.PREMIUM_ECONOMY),
        ("Y", Cabin.ECONOMY),
        ("M", Cabin.ECONOMY),
    ],
)
def test_compartment_codes_name_cabins(compartment: str, cabin: Cabin) -> None:
    assert cabin_for_compartment(compartment, RULES) is cabin
