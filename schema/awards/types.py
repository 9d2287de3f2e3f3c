"""Award flights as GraphQL sees them: the inputs, offers, bookings (a Relay connection), the identity check's
answer and MilesPay."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import strawberry

from loyalty.awards import identity
from loyalty.awards import models as award_models
from loyalty.awards.config import current_awards
from loyalty.awards.identity import IdentityConfirmation
from loyalty.awards.pricing import AwardFlight, AwardQuote
from loyalty.earning.model import Money
from schema.awards.enums import AwardBookingState, FareFamily, MilesPayState, PricingMethod
from schema.earning.enums import Cabin
from schema.earning.types import MoneyInput
from schema.errors import InputError, StepUpRequired
from schema.rewards.types import InsufficientMiles


@strawberry.input(
    description="The code of an identity check (IdentityConfirmationRequired), from the e-mail."
)
class IdentityConfirmationInput:
    check_id: strawberry.ID = strawberry.field(description="IdentityConfirmationRequired.checkId.")
    code: str = strawberry.field(description="The digits from the e-mail.")

    def to_domain(self) -> IdentityConfirmation:
        return IdentityConfirmation(check_id=str(self.check_id), code=self.code)


@strawberry.input(description="A Lufthansa Group cash fare the member sees, with its fare family.")
class CashFareInput:
    fare_family: FareFamily = strawberry.field(description="The fare's family.")
    fare: MoneyInput = strawberry.field(description="The cash fare (fare and carrier surcharges).")


@strawberry.input(description="One flight asked for as an award.")
class AwardFlightInput:
    carrier: str = strawberry.field(description="Operating airline, e.g. LH or UA.")
    flight_number: str = strawberry.field(description="1 to 4 digits and an optional letter.")
    origin: str = strawberry.field(description="IATA airport code.")
    destination: str = strawberry.field(description="IATA airport code.")
    departure_date: dt.date = strawberry.field(description="Departure day, today or later.")
    cabin: Cabin = strawberry.field(description="Travel class.")
    fare_family: FareFamily | None = strawberry.field(
        default=None, description="Lufthansa Group carriers: the fare family the miles are computed from."
    )
    cash_fare: MoneyInput | None = strawberry.field(
        default=None, description="Lufthansa Group carriers: the cash fare of that family."
    )

    def to_domain(self) -> AwardFlight:
        return AwardFlight(
            carrier=self.carrier,
            flight_number=self.flight_number,
            origin=self.origin,
            destination=self.destination,
            departure_date=self.departure_date,
            cabin=self.cabin,
            fare_family=self.fare_family,
            cash_fare=None if self.cash_fare is None else self.cash_fare.to_domain(),
        )


@strawberry.input(
    description="An award search: one flight, and for Lufthansa Group carriers the cash fares seen."
)
class SearchAwardFlightsInput:
    flight: AwardFlightInput = strawberry.field(
        description="The flight; with a fareFamily and cashFare it prices that one fare (Lufthansa Group)."
    )
    cash_fares: list[CashFareInput] = strawberry.field(
        default_factory=list,
        description="Lufthansa Group carriers: one offer per fare; other partners need none.",
    )
    identity_confirmation: IdentityConfirmationInput | None = strawberry.field(
        default=None, description="The e-mailed code, when IdentityConfirmationRequired asked for it."
    )

    def fares(self) -> list[AwardFlight]:
        flight = self.flight.to_domain()
        return [
            AwardFlight(
                carrier=flight.carrier,
                flight_number=flight.flight_number,
                origin=flight.origin,
                destination=flight.destination,
                departure_date=flight.departure_date,
                cabin=flight.cabin,
                fare_family=fare.fare_family,
                cash_fare=Money(amount=fare.fare.amount, currency=fare.fare.currency),
            )
            for fare in self.cash_fares
        ]


@strawberry.input(description="Book an award flight with miles, or with Cash & Miles.")
class BookAwardFlightInput:
    flight: AwardFlightInput = strawberry.field(description="The flight, as searched.")
    request_id: str = strawberry.field(
        description="Chosen by the client (e.g. a UUID), 1 to 100 characters; a retry with the same one books once."
    )
    miles_to_pay: int | None = strawberry.field(
        default=None,
        description="Cash & Miles: the miles part (at least 3,000, in steps of 1,000); the rest is paid in euros "
        "at the published rate. Leave out to pay all in miles.",
    )
    identity_confirmation: IdentityConfirmationInput | None = strawberry.field(
        default=None, description="The e-mailed code, when IdentityConfirmationRequired asked for it."
    )


@strawberry.input(description="Cancel an award booking (before its departure day).")
class CancelAwardBookingInput:
    booking_id: strawberry.ID = strawberry.field(description="AwardBooking.id.")


@strawberry.input(description="Opt in to MilesPay with a cap, or opt out.")
class SetMilesPayInput:
    enabled: bool = strawberry.field(description="True: the next card purchase is paid with miles.")
    cap_miles: int | None = strawberry.field(
        default=None, description="With enabled: at most this many miles (3,000 to 50,000)."
    )


@strawberry.type(description="Cash & Miles: part of the miles price paid in euros at the published rate.")
class CashAndMilesTerms:
    eur_per_mile: Decimal = strawberry.field(description="Euros per mile not paid in miles.")
    minimum_miles: int = strawberry.field(description="The smallest miles part.")
    step_miles: int = strawberry.field(description="The miles part goes in steps of this many miles.")


@strawberry.type(description="An award flight's price in miles.")
class AwardOffer:
    carrier: str = strawberry.field(description="Operating airline.")
    flight_number: str = strawberry.field(description="Flight number.")
    origin: str = strawberry.field(description="IATA airport code.")
    destination: str = strawberry.field(description="IATA airport code.")
    departure_date: dt.date = strawberry.field(description="Departure day.")
    cabin: Cabin = strawberry.field(description="Travel class.")
    pricing: PricingMethod = strawberry.field(description="DYNAMIC or ZONE_CHART.")
    fare_family: FareFamily | None = strawberry.field(description="The fare family (DYNAMIC only).")
    cash_fare_eur: Decimal | None = strawberry.field(
        description="The cash fare in EUR it came from (DYNAMIC)."
    )
    origin_zone: str = strawberry.field(description="Award zone of the origin.")
    destination_zone: str = strawberry.field(description="Award zone of the destination.")
    long_haul: bool = strawberry.field(description="Not within the continental zones.")
    miles: int = strawberry.field(description="Award miles, one way.")
    cash_and_miles: CashAndMilesTerms = strawberry.field(description="How Cash & Miles may split it.")

    @classmethod
    def from_domain(cls, quote: AwardQuote) -> AwardOffer:
        terms = current_awards().cash_and_miles
        flight = quote.flight
        return cls(
            carrier=flight.carrier,
            flight_number=flight.flight_number,
            origin=flight.origin,
            destination=flight.destination,
            departure_date=flight.departure_date,
            cabin=flight.cabin,
            pricing=quote.pricing,
            fare_family=flight.fare_family if quote.pricing is PricingMethod.DYNAMIC else None,
            cash_fare_eur=quote.fare_eur,
            origin_zone=quote.origin_zone,
            destination_zone=quote.destination_zone,
            long_haul=quote.long_haul,
            miles=quote.miles,
            cash_and_miles=CashAndMilesTerms(
                eur_per_mile=terms.eur_per_mile,
                minimum_miles=terms.minimum_miles,
                step_miles=terms.step_miles,
            ),
        )


@strawberry.type(description="The award offers for the flight searched.")
class AwardOffers:
    offers: list[AwardOffer] = strawberry.field(description="One per cash fare (Lufthansa Group), else one.")


@strawberry.type(description="An award flight booked with miles.")
class AwardBooking:
    id: strawberry.ID = strawberry.field(description="Pass it to cancelAwardBooking.")
    ticket_number: str = strawberry.field(
        description="The award ticket's 13-digit number (it earns nothing)."
    )
    carrier: str = strawberry.field(description="Operating airline.")
    flight_number: str = strawberry.field(description="Flight number.")
    origin: str = strawberry.field(description="IATA airport code.")
    destination: str = strawberry.field(description="IATA airport code.")
    departure_date: dt.date = strawberry.field(description="Departure day.")
    cabin: Cabin = strawberry.field(description="Travel class.")
    fare_family: FareFamily | None = strawberry.field(description="The fare family (DYNAMIC pricing).")
    pricing: PricingMethod = strawberry.field(description="DYNAMIC or ZONE_CHART.")
    price_miles: int = strawberry.field(description="The award's price in miles.")
    miles: int = strawberry.field(description="Miles paid (less than the price with Cash & Miles).")
    cash_eur: Decimal = strawberry.field(description="Euros paid (Cash & Miles); 0 when all in miles.")
    state: AwardBookingState = strawberry.field(description="BOOKED or CANCELLED.")
    created_at: dt.datetime = strawberry.field(description="When it was booked.")
    cancelled_at: dt.datetime | None = strawberry.field(description="When it was cancelled, if it was.")

    @classmethod
    def from_model(cls, row: award_models.AwardBooking) -> AwardBooking:
        return cls(
            id=strawberry.ID(str(row.id)),
            ticket_number=row.ticket_number,
            carrier=row.carrier,
            flight_number=row.flight_number,
            origin=row.origin,
            destination=row.destination,
            departure_date=row.departure_date,
            cabin=row.cabin,
            fare_family=None if row.fare_family is None else FareFamily(row.fare_family),
            pricing=PricingMethod(row.pricing),
            price_miles=row.price_miles,
            miles=row.miles,
            cash_eur=row.cash_eur,
            state=row.state,
            created_at=row.created_at,
            cancelled_at=row.cancelled_at,
        )


@strawberry.type(description="The award was booked (or, for a repeated requestId, had been already).")
class AwardFlightBooked:
    booking: AwardBooking = strawberry.field(description="The booking.")
    award_miles: int = strawberry.field(description="The member's award-miles balance afterwards.")


@strawberry.type(
    description="The award booking was cancelled: its miles are back, with their original expiry."
)
class AwardBookingCancelled:
    booking: AwardBooking = strawberry.field(description="The booking, now CANCELLED.")
    award_miles: int = strawberry.field(description="The member's award-miles balance afterwards.")


@strawberry.type(
    description="Confirm it is you: a code was e-mailed (app second factor off and more than 10,000 miles). "
    "Send the same request again with identityConfirmation { checkId code }. Nothing was changed."
)
class IdentityConfirmationRequired:
    code: str = strawberry.field(description="IDENTITY_CONFIRMATION_REQUIRED.")
    message: str = strawberry.field(description="A sentence for people.")
    check_id: strawberry.ID = strawberry.field(description="Send it back with the code.")
    expires_at: dt.datetime = strawberry.field(description="Until when the code works.")
    code_sent: bool = strawberry.field(
        description="False when no new e-mail went out (codes still open): use the one sent a moment ago."
    )

    domain_errors = (identity.IdentityConfirmationRequired,)

    @classmethod
    def from_domain(cls, error: identity.IdentityConfirmationRequired) -> IdentityConfirmationRequired:
        return cls(
            code=error.code,
            message=error.message,
            check_id=strawberry.ID(error.check_id),
            expires_at=error.expires_at,
            code_sent=error.code_sent,
        )


@strawberry.type(description="The member's MilesPay opt-in.")
class MilesPay:
    state: MilesPayState = strawberry.field(description="ACTIVE until a card purchase uses it.")
    cap_miles: int = strawberry.field(description="At most this many miles pay the next purchase.")
    created_at: dt.datetime = strawberry.field(description="When the member opted in.")

    @classmethod
    def from_model(cls, row: award_models.MilesPayOptIn) -> MilesPay:
        return cls(state=row.state, cap_miles=row.cap_miles, created_at=row.created_at)


@strawberry.type(description="The member's MilesPay choice was saved.")
class MilesPaySet:
    milespay: MilesPay | None = strawberry.field(description="The active opt-in; none after opting out.")


SearchAwardFlightsResult = Annotated[
    AwardOffers | IdentityConfirmationRequired | InputError, strawberry.union("SearchAwardFlightsResult")
]
BookAwardFlightResult = Annotated[
    AwardFlightBooked | InsufficientMiles | IdentityConfirmationRequired | StepUpRequired | InputError,
    strawberry.union("BookAwardFlightResult"),
]
CancelAwardBookingResult = Annotated[
    AwardBookingCancelled | StepUpRequired | InputError, strawberry.union("CancelAwardBookingResult")
]
SetMilesPayResult = Annotated[
    MilesPaySet | StepUpRequired | InputError, strawberry.union("SetMilesPayResult")
]
