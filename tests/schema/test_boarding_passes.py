"""Reading a boarding pass through the real schema: fields, inferred dates, positioned errors."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from httpx2 import AsyncClient

from loyalty.bcbp.encoder import encode_boarding_pass
from loyalty.bcbp.parser import parse_boarding_pass
from tests.factories import gql
from tests.loyalty.test_bcbp import IATA_SAMPLE, QANTAS_SAMPLE, TWO_LEGS

READ = """
query Read($data: String!) {
  boardingPass(data: $data) {
    __typename
    ... on BoardingPass {
      data symbology passengerName surname givenNames electronicTicket version issuer baggageTags securityData
      legs {
        pnr origin destination operatingCarrier flightNumber dayOfYear flightDate compartment seat
        checkInSequence passengerStatus ticketNumber marketingCarrier frequentFlyerAirline frequentFlyerNumber
      }
    }
    ... on BoardingPassInvalid { code field position message }
    ... on InputError { code field message }
  }
}
"""


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def dated(data: str, day: dt.date) -> str:
    """The pass with every leg's day of the year set to ``day``."""
    boarding_pass = parse_boarding_pass(data)
    legs = tuple(replace(leg, julian_date=day.timetuple().tm_yday) for leg in boarding_pass.legs)
    return encode_boarding_pass(replace(boarding_pass, legs=legs))


async def read(client: AsyncClient, data: str) -> dict[str, Any]:
    body = await gql(client, READ, {"data": data})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["boardingPass"]
    return result


async def test_the_iata_sample(client: AsyncClient) -> None:
    yesterday = _today() - dt.timedelta(days=1)
    result = await read(client, dated(IATA_SAMPLE, yesterday))
    assert result["__typename"] == "BoardingPass"
    assert (result["surname"], result["givenNames"], result["electronicTicket"]) == ("DESMARAIS", "LUC", True)
    assert result["symbology"] is None and result["version"] is None and result["baggageTags"] == []
    (leg,) = result["legs"]
    assert leg == {
        "pnr": "ABC123",
        "origin": "YUL",
        "destination": "FRA",
        "operatingCarrier": "AC",
        "flightNumber": "834",
        "dayOfYear": yesterday.timetuple().tm_yday,
        "flightDate": yesterday.isoformat(),
        "compartment": "F",
        "seat": "001A",
        "checkInSequence": "0025",
        "passengerStatus": "1",
        "ticketNumber": None,
        "marketingCarrier": None,
        "frequentFlyerAirline": None,
        "frequentFlyerNumber": None,
    }


async def test_the_qantas_sample_with_blanks(client: AsyncClient) -> None:
    result = await read(client, dated(QANTAS_SAMPLE, _today()))
    assert (result["passengerName"], result["electronicTicket"]) == ("EWING/SHAUN MR", False)
    assert result["legs"][0]["passengerStatus"] is None and result["legs"][0]["seat"] == "26J"


async def test_two_legs_with_the_frequent_flyer_number(client: AsyncClient) -> None:
    result = await read(client, dated(TWO_LEGS, _today()))
    first, second = result["legs"]
    assert (first["frequentFlyerAirline"], first["frequentFlyerNumber"]) == ("LH", "992012345678901")
    assert first["ticketNumber"] == "2201234567890" and second["flightNumber"] == "1234A"
    assert result["version"] == "6" and result["issuer"] == "LH" and result["securityData"] == "SIGNATUR"
    assert result["baggageTags"] == ["0220123456003"]


async def test_errors_name_the_field_and_position(client: AsyncClient) -> None:
    result = await read(client, IATA_SAMPLE.replace("YULFRA", "YUL123"))
    assert result["__typename"] == "BoardingPassInvalid"
    assert (result["code"], result["field"], result["position"]) == (
        "BOARDING_PASS_INVALID",
        "legs[0].destination",
        34,
    )


async def test_a_flight_more_than_six_months_back_is_refused(client: AsyncClient) -> None:
    result = await read(client, dated(IATA_SAMPLE, _today() - dt.timedelta(days=200)))
    assert (result["__typename"], result["code"], result["field"]) == (
        "InputError",
        "BOARDING_PASS_TOO_OLD",
        "legs[0].dateOfFlight",
    )
