"""Asking for retro credit: by form or by boarding pass; and what the member sees of their requests.

A request is registered (SUBMITTED) only when it is complete and could be credited at all: a claim
for a flight already credited (ALREADY_CREDITED), one already asked for and not rejected
(DUPLICATE_REQUEST), or one without the boarding pass a partner requires (DOC_REQUIRED) is refused
with that code and changes nothing. A registered request is decided at once as far as it can be
(:func:`loyalty.retro_credit.decision.decide`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.bcbp.dates import infer_flight_date
from loyalty.bcbp.model import BoardingPass
from loyalty.bcbp.parser import parse_boarding_pass
from loyalty.earning.chart import EarningChart
from loyalty.errors import DomainError, NotFound, ValidationFailed
from loyalty.flown.accrual import FlownFlight, flight_earning
from loyalty.ledger.models import Posting
from loyalty.members.models import Member
from loyalty.paging import Page, PageRequest, newest_first
from loyalty.retro_credit.checks import (
    FlightClaim,
    cabin_for_compartment,
    in_claim_terms,
    needs_boarding_pass,
    validate_claim,
)
from loyalty.retro_credit.decision import decide
from loyalty.retro_credit.models import RetroCreditChannel, RetroCreditRequest, RetroCreditState
from loyalty.rules import ProgrammeRules, RetroCreditRules


class RetroCreditRefused(DomainError):
    """The request is not registered: DUPLICATE_REQUEST, ALREADY_CREDITED or DOC_REQUIRED."""

    code = "RETRO_CREDIT_REFUSED"


def _flight(claim: FlightClaim) -> FlownFlight:
    return FlownFlight(
        ticket_number=claim.ticket_number,
        carrier=claim.carrier,
        flight_number=claim.flight_number,
        flight_date=claim.flight_date,
        origin=claim.origin,
        destination=claim.destination,
        cabin=claim.cabin,
        booking_class=claim.booking_class,
    )


def _matching_leg_name(claim: FlightClaim, rules: RetroCreditRules, *, today: dt.date) -> FlightClaim:
    """A form's boarding pass must show the claimed flight; its name is then checked like a pass's."""
    assert claim.boarding_pass is not None
    boarding_pass = parse_boarding_pass(claim.boarding_pass)
    for leg_claim in leg_claims(boarding_pass, ticket_number=claim.ticket_number, rules=rules, today=today):
        if (leg_claim.carrier, leg_claim.flight_number, leg_claim.flight_date) == (
            claim.carrier,
            claim.flight_number,
            claim.flight_date,
        ):
            return replace(
                claim,
                passenger_surname=leg_claim.passenger_surname,
                passenger_given_name=leg_claim.passenger_given_name,
            )
    raise ValidationFailed(
        "The boarding pass is for another flight.", field="boardingPass", code="BOARDING_PASS_MISMATCH"
    )


async def _register(
    claim: FlightClaim, *, account_id: int, channel: RetroCreditChannel, now: dt.datetime
) -> RetroCreditRequest:
    key = _flight(claim).credit_key
    if await Posting.exists(idempotency_key=key):
        raise RetroCreditRefused(
            "This flight has been credited already.", field="ticketNumber", code="ALREADY_CREDITED"
        )
    try:
        async with in_transaction():
            return await RetroCreditRequest.create(
                account_id=account_id,
                channel=channel,
                state=RetroCreditState.SUBMITTED,
                ticket_number=claim.ticket_number,
                carrier=claim.carrier,
                flight_number=claim.flight_number,
                flight_date=claim.flight_date,
                origin=claim.origin,
                destination=claim.destination,
                cabin=claim.cabin,
                booking_class=claim.booking_class,
                passenger_surname=claim.passenger_surname[:64],
                passenger_given_name=claim.passenger_given_name[:64],
                boarding_pass=claim.boarding_pass,
                open_key=key,
                submitted_at=now,
                transitions=[{"state": RetroCreditState.SUBMITTED.value, "at": now.isoformat()}],
            )
    except IntegrityError:
        raise RetroCreditRefused(
            "This flight has been asked for already.", field="ticketNumber", code="DUPLICATE_REQUEST"
        ) from None


async def _checked_claim(
    claim: FlightClaim, *, member: Member, rules: ProgrammeRules, chart: EarningChart, today: dt.date
) -> FlightClaim:
    checked = validate_claim(claim, today=today)
    if needs_boarding_pass(checked.carrier, rules.retro_credit):
        if checked.boarding_pass is None:
            raise RetroCreditRefused(
                f"{checked.carrier} needs the boarding pass with the request.",
                field="boardingPass",
                code="DOC_REQUIRED",
            )
        if not checked.passenger_surname:
            checked = _matching_leg_name(checked, rules.retro_credit, today=today)
    try:
        flight_earning(_flight(checked), tier=member.tier, chart=chart)  # unknown airports etc. refused now
    except DomainError as refused:
        raise in_claim_terms(refused) from None
    return checked


async def _member(account_id: int) -> Member:
    member = await Member.get_or_none(id=account_id)
    if member is None or member.erased_at is not None:
        raise NotFound("No such member.", code="MEMBER_NOT_FOUND")
    return member


async def request_retro_credit(
    *,
    account_id: int,
    claim: FlightClaim,
    rules: ProgrammeRules,
    chart: EarningChart,
    now: dt.datetime,
    channel: RetroCreditChannel = RetroCreditChannel.FORM,
) -> RetroCreditRequest:
    """Register a request for one flight and decide it as far as it goes now."""
    member = await _member(account_id)
    checked = await _checked_claim(claim, member=member, rules=rules, chart=chart, today=now.date())
    request = await _register(checked, account_id=account_id, channel=channel, now=now)
    return await decide(request_id=request.id, rules=rules, chart=chart, now=now)


def leg_claims(
    boarding_pass: BoardingPass, *, ticket_number: str | None, rules: RetroCreditRules, today: dt.date
) -> list[FlightClaim]:
    """One claim per dated leg of a boarding pass; the ticket number from the pass, else the one given."""
    claims: list[FlightClaim] = []
    for leg in boarding_pass.legs:
        if leg.julian_date is None:
            continue
        ticket = leg.ticket_number or ticket_number
        if not ticket:
            raise ValidationFailed(
                "The boarding pass has no ticket number: type it in.",
                field="ticketNumber",
                code="TICKET_NUMBER_REQUIRED",
            )
        claims.append(
            FlightClaim(
                ticket_number=ticket,
                carrier=leg.operating_carrier.strip(),
                flight_number=leg.flight_number_digits,
                flight_date=infer_flight_date(leg.julian_date, scanned_on=today),
                origin=leg.origin,
                destination=leg.destination,
                cabin=cabin_for_compartment(leg.compartment, rules),
                booking_class=leg.compartment,
                passenger_surname=boarding_pass.surname,
                passenger_given_name=boarding_pass.given_names,
            )
        )
    if not claims:
        raise ValidationFailed(
            "The boarding pass gives no flight date.", field="boardingPass", code="FLIGHT_DATE_MISSING"
        )
    return claims


async def request_by_boarding_pass(
    *,
    account_id: int,
    data: str,
    rules: ProgrammeRules,
    chart: EarningChart,
    now: dt.datetime,
    ticket_number: str | None = None,
) -> list[RetroCreditRequest]:
    """A request per flight of the pass (string from the barcode). Legs asked for or credited before
    are left out; when every leg is, the first refusal is raised. BoardingPassInvalid names a bad item."""
    member = await _member(account_id)
    text = data.rstrip("\r\n")
    boarding_pass = parse_boarding_pass(text)
    claims = [
        await _checked_claim(
            replace(claim, boarding_pass=text),
            member=member,
            rules=rules,
            chart=chart,
            today=now.date(),
        )
        for claim in leg_claims(
            boarding_pass, ticket_number=ticket_number, rules=rules.retro_credit, today=now.date()
        )
    ]
    registered: list[RetroCreditRequest] = []
    refusal: RetroCreditRefused | None = None
    for claim in claims:
        try:
            registered.append(
                await _register(
                    claim, account_id=account_id, channel=RetroCreditChannel.BOARDING_PASS, now=now
                )
            )
        except RetroCreditRefused as refused:
            refusal = refusal or refused
    if not registered:
        assert refusal is not None
        raise refusal
    return [await decide(request_id=row.id, rules=rules, chart=chart, now=now) for row in registered]


async def requests_of(*, account_id: int, limit: int = 100) -> list[RetroCreditRequest]:
    """The member's requests, newest first."""
    return (
        await RetroCreditRequest.filter(account_id=account_id).order_by("-submitted_at", "-id").limit(limit)
    )


async def request_page(*, account_id: int, request: PageRequest) -> Page[RetroCreditRequest]:
    """One keyset page of ``requests_of`` (newest first, by when they were submitted)."""
    query = RetroCreditRequest.filter(account_id=account_id)
    return await newest_first(query, request, time_field="submitted_at")
