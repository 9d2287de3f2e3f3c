"""Retroactive credit of flights and photo credit of receipts (DOMAIN.md 6)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from loyalty.photo_credit.models import ReceiptUpload
from loyalty.retro_credit import models
from loyalty.retro_credit.service import RetroCreditRefused as RefusedError
from schema.boarding_passes.types import BoardingPassInvalid
from schema.earning.enums import Cabin
from schema.errors import InputError
from schema.retro_credit.enums import ReceiptState, RetroCreditChannel, RetroCreditReason, RetroCreditState


@strawberry.type(description="A request to credit a flight afterwards, and where it stands.")
class RetroCreditRequest:
    id: strawberry.ID = strawberry.field(description="The request's id.")
    channel: RetroCreditChannel = strawberry.field(description="How the member asked.")
    state: RetroCreditState = strawberry.field(description="Where the request stands.")
    reason: RetroCreditReason | None = strawberry.field(description="Why it was rejected; null otherwise.")
    reason_text: str | None = strawberry.field(description="The reason in a sentence; null unless rejected.")
    ticket_number: str = strawberry.field(description="The 13-digit ticket number.")
    carrier: str = strawberry.field(description="The operating airline's designator, e.g. LH.")
    flight_number: str = strawberry.field(description="Flight number without leading zeros.")
    flight_date: dt.date = strawberry.field(description="The day of the flight.")
    origin: str = strawberry.field(description="Departure airport (IATA).")
    destination: str = strawberry.field(description="Arrival airport (IATA).")
    cabin: Cabin = strawberry.field(description="The travel class claimed.")
    booking_class: str = strawberry.field(description="The booking class claimed.")
    submitted_at: dt.datetime = strawberry.field(description="When the member asked.")
    decided_at: dt.datetime | None = strawberry.field(description="When it was accepted or rejected.")
    award_miles: int = strawberry.field(description="Award miles credited (0 unless accepted).")
    points: int = strawberry.field(description="Points credited.")
    qualifying_points: int = strawberry.field(description="Qualifying Points credited.")
    hon_circle_points: int = strawberry.field(description="HON Circle Points credited.")

    @classmethod
    def from_model(cls, row: models.RetroCreditRequest) -> RetroCreditRequest:
        return cls(
            id=strawberry.ID(str(row.id)),
            channel=row.channel,
            state=row.state,
            reason=row.reason,
            reason_text=row.reason_text or None,
            ticket_number=row.ticket_number,
            carrier=row.carrier,
            flight_number=row.flight_number,
            flight_date=row.flight_date,
            origin=row.origin,
            destination=row.destination,
            cabin=row.cabin,
            booking_class=row.booking_class,
            submitted_at=row.submitted_at,
            decided_at=row.decided_at,
            award_miles=row.award_miles,
            points=row.points,
            qualifying_points=row.qualifying_points,
            hon_circle_points=row.hon_circle_points,
        )


@strawberry.input(
    description="One flight, as on the ticket. Every field is needed: an incomplete request is not registered."
)
class RetroCreditInput:
    flight_date: dt.date = strawberry.field(description="The day of the flight (at most 6 months ago).")
    carrier: str = strawberry.field(description="The operating airline's designator, e.g. LH.")
    flight_number: str = strawberry.field(description="1 to 4 digits and an optional letter, e.g. 400.")
    origin: str = strawberry.field(description="Departure airport (IATA), e.g. FRA.")
    destination: str = strawberry.field(description="Arrival airport (IATA), e.g. JFK.")
    cabin: Cabin = strawberry.field(description="The travel class.")
    booking_class: str = strawberry.field(description="The booking class letter on the ticket, e.g. J.")
    ticket_number: str = strawberry.field(description="The 13-digit ticket number: it matters most.")
    boarding_pass: str | None = strawberry.field(
        default=None,
        description="The boarding pass's barcode string: needed for airlines that ask for it (DOC_REQUIRED).",
    )


@strawberry.type(description="The request was registered; each flight's request shows where it stands.")
class RetroCreditRequested:
    requests: list[RetroCreditRequest] = strawberry.field(description="One request per flight.")


@strawberry.type(description="The request was not registered (nothing was changed).")
class RetroCreditRefused:
    code: str = strawberry.field(
        description="DUPLICATE_REQUEST (asked for already and not rejected), ALREADY_CREDITED or DOC_REQUIRED "
        "(the airline needs the boarding pass)."
    )
    field: str | None = strawberry.field(description="The input field concerned.")
    message: str = strawberry.field(description="A sentence for people.")

    domain_errors = (RefusedError,)

    @classmethod
    def from_domain(cls, error: RefusedError) -> RetroCreditRefused:
        return cls(code=error.code, field=error.field, message=error.message)


RequestRetroCreditResult = Annotated[
    RetroCreditRequested | RetroCreditRefused | BoardingPassInvalid | InputError,
    strawberry.union("RequestRetroCreditResult"),
]


@strawberry.type(description="A receipt photo sent for photo credit, and the partner's verdict.")
class PhotoCreditReceipt:
    receipt_id: str = strawberry.field(description="The reference the partner answers with.")
    partner_code: str = strawberry.field(description="The shopping partner.")
    state: ReceiptState = strawberry.field(description="SUBMITTED, APPROVED or REJECTED.")
    uploaded_at: dt.datetime = strawberry.field(description="When the member sent it.")
    decided_at: dt.datetime | None = strawberry.field(description="When the partner decided.")
    miles: int = strawberry.field(description="Award miles credited (0 unless approved).")
    reason: str | None = strawberry.field(description="The partner's reason for a rejection.")

    @classmethod
    def from_model(cls, row: ReceiptUpload) -> PhotoCreditReceipt:
        return cls(
            receipt_id=row.receipt_id,
            partner_code=row.partner_code,
            state=row.state,
            uploaded_at=row.uploaded_at,
            decided_at=row.decided_at,
            miles=row.miles,
            reason=row.reason or None,
        )


@strawberry.type(description="A shopping partner that credits miles for a photographed receipt.")
class PhotoCreditPartner:
    code: str = strawberry.field(description="Send it as ?partner= to POST /photo-credit/receipts.")
    name: str = strawberry.field(description="The partner's name.")
