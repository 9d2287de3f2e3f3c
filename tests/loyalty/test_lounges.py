"""Lounge and Fast Lane admission (DOMAIN.md 10): the table's rule, and the recorded check on a member."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace

import pytest

from gateway.settings import Settings
from loyalty.bcbp.encoder import encode_boarding_pass
from loyalty.bcbp.model import BoardingPass, BoardingPassLeg
from loyalty.crediting import post
from loyalty.errors import DomainError, ValidationFailed
from loyalty.ledger.models import Currency, PostingSource
from loyalty.lounges.admission import (
    Decision,
    Facility,
    Refusal,
    Traveller,
    admission_table,
    decide,
)
from loyalty.lounges.models import LoungeCheck
from loyalty.lounges.service import PrivilegeCheck, check_privilege
from loyalty.lounges.visits import lounge_visits
from loyalty.members.cards import CardBlockReason, block_card
from loyalty.members.models import CardState, ServiceCard, Tier
from loyalty.members.service import active_card
from loyalty.paging import CursorInvalid, PageRequest, PageSizeInvalid, id_cursor, time_cursor
from loyalty.rules import current_rules
from tests.factories import make_member

TABLE = admission_table()
RULES = current_rules()
NOW = dt.datetime(2025, 6, 10, 7, 30, tzinfo=dt.UTC)
F, J, Y = "FIRST", "BUSINESS", "ECONOMY"


def traveller(
    tier: Tier = Tier.BASE, cabin: str = Y, carriers: tuple[str, ...] = ("LH",), fare: str | None = None
) -> Traveller:
    return Traveller(tier=tier, cabin=cabin, carriers=carriers, fare_family=fare, country="DE")


# --- the admission table, row by row (DOMAIN.md 10) ----------------------------------------------------

ADMISSION = [
    # holder, facility, admitted by
    (traveller(Tier.HON), Facility.FIRST_CLASS_LOUNGE, "STATUS_HON"),
    (traveller(Tier.HON), Facility.FIRST_CLASS_TERMINAL, "STATUS_HON"),
    (traveller(Tier.HON), Facility.SENATOR_LOUNGE, "STATUS_HON"),
    (traveller(Tier.HON), Facility.BUSINESS_LOUNGE, "STATUS_HON"),
    (traveller(Tier.SEN), Facility.FIRST_CLASS_LOUNGE, None),
    (traveller(Tier.SEN), Facility.SENATOR_LOUNGE, "STATUS_SEN"),
    (traveller(Tier.SEN), Facility.BUSINESS_LOUNGE, "STATUS_SEN"),
    (traveller(Tier.FTL), Facility.FIRST_CLASS_LOUNGE, None),
    (traveller(Tier.FTL), Facility.SENATOR_LOUNGE, None),
    (traveller(Tier.FTL), Facility.BUSINESS_LOUNGE, "STATUS_FTL"),
    (traveller(Tier.BASE), Facility.BUSINESS_LOUNGE, None),
    (traveller(cabin=F), Facility.FIRST_CLASS_LOUNGE, "CABIN_FIRST"),
    (traveller(cabin=F), Facility.SENATOR_LOUNGE, "CABIN_FIRST"),
    (traveller(cabin=F), Facility.BUSINESS_LOUNGE, "CABIN_FIRST"),
    (traveller(cabin=J), Facility.FIRST_CLASS_LOUNGE, None),
    (traveller(cabin=J), Facility.SENATOR_LOUNGE, None),
    (traveller(cabin=J), Facility.BUSINESS_LOUNGE, "CABIN_BUSINESS"),
    (traveller(cabin="PREMIUM_ECONOMY"), Facility.BUSINESS_LOUNGE, None),
    # Fast Lane: HON, Senator, First/Business, Economy Flex at German airports; FTL is not listed.
    (traveller(Tier.HON), Facility.FAST_LANE, "STATUS_HON"),
    (traveller(Tier.SEN), Facility.FAST_LANE, "STATUS_SEN"),
    (traveller(Tier.FTL), Facility.FAST_LANE, None),
    (traveller(cabin=F), Facility.FAST_LANE, "CABIN_FIRST"),
    (traveller(cabin=J), Facility.FAST_LANE, "CABIN_BUSINESS"),
    (traveller(fare="FLEX"), Facility.FAST_LANE, "FARE_ECONOMY_FLEX"),
    (traveller(fare="LIGHT"), Facility.FAST_LANE, None),
    (replace(traveller(fare="FLEX"), country="AT"), Facility.FAST_LANE, None),
]


@pytest.mark.parametrize(("holder", "facility", "ground"), ADMISSION)
def test_the_admission_table(holder: Traveller, facility: Facility, ground: str | None) -> None:
    expected = Decision(True, ground) if ground else Decision(False, reason=Refusal.NO_PRIVILEGE)
    assert decide(TABLE, facility, holder) == expected


def test_status_lounges_need_a_group_star_alliance_or_codeshare_flight() -> None:
    # footnote 2: a Senator flying Emirates is refused for the carrier; on a codeshare marketed by LH, admitted
    assert decide(TABLE, Facility.SENATOR_LOUNGE, traveller(Tier.SEN, carriers=("EK",))) == Decision(
        False, reason=Refusal.CARRIER_NOT_ELIGIBLE
    )
    assert decide(TABLE, Facility.SENATOR_LOUNGE, traveller(Tier.SEN, carriers=("EK", "LH"))).admitted
    assert decide(TABLE, Facility.BUSINESS_LOUNGE, traveller(Tier.FTL, carriers=("UA",))).admitted
    # the First Class Terminal: HON Circle with LH Group flights only
    assert not decide(TABLE, Facility.FIRST_CLASS_TERMINAL, traveller(Tier.HON, carriers=("UA",))).admitted
    # the Fast Lane list names no carriers
    assert decide(TABLE, Facility.FAST_LANE, traveller(Tier.SEN, carriers=("EK",))).admitted


def test_no_lounge_for_ftl_and_senator_on_the_eurowings_basic_fare() -> None:
    for tier in (Tier.FTL, Tier.SEN):
        refused = decide(TABLE, Facility.BUSINESS_LOUNGE, traveller(tier, carriers=("EW",), fare="BASIC"))
        assert refused == Decision(False, reason=Refusal.BASIC_FARE)
    assert decide(
        TABLE, Facility.BUSINESS_LOUNGE, traveller(Tier.HON, carriers=("EW",), fare="BASIC")
    ).admitted
    assert decide(
        TABLE, Facility.BUSINESS_LOUNGE, traveller(Tier.SEN, carriers=("EW",), fare="SMART")
    ).admitted


# --- the recorded check ---------------------------------------------------------------------------------


def boarding_pass(
    *,
    name: str = "HOPPER/GRACE MRS",
    carrier: str = "LH",
    marketing: str | None = None,
    day: dt.date = NOW.date(),
    compartment: str = "Y",
    route: tuple[str, str] = ("FRA", "JFK"),
) -> str:
    leg = BoardingPassLeg(
        pnr="ABC123",
        origin=route[0],
        destination=route[1],
        operating_carrier=carrier,
        flight_number="0400",
        julian_date=day.timetuple().tm_yday,
        compartment=compartment,
        seat="012C",
        check_in_sequence="0042",
        passenger_status="1",
        airline_numeric_code="220" if marketing else None,
        document_serial_number="1234567890" if marketing else None,
        marketing_carrier=marketing,
    )
    return encode_boarding_pass(
        BoardingPass(
            passenger_name=name,
            electronic_ticket_indicator="E",
            legs=(leg,),
            version="6" if marketing else None,
        )
    )


async def member_with(tier: Tier, today: dt.date = NOW.date()) -> str:
    """A member (Grace Hopper) who reached ``tier`` on ``today`` through the status engine; their card number."""
    enrolled = await make_member(f"{tier.value.lower()}@example.com")
    account_id = enrolled.member.id
    amounts = {
        Tier.BASE: {},
        Tier.FTL: {Currency.POINTS: 650, Currency.QUALIFYING_POINTS: 325},
        Tier.SEN: {Currency.POINTS: 2000, Currency.QUALIFYING_POINTS: 1000},
        Tier.HON: {Currency.HON_CIRCLE_POINTS: 6000},
    }[tier]
    if amounts:
        await post(
            account_id=account_id,
            amounts=amounts,
            source=PostingSource.PARTNER_ACCRUAL,
            idempotency_key=f"status:{account_id}",
            activity_date=today,
            rule_version=RULES.version,
            rules=RULES,
            today=today,
        )
    return (await active_card(account_id=account_id)).number


async def check(
    number: str, facility: Facility, data: str, *, request: str = "r-1", **extra: str
) -> LoungeCheck:
    asked = PrivilegeCheck(
        service_card_number=number,
        facility=facility,
        airport=extra.pop("airport", "FRA"),
        boarding_pass=data,
        **extra,
    )
    outcome = await check_privilege(
        partner_id=1, request_id=request, asked=asked, rules=RULES, table=TABLE, now=NOW
    )
    return outcome.check


async def test_a_senator_enters_the_senator_lounge_with_todays_pass(db: Settings) -> None:
    number = await member_with(Tier.SEN)
    row = await check(number, Facility.SENATOR_LOUNGE, boarding_pass())
    assert (row.admitted, row.ground, row.tier) == (True, "STATUS_SEN", Tier.SEN)
    assert row.reason is None
    assert (row.flight, row.flight_date, row.cabin, row.airport) == ("LH400", NOW.date(), "ECONOMY", "FRA")


async def test_a_frequent_traveller_is_refused_at_the_senator_lounge_and_admitted_in_business(
    db: Settings,
) -> None:
    number = await member_with(Tier.FTL)
    refused = await check(number, Facility.SENATOR_LOUNGE, boarding_pass(), request="a")
    assert (refused.admitted, refused.reason, refused.tier) == (False, Refusal.NO_PRIVILEGE, Tier.FTL)
    admitted = await check(number, Facility.BUSINESS_LOUNGE, boarding_pass(), request="b")
    assert admitted.ground == "STATUS_FTL"


async def test_a_base_member_enters_by_travel_class(db: Settings) -> None:
    number = await member_with(Tier.BASE)
    first = await check(number, Facility.FIRST_CLASS_LOUNGE, boarding_pass(compartment="F"), request="a")
    assert first.ground == "CABIN_FIRST"
    economy = await check(number, Facility.BUSINESS_LOUNGE, boarding_pass(compartment="Y"), request="b")
    assert economy.reason is Refusal.NO_PRIVILEGE


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"day": NOW.date() - dt.timedelta(days=2)}, Refusal.WRONG_DAY),
        ({"day": NOW.date() + dt.timedelta(days=2)}, Refusal.WRONG_DAY),
        ({"route": ("MUC", "JFK")}, Refusal.NOT_DEPARTING_HERE),
        ({"name": "LOVELACE/ADA"}, Refusal.NAME_MISMATCH),
        ({"carrier": "EK"}, Refusal.CARRIER_NOT_ELIGIBLE),
    ],
)
async def test_the_boarding_pass_must_be_the_holders_for_here_and_today(
    db: Settings, changes: dict[str, object], reason: Refusal
) -> None:
    number = await member_with(Tier.SEN)
    row = await check(number, Facility.SENATOR_LOUNGE, boarding_pass(**changes))  # type: ignore[arg-type]
    assert (row.admitted, row.reason) == (False, reason)


async def test_yesterday_and_tomorrow_count_within_the_tolerance(db: Settings) -> None:
    number = await member_with(Tier.SEN)
    for request, days in (("y", -1), ("t", 1)):
        day = NOW.date() + dt.timedelta(days=days)
        assert (
            await check(number, Facility.SENATOR_LOUNGE, boarding_pass(day=day), request=request)
        ).admitted


async def test_a_superseded_number_still_names_its_member(db: Settings) -> None:
    # given: the number from enrolment, superseded when the status engine made the member a Senator
    number = await member_with(Tier.SEN)
    card = await ServiceCard.get(number=number)
    old = await ServiceCard.get(account_id=card.account_id, state=CardState.SUPERSEDED)
    assert old.number.startswith("9920") and number.startswith("222")

    # then: the old number resolves to the member and the status that counts today
    row = await check(old.number, Facility.SENATOR_LOUNGE, boarding_pass())
    assert (row.admitted, row.tier, row.service_card_number) == (True, Tier.SEN, old.number)


async def test_a_codeshare_marketed_by_lh_counts(db: Settings) -> None:
    number = await member_with(Tier.SEN)
    row = await check(number, Facility.SENATOR_LOUNGE, boarding_pass(carrier="EK", marketing="LH"))
    assert row.admitted


async def test_an_unreadable_pass_an_unknown_and_a_blocked_card_are_refused_and_recorded(
    db: Settings,
) -> None:
    number = await member_with(Tier.HON)
    unreadable = await check(number, Facility.SENATOR_LOUNGE, "M1NOT A PASS", request="a")
    assert unreadable.reason is Refusal.BOARDING_PASS_INVALID
    unknown = await check("992000000000000", Facility.SENATOR_LOUNGE, boarding_pass(), request="b")
    assert (unknown.reason, unknown.account_id) == (Refusal.CARD_NOT_FOUND, None)
    card = await block_card(
        account_id=unreadable.account_id or 0, reason=CardBlockReason.STOLEN, rules=RULES, now=NOW
    )
    assert card.number != number
    blocked = await check(number, Facility.SENATOR_LOUNGE, boarding_pass(), request="c")
    assert blocked.reason is Refusal.CARD_BLOCKED
    assert await LoungeCheck.all().count() == 3


async def test_input_that_is_no_check_records_nothing(db: Settings) -> None:
    number = await member_with(Tier.SEN)
    with pytest.raises(DomainError) as refused:
        await check(number, Facility.SENATOR_LOUNGE, boarding_pass(), airport="XQZ")
    assert refused.value.code == "UNKNOWN_AIRPORT"
    with pytest.raises(ValidationFailed):
        await check("1234", Facility.SENATOR_LOUNGE, boarding_pass())
    assert await LoungeCheck.all().count() == 0


async def test_the_same_request_answers_the_recorded_check(db: Settings) -> None:
    number = await member_with(Tier.SEN)
    first = await check_privilege(
        partner_id=1,
        request_id="same",
        asked=PrivilegeCheck(number, Facility.SENATOR_LOUNGE, "FRA", boarding_pass()),
        rules=RULES,
        table=TABLE,
        now=NOW,
    )
    again = await check_privilege(
        partner_id=1,
        request_id="same",
        asked=PrivilegeCheck(number, Facility.FIRST_CLASS_LOUNGE, "FRA", "garbage"),
        rules=RULES,
        table=TABLE,
        now=NOW,
    )
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.check.id == first.check.id and again.check.admitted
    assert await LoungeCheck.all().count() == 1


async def test_the_member_pages_through_their_visits_newest_first(db: Settings) -> None:
    number = await member_with(Tier.SEN)
    for index in range(5):
        await check(number, Facility.BUSINESS_LOUNGE, boarding_pass(), request=f"v{index}")
    account_id = (await LoungeCheck.get(request_id="v0")).account_id
    assert account_id is not None
    first = await lounge_visits(account_id=account_id, request=PageRequest(first=2))
    second = await lounge_visits(account_id=account_id, request=PageRequest(2, first.end_cursor))
    third = await lounge_visits(account_id=account_id, request=PageRequest(2, second.end_cursor))
    ids = [edge.node.request_id for page in (first, second, third) for edge in page.edges]
    assert ids == ["v4", "v3", "v2", "v1", "v0"]
    assert (first.has_next_page, second.has_next_page, third.has_next_page) == (True, True, False)
    # the shared time-keyed cursor (loyalty.paging): checked_at in µs and the check's id
    last = await LoungeCheck.get(request_id="v3")
    assert first.end_cursor == time_cursor(last.checked_at, last.id)
    assert (await lounge_visits(account_id=account_id + 1, request=PageRequest(first=10))).edges == []
    with pytest.raises(CursorInvalid):
        await lounge_visits(account_id=account_id, request=PageRequest(2, "bm90IG91cnM="))
    with pytest.raises(CursorInvalid):  # an id-keyed cursor handed to this time-keyed list
        await lounge_visits(account_id=account_id, request=PageRequest(2, id_cursor(last.id)))
    with pytest.raises(PageSizeInvalid):
        await lounge_visits(account_id=account_id, request=PageRequest(first=101))


async def test_parallel_copies_of_one_request_record_one_check(pg_db: Settings) -> None:
    # given: a partner's retry racing its first request, on PostgreSQL
    number = await member_with(Tier.SEN)
    asked = PrivilegeCheck(number, Facility.SENATOR_LOUNGE, "FRA", boarding_pass())

    # when: five copies arrive at once
    outcomes = await asyncio.gather(
        *(
            check_privilege(partner_id=7, request_id="race", asked=asked, rules=RULES, table=TABLE, now=NOW)
            for _ in range(5)
        )
    )

    # then: one check is recorded, and every copy answers it
    assert {outcome.check.id for outcome in outcomes} == {(await LoungeCheck.get(request_id="race")).id}
    assert sorted(outcome.duplicate for outcome in outcomes) == [False, True, True, True, True]
