"""Bar-coded boarding passes (IATA Resolution 792, DOMAIN.md 6.1), read from their barcode string."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from loyalty.bcbp.model import BoardingPassInvalid as BoardingPassInvalidError
from loyalty.bcbp.model import BoardingPassLeg as Leg
from loyalty.bcbp.service import ScannedBoardingPass
from schema.boarding_passes.enums import Symbology
from schema.errors import InputError


def _text(value: str | None) -> str | None:
    """Blank items of the pass become null."""
    return value or None


@strawberry.type(description="One flight of a boarding pass. Blank or absent items are null.")
class BoardingPassLeg:
    pnr: str | None = strawberry.field(description="The operating carrier's booking reference (PNR).")
    origin: str = strawberry.field(description="Departure airport (IATA).")
    destination: str = strawberry.field(description="Arrival airport (IATA).")
    operating_carrier: str = strawberry.field(description="The operating airline's designator.")
    flight_number: str = strawberry.field(description="Flight number without leading zeros, e.g. 834.")
    day_of_year: int | None = strawberry.field(
        description="The flight's day of the year as the pass holds it."
    )
    flight_date: dt.date | None = strawberry.field(
        description="The flight date, with the year inferred: the latest such day on or before the scan date + 1."
    )
    compartment: str | None = strawberry.field(description="Compartment (cabin) code, e.g. F, J or Y.")
    seat: str | None = strawberry.field(description="Seat, e.g. 001A.")
    check_in_sequence: str | None = strawberry.field(description="Check-in sequence number.")
    passenger_status: str | None = strawberry.field(description="Passenger status (1 = checked in).")
    ticket_number: str | None = strawberry.field(
        description="13-digit ticket number (airline numeric code + document serial), when the pass has it."
    )
    marketing_carrier: str | None = strawberry.field(description="The marketing airline's designator.")
    frequent_flyer_airline: str | None = strawberry.field(
        description="The frequent-flyer programme's airline."
    )
    frequent_flyer_number: str | None = strawberry.field(
        description="The frequent-flyer number on the pass: a hint only, never proof of the account."
    )
    free_baggage_allowance: str | None = strawberry.field(
        description="Free baggage allowance, e.g. 20K or 1PC."
    )
    fast_track: str | None = strawberry.field(description="Fast track indicator (Y/N).")
    selectee: str | None = strawberry.field(description="Selectee indicator.")
    international_document_verification: str | None = strawberry.field(
        description="International document verification indicator."
    )
    id_ad_indicator: str | None = strawberry.field(description="ID/AD (industry discount) indicator.")
    airline_use: str | None = strawberry.field(description="The airline's own data for this leg.")

    @classmethod
    def from_domain(cls, leg: Leg, flight_date: dt.date | None) -> BoardingPassLeg:
        return cls(
            pnr=_text(leg.pnr),
            origin=leg.origin,
            destination=leg.destination,
            operating_carrier=leg.operating_carrier,
            flight_number=leg.flight_number_digits,
            day_of_year=leg.julian_date,
            flight_date=flight_date,
            compartment=_text(leg.compartment),
            seat=_text(leg.seat),
            check_in_sequence=_text(leg.check_in_sequence),
            passenger_status=_text(leg.passenger_status),
            ticket_number=leg.ticket_number,
            marketing_carrier=_text(leg.marketing_carrier),
            frequent_flyer_airline=_text(leg.frequent_flyer_airline),
            frequent_flyer_number=_text(leg.frequent_flyer_number),
            free_baggage_allowance=_text(leg.free_baggage_allowance),
            fast_track=_text(leg.fast_track),
            selectee=_text(leg.selectee),
            international_document_verification=_text(leg.international_document_verification),
            id_ad_indicator=_text(leg.id_ad_indicator),
            airline_use=_text(leg.airline_use),
        )


@strawberry.type(description="A bar-coded boarding pass (format M, 1 to 4 legs), as its barcode holds it.")
class BoardingPass:
    data: str = strawberry.field(description="The barcode's string.")
    symbology: Symbology | None = strawberry.field(
        description="The barcode it was read from; null when the string was typed or pasted."
    )
    passenger_name: str = strawberry.field(description="SURNAME/GIVEN TITLE, cut at 20 characters.")
    surname: str = strawberry.field(description="The part before the slash.")
    given_names: str = strawberry.field(description="The part after the slash (may be cut short).")
    electronic_ticket: bool = strawberry.field(description="The pass marks an electronic ticket (E).")
    legs: list[BoardingPassLeg] = strawberry.field(description="The flights, in order.")
    version: str | None = strawberry.field(description="Version of the conditional part; null without one.")
    passenger_description: str | None = strawberry.field(description="Passenger description code.")
    check_in_source: str | None = strawberry.field(
        description="Where the passenger checked in (e.g. W = web)."
    )
    issuance_source: str | None = strawberry.field(description="Where the pass was issued.")
    issue_date: str | None = strawberry.field(description="Issue date: last digit of the year + day of year.")
    document_type: str | None = strawberry.field(description="B = boarding pass, I = itinerary receipt.")
    issuer: str | None = strawberry.field(description="Designator of the airline that issued the pass.")
    baggage_tags: list[str] = strawberry.field(description="Baggage tag licence plate numbers.")
    security_data_type: str | None = strawberry.field(description="Type of the airline's security data.")
    security_data: str | None = strawberry.field(
        description="The airline's security data (e.g. a signature)."
    )

    @classmethod
    def from_domain(cls, scanned: ScannedBoardingPass) -> BoardingPass:
        boarding_pass = scanned.boarding_pass
        tags = (boarding_pass.baggage_tag, boarding_pass.baggage_tag_2, boarding_pass.baggage_tag_3)
        return cls(
            data=scanned.data,
            symbology=scanned.symbology,
            passenger_name=boarding_pass.passenger_name,
            surname=boarding_pass.surname,
            given_names=boarding_pass.given_names,
            electronic_ticket=boarding_pass.electronic_ticket,
            legs=[
                BoardingPassLeg.from_domain(leg, flight_date)
                for leg, flight_date in zip(boarding_pass.legs, scanned.flight_dates, strict=True)
            ],
            version=boarding_pass.version,
            passenger_description=_text(boarding_pass.passenger_description),
            check_in_source=_text(boarding_pass.check_in_source),
            issuance_source=_text(boarding_pass.issuance_source),
            issue_date=_text(boarding_pass.issue_date),
            document_type=_text(boarding_pass.document_type),
            issuer=_text(boarding_pass.issuer),
            baggage_tags=[tag for tag in tags if tag],
            security_data_type=_text(boarding_pass.security_data_type),
            security_data=_text(boarding_pass.security_data),
        )


@strawberry.type(
    description="The string is not a format-M boarding pass. The error names the item and where it starts."
)
class BoardingPassInvalid:
    code: str = strawberry.field(description="BOARDING_PASS_INVALID.")
    field: str | None = strawberry.field(description="The item, e.g. legs[0].dateOfFlight.")
    position: int = strawberry.field(description="Where the item starts in the string, counting from 1.")
    message: str = strawberry.field(description="A sentence for people.")

    domain_errors = (BoardingPassInvalidError,)

    @classmethod
    def from_domain(cls, error: BoardingPassInvalidError) -> BoardingPassInvalid:
        return cls(code=error.code, field=error.field, position=error.position, message=error.message)


BoardingPassResult = Annotated[
    BoardingPass | BoardingPassInvalid | InputError, strawberry.union("BoardingPassResult")
]
