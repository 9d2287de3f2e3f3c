"""BCBP (IATA Resolution 792, format M): the public samples, positioned errors, year inference, round trips."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.bcbp import layout
from loyalty.bcbp.dates import BoardingPassTooOld, infer_flight_date, recent_flight_date
from loyalty.bcbp.encoder import encode_boarding_pass
from loyalty.bcbp.model import BoardingPass, BoardingPassInvalid, BoardingPassLeg
from loyalty.bcbp.parser import parse_boarding_pass

IATA_SAMPLE = "M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 226F001A0025 100"
QANTAS_SAMPLE = "M1EWING/SHAUN MR       1A11A1 BNESYDQF 551  107Y26J 37    00"

# A two-leg pass with every conditional item and security data, written out item by item.
UNIQUE = "1" + "W" + "W" + "6225" + "B" + "LH " + "0220123456003"  # 24 characters = 0x18
REPEATED_1 = "220" + "1234567890" + " " + "1" + "LH " + "LH " + "992012345678901 " + " " + "1PC" + "Y"
REPEATED_2 = "220" + "1234567890" + " " + "1" + "LH " + "LH " + "992012345678901 " + " " + "1PC" + "N"
LEG_1 = "XYZ789 " + "FRAJFK" + "LH " + "0400 " + "120" + "J" + "004A" + "0007 " + "1"
LEG_2 = "XYZ789 " + "JFKBOS" + "UA " + "1234A" + "121" + "Y" + "023C" + "0112 " + "1"
VARIABLE_1 = ">6" + "18" + UNIQUE + "2A" + REPEATED_1 + "AB12"
VARIABLE_2 = "2A" + REPEATED_2
TWO_LEGS = (
    "M2" + "LOVELACE/ADA MRS    " + "E"
    + LEG_1 + f"{len(VARIABLE_1):02X}" + VARIABLE_1
    + LEG_2 + f"{len(VARIABLE_2):02X}" + VARIABLE_2
    + "^1" + "08" + "SIGNATUR"
)  # fmt: skip


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            IATA_SAMPLE,
            {"surname": "DESMARAIS", "given_names": "LUC", "electronic_ticket": True, "pnr": "ABC123",
             "origin": "YUL", "destination": "FRA", "operating_carrier": "AC", "flight_number": "0834",
             "flight_number_digits": "834", "julian_date": 226, "compartment": "F", "seat": "001A",
             "check_in_sequence": "0025", "passenger_status": "1"},
        ),
        (
            QANTAS_SAMPLE,
            {"surname": "EWING", "given_names": "SHAUN MR", "electronic_ticket": False, "pnr": "1A11A1",
             "origin": "BNE", "destination": "SYD", "operating_carrier": "QF", "flight_number": "551",
             "flight_number_digits": "551", "julian_date": 107, "compartment": "Y", "seat": "26J",
             "check_in_sequence": "37", "passenger_status": ""},
        ),
    ],
)  # fmt: skip
def test_the_public_samples_parse(data: str, expected: dict[str, Any]) -> None:
    assert len(data) == 60
    boarding_pass = parse_boarding_pass(data)
    leg = boarding_pass.legs[0]
    seen = {
        key: getattr(boarding_pass, key, None) if hasattr(boarding_pass, key) else getattr(leg, key)
        for key in expected
    }
    assert seen == expected
    assert (
        len(boarding_pass.legs) == 1 and boarding_pass.version is None and leg.frequent_flyer_number is None
    )
    assert encode_boarding_pass(boarding_pass) == data


def test_two_legs_with_the_conditional_part_and_the_frequent_flyer_number() -> None:
    boarding_pass = parse_boarding_pass(TWO_LEGS)
    first, second = boarding_pass.legs
    assert (boarding_pass.version, boarding_pass.issue_date, boarding_pass.issuer) == ("6", "6225", "LH")
    assert boarding_pass.baggage_tag == "0220123456003" and boarding_pass.baggage_tag_2 is None
    assert (first.frequent_flyer_airline, first.frequent_flyer_number) == ("LH", "992012345678901")
    assert first.ticket_number == "2201234567890" and first.marketing_carrier == "LH"
    assert (first.free_baggage_allowance, first.fast_track, first.airline_use) == ("1PC", "Y", "AB12")
    assert (second.origin, second.operating_carrier, second.flight_number, second.julian_date) == (
        "JFK",
        "UA",
        "1234A",
        121,
    )
    assert (second.fast_track, second.airline_use) == ("N", "")
    assert (boarding_pass.security_data_type, boarding_pass.security_data) == ("1", "SIGNATUR")
    assert encode_boarding_pass(boarding_pass) == TWO_LEGS


def test_a_shorter_conditional_section_of_an_older_version_parses() -> None:
    unique = "1WW6225BLH "  # stops before the bag tags
    variable = ">2" + f"{len(unique):02X}" + unique
    boarding_pass = parse_boarding_pass(IATA_SAMPLE[:-2] + f"{len(variable):02X}" + variable)
    assert boarding_pass.version == "2" and boarding_pass.issuer == "LH" and boarding_pass.baggage_tag is None
    assert boarding_pass.legs[0].frequent_flyer_number is None


def test_hex_sizes_in_lower_case_and_a_trailing_line_break_are_fine() -> None:
    variable = "x" * 26
    data = IATA_SAMPLE[:-2] + "1a" + variable + "\r\n"
    assert parse_boarding_pass(data).legs[0].airline_use == variable


def _at(data: str, position: int, replacement: str) -> str:
    return data[: position - 1] + replacement + data[position - 1 + len(replacement) :]


@pytest.mark.parametrize(
    ("data", "field", "position"),
    [
        (_at(IATA_SAMPLE, 1, "S"), "formatCode", 1),
        (_at(IATA_SAMPLE, 2, "5"), "numberOfLegs", 2),
        (_at(IATA_SAMPLE, 2, "0"), "numberOfLegs", 2),
        ("M1DESMARAIS", "passengerName", 3),
        (_at(IATA_SAMPLE, 3, " " * 20), "passengerName", 3),
        (_at(IATA_SAMPLE, 31, "YU1"), "legs[0].origin", 31),
        (_at(IATA_SAMPLE, 34, "fr "), "legs[0].destination", 34),
        (_at(IATA_SAMPLE, 37, "A-C"), "legs[0].operatingCarrier", 37),
        (_at(IATA_SAMPLE, 40, "08X4 "), "legs[0].flightNumber", 40),
        (_at(IATA_SAMPLE, 45, "2X6"), "legs[0].dateOfFlight", 45),
        (_at(IATA_SAMPLE, 45, "000"), "legs[0].dateOfFlight", 45),
        (_at(IATA_SAMPLE, 45, "367"), "legs[0].dateOfFlight", 45),
        (_at(IATA_SAMPLE, 48, "1"), "legs[0].compartmentCode", 48),
        (IATA_SAMPLE[:50], "legs[0].seatNumber", 49),
        (_at(IATA_SAMPLE, 59, "ZZ"), "legs[0].variableSize", 59),
        (_at(IATA_SAMPLE, 59, "10"), "legs[0].variableSize", 59),
        (_at(IATA_SAMPLE, 2, "2"), "legs[1].pnr", 61),
        (IATA_SAMPLE + "GARBAGE", "securityData", 61),
        (IATA_SAMPLE + "^1" + "10" + "ABC", "securityDataSize", 63),
        (IATA_SAMPLE[:-2] + "06" + ">6" + "09" + "AB", "uniqueConditionalSize", 63),
        (IATA_SAMPLE[:-2] + "0A" + ">6" + "00" + "2A" + "0123", "legs[0].repeatedConditionalSize", 65),
        (_at(IATA_SAMPLE, 5, "É"), "data", 5),
    ],
)
def test_errors_name_the_item_and_its_position(data: str, field: str, position: int) -> None:
    with pytest.raises(BoardingPassInvalid) as raised:
        parse_boarding_pass(data)
    assert (raised.value.field, raised.value.position) == (field, position)
    assert raised.value.code == "BOARDING_PASS_INVALID"
    assert raised.value.message.startswith(f"{field} at position {position}: ")


def test_errors_in_later_legs_name_the_leg() -> None:
    data = TWO_LEGS.replace("JFKBOS", "J1KBOS")
    with pytest.raises(BoardingPassInvalid) as raised:
        parse_boarding_pass(data)
    assert raised.value.field == "legs[1].origin"
    assert data[raised.value.position - 1 : raised.value.position + 2] == "J1K"


@pytest.mark.parametrize(
    ("day", "scanned_on", "expected"),
    [
        (226, dt.date(2026, 11, 21), dt.date(2026, 8, 14)),
        (325, dt.date(2026, 11, 21), dt.date(2026, 11, 21)),  # today
        (326, dt.date(2026, 11, 21), dt.date(2026, 11, 22)),  # tomorrow: scan date + 1 is allowed
        (327, dt.date(2026, 11, 21), dt.date(2025, 11, 23)),  # the day after: last year
        (1, dt.date(2026, 12, 31), dt.date(2027, 1, 1)),
        (366, dt.date(2026, 11, 21), dt.date(2024, 12, 31)),  # day 366 only in leap years
        (60, dt.date(2028, 3, 1), dt.date(2028, 2, 29)),
        (366, dt.date(2028, 12, 30), dt.date(2028, 12, 31)),
    ],
)
def test_the_year_is_inferred(day: int, scanned_on: dt.date, expected: dt.date) -> None:
    assert infer_flight_date(day, scanned_on=scanned_on) == expected


def test_a_flight_more_than_six_months_back_is_refused() -> None:
    scanned_on = dt.date(2026, 11, 21)
    assert recent_flight_date(141, scanned_on=scanned_on, max_age_months=6, field="f") == dt.date(2026, 5, 21)
    with pytest.raises(BoardingPassTooOld) as raised:
        recent_flight_date(140, scanned_on=scanned_on, max_age_months=6, field="legs[0].dateOfFlight")
    assert raised.value.field == "legs[0].dateOfFlight" and "2026-05-20" in raised.value.message


def test_the_encoder_refuses_values_that_do_not_fit() -> None:
    boarding_pass = parse_boarding_pass(IATA_SAMPLE)
    too_long = replace(boarding_pass, legs=(replace(boarding_pass.legs[0], seat="0001A"),))
    with pytest.raises(BoardingPassInvalid) as raised:
        encode_boarding_pass(too_long)
    assert raised.value.field == "legs[0].seatNumber"
    with pytest.raises(BoardingPassInvalid):
        encode_boarding_pass(replace(boarding_pass, legs=boarding_pass.legs * 5))


# Round trips: any pass the encoder writes parses back to the same pass.
TEXT = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 /-.<"


def text(width: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=TEXT, max_size=width).map(str.rstrip)


def regex(pattern: str) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True)


@st.composite
def _conditional(draw: st.DrawFn, items: tuple[layout.Item, ...]) -> dict[str, str | None]:
    """The first k items present (possibly blank), the rest absent: how shorter versions look."""
    present = draw(st.integers(min_value=0, max_value=len(items)))
    return {
        item.attribute: draw(text(item.width)) if index < present else None
        for index, item in enumerate(items)
    }


@st.composite
def legs(draw: st.DrawFn, *, conditional: bool) -> BoardingPassLeg:
    repeated = draw(_conditional(layout.CONDITIONAL_REPEATED)) if conditional else {}
    return BoardingPassLeg(
        pnr=draw(text(7)),
        origin=draw(regex(r"[A-Z]{3}")),
        destination=draw(regex(r"[A-Z]{3}")),
        operating_carrier=draw(regex(r"[A-Z0-9]{2}[A-Z0-9]?")),
        flight_number=draw(regex(r"[0-9]{1,4}[A-Z]?")),
        julian_date=draw(st.none() | st.integers(min_value=1, max_value=366)),
        compartment=draw(st.sampled_from(["", "F", "J", "C", "W", "Y", "M"])),
        seat=draw(text(4)),
        check_in_sequence=draw(text(5)),
        passenger_status=draw(text(1)),
        airline_use=draw(text(30)),
        **repeated,
    )


@st.composite
def boarding_passes(draw: st.DrawFn) -> BoardingPass:
    version = draw(st.none() | st.sampled_from("23456789"))
    conditional = version is not None
    unique = draw(_conditional(layout.CONDITIONAL_UNIQUE)) if conditional else {}
    security = draw(st.none() | st.tuples(regex(r"[0-9A-Z]"), st.text(alphabet=TEXT + "^>", max_size=120)))
    return BoardingPass(
        passenger_name=draw(text(20).filter(bool)),
        electronic_ticket_indicator=draw(st.sampled_from(["", "E"])),
        legs=tuple(draw(st.lists(legs(conditional=conditional), min_size=1, max_size=4))),
        version=version,
        security_data_type=None if security is None else security[0],
        security_data=None if security is None else security[1],
        **unique,
    )


@given(boarding_passes())
def test_encoding_then_parsing_gives_the_same_pass(boarding_pass: BoardingPass) -> None:
    assert parse_boarding_pass(encode_boarding_pass(boarding_pass)) == boarding_pass


@given(boarding_passes())
def test_parsing_then_encoding_gives_the_same_string(boarding_pass: BoardingPass) -> None:
    data = encode_boarding_pass(boarding_pass)
    assert encode_boarding_pass(parse_boarding_pass(data)) == data
