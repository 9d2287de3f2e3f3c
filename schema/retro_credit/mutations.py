"""Asking to credit a flight afterwards, by form or by boarding pass."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty.retro_credit.checks import FlightClaim
from resolvers import retro_credit
from resolvers.partners import directory_of
from schema.context import Info
from schema.fields import mutation
from schema.inputs import from_arguments, old_argument
from schema.permissions import signed_in
from schema.retro_credit.inputs import BARCODE, TICKET_NUMBER, RetroCreditByBoardingPassInput
from schema.retro_credit.types import (
    RequestRetroCreditResult,
    RetroCreditInput,
    RetroCreditRequest,
    RetroCreditRequested,
)


@strawberry.type
class RetroCreditMutations:
    @mutation(
        description="Ask to credit a flight afterwards (retro credit), by form: date, flight, route, class and "
        "ticket number. Within 6 months of the flight (flights before joining count); partner airlines outside "
        "the Lufthansa Group only from 7 days after it; the ticket must be in the member's name. The request is "
        "checked against the airline's flown data and then ACCEPTED (credited once) or REJECTED with a reason "
        "(me.retroCreditRequests). A flight already credited or asked for is refused."
    )
    async def request_retro_credit(self, info: Info, input: RetroCreditInput) -> RequestRetroCreditResult:
        principal = signed_in(info.context)
        claim = FlightClaim(
            ticket_number=input.ticket_number,
            carrier=input.carrier,
            flight_number=input.flight_number,
            flight_date=input.flight_date,
            origin=input.origin,
            destination=input.destination,
            cabin=input.cabin,
            booking_class=input.booking_class,
            boarding_pass=input.boarding_pass,
        )
        rows = await retro_credit.request_retro_credit(
            account_id=principal.account_id,
            claim=claim,
            rules=info.context.rules,
            chart=directory_of(info.context.partners).earning_chart(),
        )
        return RetroCreditRequested(requests=[RetroCreditRequest.from_model(row) for row in rows])

    @mutation(
        description="Ask to credit the flights of a boarding pass (its barcode string, as a scanner or POST "
        "/boarding-passes/scan returns it); one request per flight, under the same rules as requestRetroCredit. "
        "Pictures of a pass go to POST /retro-credit/boarding-pass."
    )
    async def request_retro_credit_by_boarding_pass(
        self,
        info: Info,
        input: RetroCreditByBoardingPassInput | None = None,
        data: Annotated[str | None, old_argument(BARCODE, field="data")] = None,
        ticket_number: Annotated[str | None, old_argument(TICKET_NUMBER, field="ticketNumber")] = None,
    ) -> RequestRetroCreditResult:
        account_id = signed_in(info.context).account_id  # signed in before the input is read
        given = from_arguments(RetroCreditByBoardingPassInput, input, data=data, ticket_number=ticket_number)
        rows = await retro_credit.request_by_boarding_pass(
            account_id=account_id,
            data=given.data,
            ticket_number=given.ticket_number,
            rules=info.context.rules,
            chart=directory_of(info.context.partners).earning_chart(),
        )
        return RetroCreditRequested(requests=[RetroCreditRequest.from_model(row) for row in rows])
