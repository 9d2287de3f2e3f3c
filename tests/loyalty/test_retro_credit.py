"""Retro credit end to end at the service level: the state machine, the flown-data check, exactly one
credit per flight (shared with automatic flight accrual), refusals, the sweep."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gateway.settings import Settings
from loyalty.errors import DomainError
from loyalty.events.models import DomainEvent, EventType
from loyalty.flown.accrual import FlownFlight as Flight
from loyalty.flown.accrual import (
    accrue_flown,
    credited_amounts,
    flight_earning,
    flight_from_flown,
)
from loyalty.ledger.models import Currency, Entry, Posting, PostingSource
from loyalty.ledger.service import balances_of
from loyalty.members.models import Member, Tier
from loyalty.retro_credit.decision import decide_for_flown
from loyalty.retro_credit.models import RetroCreditReason, RetroCreditRequest, RetroCreditState
from loyalty.retro_credit.service import RetroCreditRefused, request_by_boarding_pass, request_retro_credit
from loyalty.retro_credit.sweep import sweep_open_requests
from loyalty.rules import current_rules
from loyalty.status.engine import tier_on
from loyalty.status.models import StatusChange, StatusHistory
from partners.charts import current_earning_chart
from partners.models import Partner
from tests.factories import make_member, make_partner
from tests.loyalty.retro_credit_helpers import FLIGHT_DAY, NOW, TICKET, boarding_pass, claim, flown

RULES = current_rules()
CHART = current_earning_chart()
ACCEPTED, REJECTED = RetroCreditState.ACCEPTED, RetroCreditState.REJECTED
PENDING = RetroCreditState.PENDING_PARTNER


@pytest.fixture
async def member_id(db: Settings) -> int:
    return int((await make_member()).member.id)


@pytest.fixture
async def partner_id(db: Settings) -> int:
    await make_partner("lufthansa")
    return int((await Partner.get(code="lufthansa")).id)


async def ask(member_id: int, now: dt.datetime = NOW, **changes: Any) -> RetroCreditRequest:
    return await request_retro_credit(
        account_id=member_id, claim=claim(**changes), rules=RULES, chart=CHART, now=now
    )


def expected_amounts(**changes: Any) -> dict[Currency, int]:
    c = claim(**changes)
    flight = Flight(
        ticket_number=c.ticket_number,
        carrier=c.carrier,
        flight_number=c.flight_number,
        flight_date=c.flight_date,
        origin=c.origin,
        destination=c.destination,
        cabin=c.cabin,
        booking_class=c.booking_class,
    )
    return credited_amounts(flight_earning(flight, tier=Tier.BASE, chart=CHART))


async def member_entries(member_id: int) -> dict[Currency, int]:
    return {
        Currency(currency): int(amount)
        for currency, amount in await Entry.filter(account_id=member_id).values_list("currency", "amount")
    }


async def test_with_flown_data_there_a_request_is_accepted_at_once_and_credited_once(
    member_id: int, partner_id: int
) -> None:
    # given: the partner reported the flight (the member joined after it: enrolled today, flight in 2025)
    await flown(partner_id)

    # when
    request = await ask(member_id)

    # then: SUBMITTED -> VALIDATING -> ACCEPTED, credited with what compute_earning says
    assert request.state is ACCEPTED and request.reason is None
    assert [step["state"] for step in request.transitions] == ["SUBMITTED", "VALIDATING", "ACCEPTED"]
    posting = await Posting.get(id=request.posting_id)
    assert (posting.source, posting.activity_date) == ("RETRO_CREDIT", FLIGHT_DAY)
    amounts = expected_amounts()
    assert amounts[Currency.AWARD_MILES] > 0 and amounts[Currency.HON_CIRCLE_POINTS] > 0
    assert request.award_miles == amounts[Currency.AWARD_MILES]
    entries = await member_entries(member_id)
    assert {currency: entries[currency] for currency in amounts} == amounts
    # and the decision is a domain event of the same transaction
    [event] = await DomainEvent.filter(account_id=member_id, type=EventType.RETRO_CREDIT_DECIDED)
    assert event.payload["state"] == "ACCEPTED" and event.posting_id == posting.id
    assert event.payload["awardMiles"] == amounts[Currency.AWARD_MILES]


async def _status_change(
    member_id: int, before: Tier, after: Tier, change: StatusChange, on: dt.date
) -> None:
    await StatusHistory.create(
        account_id=member_id, from_tier=before, to_tier=after, change=change, effective_on=on
    )


async def test_a_flight_earns_with_the_status_held_on_its_day(member_id: int, partner_id: int) -> None:
    # given: a revenue-based flight (the partner sent the fare), and a Senator on its day whose status
    # expired since (a base member now)
    fare = {"amount": "1200.00", "currency": "EUR"}
    segment = await flown(partner_id, details={"fare": fare})
    await _status_change(
        member_id, Tier.BASE, Tier.SEN, StatusChange.ACHIEVED, FLIGHT_DAY - dt.timedelta(days=90)
    )
    await _status_change(
        member_id, Tier.SEN, Tier.BASE, StatusChange.EXPIRED, FLIGHT_DAY + dt.timedelta(days=1)
    )
    assert (await Member.get(id=member_id)).tier is Tier.BASE

    # when
    request = await ask(member_id)

    # then: the factor of that day's status
    flight = flight_from_flown(segment)
    assert flight is not None and flight.fare is not None
    senator = credited_amounts(flight_earning(flight, tier=Tier.SEN, chart=CHART))
    base = credited_amounts(flight_earning(flight, tier=Tier.BASE, chart=CHART))
    assert senator[Currency.AWARD_MILES] > base[Currency.AWARD_MILES]
    assert request.state is ACCEPTED and request.award_miles == senator[Currency.AWARD_MILES]


async def test_the_status_of_a_day_comes_from_the_history(member_id: int) -> None:
    day = dt.date(2026, 3, 1)
    assert await tier_on(account_id=member_id, day=day, current=Tier.FTL) is Tier.FTL  # no history: now's
    await _status_change(member_id, Tier.FTL, Tier.SEN, StatusChange.ACHIEVED, day)
    await _status_change(member_id, Tier.SEN, Tier.HON, StatusChange.ACHIEVED, day + dt.timedelta(days=30))
    assert await tier_on(account_id=member_id, day=day - dt.timedelta(days=1), current=Tier.HON) is Tier.FTL
    assert await tier_on(account_id=member_id, day=day, current=Tier.HON) is Tier.SEN  # in effect that day
    assert await tier_on(account_id=member_id, day=day + dt.timedelta(days=45), current=Tier.HON) is Tier.HON


async def test_without_flown_data_it_waits_and_the_flown_coupon_decides_it(
    member_id: int, partner_id: int
) -> None:
    request = await ask(member_id)
    assert request.state is PENDING and request.posting_id is None

    segment = await flown(partner_id)
    [decided] = await decide_for_flown(segment, rules=RULES, chart=CHART, now=NOW)

    assert decided.id == request.id and decided.state is ACCEPTED
    assert [step["state"] for step in decided.transitions] == [
        "SUBMITTED",
        "VALIDATING",
        "PENDING_PARTNER",
        "ACCEPTED",
    ]
    # a second arrival of the same coupon changes nothing
    assert await decide_for_flown(segment, rules=RULES, chart=CHART, now=NOW) == []
    assert await Posting.filter(account_id=member_id).count() == 1


@pytest.mark.parametrize(
    ("claim_changes", "flown_changes", "reason"),
    [
        pytest.param({"flight_date": dt.date(2025, 3, 14)}, {}, "OUT_OF_WINDOW", id="more-than-6-months"),
        pytest.param(
            {"carrier": "UA", "flight_number": "960", "flight_date": dt.date(2025, 9, 9)},
            None,
            "TOO_EARLY_WAIT_7D",
            id="partner-within-7-days",
        ),
        pytest.param({}, {"passenger_surname": "LOVELACE"}, "NAME_MISMATCH", id="ticket-in-another-name"),
        pytest.param({}, {"destination": "EWR"}, "TICKET_NOT_FOUND", id="other-route-on-that-coupon"),
        pytest.param(
            {"carrier": "XQ", "flight_number": "100", "origin": "FRA", "destination": "AYT"},
            {"carrier": "XQ", "flight_number": "100", "destination": "AYT"},
            "NON_ELIGIBLE_FARE",
            id="airline-earns-nothing",
        ),
    ],
)
async def test_rule_breaks_are_rejected_with_their_reason(
    member_id: int,
    partner_id: int,
    claim_changes: dict[str, Any],
    flown_changes: dict[str, Any] | None,
    reason: str,
) -> None:
    if flown_changes is not None:
        await flown(
            partner_id, **{"flight_date": claim_changes.get("flight_date", FLIGHT_DAY), **flown_changes}
        )

    request = await ask(member_id, **claim_changes)

    assert (request.state, request.reason) == (REJECTED, RetroCreditReason(reason))
    assert request.reason_text and request.open_key is None and request.posting_id is None
    assert await Posting.filter(account_id=member_id).count() == 0
    [event] = await DomainEvent.filter(account_id=member_id, type=EventType.RETRO_CREDIT_DECIDED)
    assert (event.payload["state"], event.payload["reason"]) == ("REJECTED", reason)


async def test_a_partner_flight_is_accepted_from_the_seventh_day(member_id: int, partner_id: int) -> None:
    await flown(partner_id, carrier="UA", flight_number="960", flight_date=dt.date(2025, 9, 8))
    request = await ask(member_id, carrier="UA", flight_number="960", flight_date=dt.date(2025, 9, 8))
    assert request.state is ACCEPTED
    assert request.qualifying_points == 0 and request.points > 0  # United earns Points but no QP


async def test_a_second_request_for_the_same_flight_is_refused_while_the_first_stands(
    member_id: int, partner_id: int
) -> None:
    first = await ask(member_id)
    other = int((await make_member("other@example.com")).member.id)
    for account in (member_id, other):
        with pytest.raises(RetroCreditRefused) as refused:
            await ask(account)
        assert refused.value.code == "DUPLICATE_REQUEST"
    assert await RetroCreditRequest.all().count() == 1
    assert first.state is PENDING


async def test_a_rejected_request_may_be_asked_again(member_id: int, partner_id: int) -> None:
    united: dict[str, Any] = {"carrier": "UA", "flight_number": "960", "flight_date": dt.date(2025, 9, 10)}
    early = await ask(member_id, **united)
    assert early.reason is RetroCreditReason.TOO_EARLY_WAIT_7D
    await flown(partner_id, **united)
    later = await ask(member_id, now=NOW + dt.timedelta(days=2), **united)
    assert later.state is ACCEPTED


async def test_an_already_credited_flight_is_refused(member_id: int, partner_id: int) -> None:
    # given: the partner named the member, so the flight was credited automatically
    segment = await flown(partner_id, account_id=member_id)
    accrued = await accrue_flown(segment, chart=CHART, rules=RULES)
    assert accrued is not None and accrued.created

    with pytest.raises(RetroCreditRefused) as refused:
        await ask(member_id)
    assert refused.value.code == "ALREADY_CREDITED"
    assert await RetroCreditRequest.all().count() == 0
    assert [p.source for p in await Posting.filter(account_id=member_id)] == [PostingSource.FLIGHT_ACCRUAL]


async def test_automatic_accrual_after_an_accepted_request_credits_nothing_more(
    member_id: int, partner_id: int
) -> None:
    request = await ask(member_id)
    segment = await flown(partner_id, account_id=member_id)
    await decide_for_flown(segment, rules=RULES, chart=CHART, now=NOW)
    again = await accrue_flown(segment, chart=CHART, rules=RULES)
    assert again is not None and not again.created
    assert await Posting.filter(account_id=member_id).count() == 1
    assert (await RetroCreditRequest.get(id=request.id)).state is ACCEPTED


async def test_an_airline_that_wants_the_boarding_pass_gets_it(member_id: int, partner_id: int) -> None:
    turkish: dict[str, Any] = {
        "carrier": "TK",
        "flight_number": "1590",
        "origin": "IST",
        "destination": "FRA",
    }
    with pytest.raises(RetroCreditRefused) as refused:
        await ask(member_id, **turkish)
    assert refused.value.code == "DOC_REQUIRED"

    wrong = boarding_pass(carrier="TK", flight_number="1591", route=("IST", "FRA"))
    with pytest.raises(DomainError) as mismatch:
        await ask(member_id, boarding_pass=wrong, **turkish)
    assert mismatch.value.code == "BOARDING_PASS_MISMATCH"

    other_name = boarding_pass(name="LOVELACE/ADA", carrier="TK", flight_number="1590", route=("IST", "FRA"))
    rejected = await ask(member_id, boarding_pass=other_name, **turkish)
    assert rejected.reason is RetroCreditReason.NAME_MISMATCH

    own = boarding_pass(carrier="TK", flight_number="1590", route=("IST", "FRA"))
    pending = await ask(member_id, boarding_pass=own, **turkish)
    assert pending.state is PENDING


async def test_a_boarding_pass_asks_for_its_flight(member_id: int, partner_id: int) -> None:
    await flown(partner_id)
    [request] = await request_by_boarding_pass(
        account_id=member_id, data=boarding_pass(), rules=RULES, chart=CHART, now=NOW
    )
    assert (request.state, request.ticket_number, request.flight_date) == (ACCEPTED, TICKET, FLIGHT_DAY)
    assert (request.cabin.value, request.booking_class, request.passenger_surname) == (
        "BUSINESS",
        "J",
        "HOPPER",
    )


async def test_a_boarding_pass_in_another_name_is_rejected(member_id: int, partner_id: int) -> None:
    [request] = await request_by_boarding_pass(
        account_id=member_id, data=boarding_pass(name="LOVELACE/ADA MRS"), rules=RULES, chart=CHART, now=NOW
    )
    assert (request.state, request.reason) == (REJECTED, RetroCreditReason.NAME_MISMATCH)


async def test_a_boarding_pass_without_ticket_number_needs_one(member_id: int, partner_id: int) -> None:
    data = boarding_pass(ticket=None)
    with pytest.raises(DomainError) as missing:
        await request_by_boarding_pass(account_id=member_id, data=data, rules=RULES, chart=CHART, now=NOW)
    assert missing.value.code == "TICKET_NUMBER_REQUIRED"
    [request] = await request_by_boarding_pass(
        account_id=member_id, data=data, ticket_number=TICKET, rules=RULES, chart=CHART, now=NOW
    )
    assert request.state is PENDING


async def test_the_sweep_decides_late_arrivals_and_gives_up_after_the_wait(
    member_id: int, partner_id: int
) -> None:
    # given: two pending requests; flown data for one arrives without the hook running
    waiting = await ask(member_id)
    lost = await ask(
        member_id, ticket_number="2209999999999", flight_number="402", flight_date=dt.date(2025, 9, 2)
    )
    await flown(partner_id)
    wait = RULES.retro_credit.partner_data_wait_days

    # when: swept before the wait is over, then after it, then again
    early = await sweep_open_requests(as_of=NOW.date() + dt.timedelta(days=1), rules=RULES, chart=CHART)
    late = await sweep_open_requests(as_of=NOW.date() + dt.timedelta(days=wait), rules=RULES, chart=CHART)
    again = await sweep_open_requests(as_of=NOW.date() + dt.timedelta(days=wait), rules=RULES, chart=CHART)

    # then
    assert (early.looked_at, early.accepted, early.rejected, early.still_pending) == (2, 1, 0, 1)
    assert (late.looked_at, late.accepted, late.rejected, late.still_pending) == (1, 0, 1, 0)
    assert again.looked_at == 0
    accepted = await RetroCreditRequest.get(id=waiting.id)
    assert accepted.state is ACCEPTED
    gave_up = await RetroCreditRequest.get(id=lost.id)
    assert (gave_up.state, gave_up.reason) == (REJECTED, RetroCreditReason.TICKET_NOT_FOUND)
    assert (await balances_of(account_id=member_id))[Currency.AWARD_MILES] == accepted.award_miles > 0
    assert await Posting.filter(account_id=member_id).count() == 1
