"""Searching, booking and cancelling award flights, and MilesPay."""

from __future__ import annotations

import strawberry

from loyalty.earning.chart import RateTable
from resolvers import awards
from resolvers.partners import directory_of
from schema.awards.types import (
    AwardBooking,
    AwardBookingCancelled,
    AwardFlightBooked,
    AwardOffer,
    AwardOffers,
    BookAwardFlightInput,
    BookAwardFlightResult,
    CancelAwardBookingInput,
    CancelAwardBookingResult,
    MilesPay,
    MilesPaySet,
    SearchAwardFlightsInput,
    SearchAwardFlightsResult,
    SetMilesPayInput,
    SetMilesPayResult,
)
from schema.context import Info
from schema.fields import mutation
from schema.permissions import StepUp, signed_in


def _rates(info: Info) -> RateTable:
    return directory_of(info.context.partners).earning_chart().rates


@strawberry.type
class AwardMutations:
    @mutation(
        description="Price an award flight (signed in). Lufthansa, SWISS, Austrian and Lufthansa City are priced "
        "dynamically: one offer per cash fare given, miles from the fare and its fare family. Every other partner "
        "by the zone chart (11 zones, per cabin). A member with app 2FA off and more than 10,000 miles confirms "
        "each search with an e-mailed code (IdentityConfirmationRequired, then the same input with "
        "identityConfirmation). A mutation, because it may send that e-mail and spend that code."
    )
    async def search_award_flights(
        self, info: Info, input: SearchAwardFlightsInput
    ) -> SearchAwardFlightsResult:
        quotes = await awards.search_awards(
            account_id=signed_in(info.context).account_id,
            flight=input.flight.to_domain(),
            fares=input.fares(),
            confirmation=None
            if input.identity_confirmation is None
            else input.identity_confirmation.to_domain(),
            rates=_rates(info),
        )
        return AwardOffers(offers=[AwardOffer.from_domain(quote) for quote in quotes])

    @mutation(
        description="Book an award flight (needs AUTHENTICATED): a redemption, atomic, once per requestId. Pays "
        "the price in miles, or with Cash & Miles (milesToPay) part of it in euros. The identity check applies "
        "as for searches. The award ticket earns no Points or miles when flown.",
        permission_classes=[StepUp],
    )
    async def book_award_flight(self, info: Info, input: BookAwardFlightInput) -> BookAwardFlightResult:
        change = await awards.book_award(
            account_id=signed_in(info.context).account_id,
            flight=input.flight.to_domain(),
            request_id=input.request_id,
            miles_to_pay=input.miles_to_pay,
            confirmation=None
            if input.identity_confirmation is None
            else input.identity_confirmation.to_domain(),
            rates=_rates(info),
            rules=info.context.rules,
        )
        return AwardFlightBooked(
            booking=AwardBooking.from_model(change.booking), award_miles=change.award_miles
        )

    @mutation(
        description="Cancel an award booking before its departure day (needs AUTHENTICATED): the miles go back "
        "with their original expiry; once (ALREADY_CANCELLED after that).",
        permission_classes=[StepUp],
    )
    async def cancel_award_booking(
        self, info: Info, input: CancelAwardBookingInput
    ) -> CancelAwardBookingResult:
        change = await awards.cancel_award(
            account_id=signed_in(info.context).account_id,
            booking_id=str(input.booking_id),
            rules=info.context.rules,
        )
        return AwardBookingCancelled(
            booking=AwardBooking.from_model(change.booking), award_miles=change.award_miles
        )

    @mutation(
        description="MilesPay (needs AUTHENTICATED): opt in with a cap, and the bank's next card purchase is paid "
        "with miles up to it (then opt in again); or opt out.",
        permission_classes=[StepUp],
    )
    async def set_miles_pay(self, info: Info, input: SetMilesPayInput) -> SetMilesPayResult:
        row = await awards.set_milespay(
            account_id=signed_in(info.context).account_id, enabled=input.enabled, cap_miles=input.cap_miles
        )
        return MilesPaySet(milespay=None if row is None else MilesPay.from_model(row))
