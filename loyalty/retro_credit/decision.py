"""Deciding a retro-credit request: VALIDATING, then PENDING_PARTNER until flown data is there, then
ACCEPTED (credited once) or REJECTED with a reason.

:func:`decide` locks the request row, so two deciders of one request (the member's submission, the
partner's ``flight.flown``, the operator's sweep) decide it once. The credit goes through
:func:`loyalty.flown.accrual.credit_flight` under the flight's one key, and the decision writes its
``retro_credit.decided`` event in the same transaction; the event relay sends the member's message.
"""

from __future__ import annotations

import datetime as dt

from tortoise.transactions import in_transaction

from loyalty.awards.booking import is_award_ticket
from loyalty.earning.chart import EarningChart
from loyalty.earning.model import Earning
from loyalty.errors import DomainError
from loyalty.events.models import EventType
from loyalty.events.service import record
from loyalty.flown.accrual import credit_flight, credited_amounts, flight_earning, flight_from_flown
from loyalty.flown.models import FlownSegment
from loyalty.flown.service import find_flown
from loyalty.ledger.models import PostingSource
from loyalty.members.models import Member
from loyalty.retro_credit.checks import reason_text, window_reason
from loyalty.retro_credit.models import OPEN_STATES, RetroCreditReason, RetroCreditRequest, RetroCreditState
from loyalty.retro_credit.names import names_match
from loyalty.rules import ProgrammeRules, RetroCreditRules
from loyalty.status.engine import tier_on

BOARDING_PASS_NAME_WIDTH = 20
"""A boarding pass holds ``SURNAME/GIVEN TITLE`` in 20 characters: a name that fills them may be cut."""


def _move(request: RetroCreditRequest, state: RetroCreditState, now: dt.datetime) -> None:
    request.state = state
    request.transitions = [*request.transitions, {"state": state.value, "at": now.isoformat()}]


def is_overdue(request: RetroCreditRequest, *, today: dt.date, rules: RetroCreditRules) -> bool:
    """Waited ``partner_data_wait_days`` for flown data: the sweep gives up on it."""
    waited_until = request.submitted_at.date() + dt.timedelta(days=rules.partner_data_wait_days)
    return today >= waited_until


async def matching_flown(request: RetroCreditRequest) -> FlownSegment | None:
    """The partner's flown coupon of this ticket on this flight, if it has arrived."""
    found = await find_flown(
        flight_date=request.flight_date,
        carrier=request.carrier,
        flight_number=request.flight_number,
        ticket_number=request.ticket_number,
    )
    return found[0] if found else None


def _validation_reason(
    request: RetroCreditRequest, member: Member, rules: RetroCreditRules
) -> RetroCreditReason | None:
    reason = window_reason(
        flight_date=request.flight_date,
        carrier=request.carrier,
        requested_on=request.submitted_at.date(),
        rules=rules,
    )
    surname, given = request.passenger_surname, request.passenger_given_name
    cut = len(f"{surname}/{given}") >= BOARDING_PASS_NAME_WIDTH
    if reason is None and surname and not _is_member(member, surname, given, rules, cut=cut):
        return RetroCreditReason.NAME_MISMATCH
    return reason


def _is_member(member: Member, surname: str, given: str, rules: RetroCreditRules, *, cut: bool) -> bool:
    return names_match(
        member_given_name=member.given_name,
        member_family_name=member.family_name,
        ticket_surname=surname,
        ticket_given_name=given,
        titles=rules.name_titles,
        surname_may_be_cut=cut,
    )


def _flown_reason(
    request: RetroCreditRequest, flown: FlownSegment, member: Member, rules: RetroCreditRules
) -> RetroCreditReason | None:
    if flown.account_id is not None and flown.account_id != request.account_id:
        return RetroCreditReason.NAME_MISMATCH
    if not _is_member(member, flown.passenger_surname, flown.passenger_given_name, rules, cut=False):
        return RetroCreditReason.NAME_MISMATCH
    if (flown.origin, flown.destination) != (request.origin, request.destination):
        return RetroCreditReason.TICKET_NOT_FOUND
    return None


async def _reject(
    request: RetroCreditRequest, reason: RetroCreditReason, *, now: dt.datetime, rules: RetroCreditRules
) -> RetroCreditRequest:
    _move(request, RetroCreditState.REJECTED, now)
    request.reason, request.reason_text = reason, reason_text(reason, rules)
    request.decided_at, request.open_key = now, None
    await request.save()
    await _announce(request)
    return request


async def _accept(
    request: RetroCreditRequest, earning: Earning, posting_id: int, *, now: dt.datetime
) -> RetroCreditRequest:
    _move(request, RetroCreditState.ACCEPTED, now)
    request.decided_at, request.posting_id = now, posting_id
    request.award_miles, request.points = earning.award_miles, earning.points
    request.qualifying_points, request.hon_circle_points = (
        earning.qualifying_points,
        earning.hon_circle_points,
    )
    request.chart_version = earning.chart_version[:120]
    await request.save()
    await _announce(request)
    return request


async def _announce(request: RetroCreditRequest) -> None:
    await record(
        account_id=request.account_id,
        type=EventType.RETRO_CREDIT_DECIDED,
        posting_id=request.posting_id,
        payload={
            "requestId": request.id,
            "state": request.state.value,
            "reason": None if request.reason is None else request.reason.value,
            "reasonText": request.reason_text,
            "flight": f"{request.carrier}{request.flight_number}",
            "flightDate": request.flight_date.isoformat(),
            "origin": request.origin,
            "destination": request.destination,
            "awardMiles": request.award_miles,
            "points": request.points,
            "qualifyingPoints": request.qualifying_points,
            "honCirclePoints": request.hon_circle_points,
            "postingId": request.posting_id,
        },
    )


async def decide(
    *, request_id: int, rules: ProgrammeRules, chart: EarningChart, now: dt.datetime
) -> RetroCreditRequest:
    """Take the request as far as it goes now (see the module text); a decided request stays as it is."""
    async with in_transaction():
        request = await RetroCreditRequest.filter(id=request_id).select_for_update().get()
        if request.state not in OPEN_STATES:
            return request
        return await _decide_locked(request, rules=rules, chart=chart, now=now)


async def _decide_locked(
    request: RetroCreditRequest, *, rules: ProgrammeRules, chart: EarningChart, now: dt.datetime
) -> RetroCreditRequest:
    member = await Member.get(id=request.account_id)
    if request.state is RetroCreditState.SUBMITTED:
        _move(request, RetroCreditState.VALIDATING, now)
    if (reason := _validation_reason(request, member, rules.retro_credit)) is not None:
        return await _reject(request, reason, now=now, rules=rules.retro_credit)
    flown = await matching_flown(request)
    if flown is None:
        if is_overdue(request, today=now.date(), rules=rules.retro_credit):
            return await _reject(
                request, RetroCreditReason.TICKET_NOT_FOUND, now=now, rules=rules.retro_credit
            )
        if request.state is not RetroCreditState.PENDING_PARTNER:
            _move(request, RetroCreditState.PENDING_PARTNER, now)
            await request.save()
        return request
    request.flown_segment_id = flown.id
    if (reason := _flown_reason(request, flown, member, rules.retro_credit)) is not None:
        return await _reject(request, reason, now=now, rules=rules.retro_credit)
    flight = flight_from_flown(flown, cabin=request.cabin, booking_class=request.booking_class)
    assert flight is not None  # the request always has a cabin and a booking class
    tier = await tier_on(account_id=member.id, day=flight.flight_date, current=member.tier)
    try:
        earning = (
            None
            if await is_award_ticket(flight.ticket_number)
            else flight_earning(flight, tier=tier, chart=chart)
        )
    except DomainError:
        earning = None
    if earning is None or not credited_amounts(earning):
        return await _reject(request, RetroCreditReason.NON_ELIGIBLE_FARE, now=now, rules=rules.retro_credit)
    result = await credit_flight(
        account_id=request.account_id,
        flight=flight,
        earning=earning,
        source=PostingSource.RETRO_CREDIT,
        rules=rules,
        chart=chart,
        description=f"Retro credit {flight.carrier}{flight.flight_number} {flight.origin}-{flight.destination}",
    )
    if not result.created:
        return await _reject(request, RetroCreditReason.ALREADY_CREDITED, now=now, rules=rules.retro_credit)
    return await _accept(request, earning, result.posting_id, now=now)


async def decide_for_flown(
    segment: FlownSegment, *, rules: ProgrammeRules, chart: EarningChart, now: dt.datetime
) -> list[RetroCreditRequest]:
    """Decide the open requests for a flown coupon that has just arrived (the ``flight.flown`` hook)."""
    ids = await RetroCreditRequest.filter(
        ticket_number=segment.ticket_number,
        carrier=segment.carrier,
        flight_number=segment.flight_number,
        flight_date=segment.flight_date,
        state__in=list(OPEN_STATES),
    ).values_list("id", flat=True)
    return [
        await decide(request_id=int(request_id), rules=rules, chart=chart, now=now)  # type: ignore[call-overload]
        for request_id in ids
    ]
