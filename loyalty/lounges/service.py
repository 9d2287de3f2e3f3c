"""The privilege check a lounge or Fast Lane partner asks for (DOMAIN.md 10), and its record.

``check_privilege(card, facility, airport, boarding pass)``: the card number resolves to its member
(superseded numbers too; a blocked one is refused), the status counts while it is valid, and the boarding
pass must be in the holder's name, for a flight departing from this airport on the day of the check
(± the table's ``day_tolerance``). Then the admission table decides. Every check is recorded, admitted or
refused; input that is not a check at all (a malformed card number, an unknown airport) is a
``ValidationFailed`` and records nothing.

A check is idempotent per (partner, request id): asked again, it answers the recorded check, whatever
the table or the member's status say by then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from loyalty.bcbp.dates import infer_flight_date
from loyalty.bcbp.layout import PASSENGER_NAME
from loyalty.bcbp.model import BoardingPass, BoardingPassInvalid, BoardingPassLeg
from loyalty.bcbp.parser import parse_boarding_pass
from loyalty.earning.airports import airport_directory
from loyalty.errors import NotFound
from loyalty.lounges.admission import (
    REFUSAL_MESSAGES,
    AdmissionTable,
    Decision,
    Facility,
    Refusal,
    Traveller,
    decide,
)
from loyalty.lounges.models import LoungeCheck
from loyalty.members.models import CardState, Member, Tier
from loyalty.members.service import resolve_card
from loyalty.retro_credit.names import names_match
from loyalty.rules import ProgrammeRules
from loyalty.status.models import MemberStatus

ECONOMY = "ECONOMY"


@dataclass(frozen=True, slots=True)
class PrivilegeCheck:
    """What the partner asked: the card shown, where, and the boarding pass's barcode text."""

    service_card_number: str
    facility: Facility
    airport: str
    boarding_pass: str
    fare_family: str | None = None
    """The fare family when the partner knows it (Economy Flex on the Fast Lane, basic fares)."""


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    check: LoungeCheck
    duplicate: bool


@dataclass(frozen=True, slots=True)
class _Flight:
    leg: BoardingPassLeg
    date: dt.date


async def check_privilege(
    *,
    partner_id: int,
    request_id: str,
    asked: PrivilegeCheck,
    rules: ProgrammeRules,
    table: AdmissionTable,
    now: dt.datetime,
) -> CheckOutcome:
    """Admit or refuse, with the ground or the reason, and record it (once per partner and request id)."""
    recorded = await LoungeCheck.get_or_none(partner_id=partner_id, request_id=request_id)
    if recorded is not None:
        return CheckOutcome(check=recorded, duplicate=True)
    airport = airport_directory().get(asked.airport, field="airport")
    row = LoungeCheck(
        partner_id=partner_id,
        request_id=request_id,
        facility=asked.facility,
        airport=airport.code,
        service_card_number=asked.service_card_number,
        fare_family=asked.fare_family.upper() if asked.fare_family else None,
        rules_version=table.version,
        checked_at=now,
    )
    decision = await _decide(row, asked, airport.country, rules, table, now.date())
    row.admitted, row.ground = decision.admitted, decision.ground
    if decision.reason is not None:
        row.reason = decision.reason
    try:
        await row.save()
    except IntegrityError:
        # The same request, answered by a parallel call a moment ago: its record is the answer.
        return CheckOutcome(
            check=await LoungeCheck.get(partner_id=partner_id, request_id=request_id), duplicate=True
        )
    return CheckOutcome(check=row, duplicate=False)


async def _decide(
    row: LoungeCheck,
    asked: PrivilegeCheck,
    country: str,
    rules: ProgrammeRules,
    table: AdmissionTable,
    today: dt.date,
) -> Decision:
    """Fill in what the check learnt (member, tier, flight, cabin) and decide."""
    try:
        card = await resolve_card(asked.service_card_number, rules)
    except NotFound:
        return Decision(admitted=False, reason=Refusal.CARD_NOT_FOUND)
    row.service_card_number = card.number
    row.account_id = card.account_id
    if card.state is CardState.BLOCKED:
        return Decision(admitted=False, reason=Refusal.CARD_BLOCKED)
    member = await Member.get(id=card.account_id)
    row.tier = await tier_held(account_id=card.account_id, today=today)
    try:
        boarding_pass = parse_boarding_pass(asked.boarding_pass)
    except BoardingPassInvalid:
        return Decision(admitted=False, reason=Refusal.BOARDING_PASS_INVALID)
    if not _in_holders_name(boarding_pass, member, rules):
        return Decision(admitted=False, reason=Refusal.NAME_MISMATCH)
    departing = [leg for leg in boarding_pass.legs if leg.origin.upper() == row.airport]
    if not departing:
        return Decision(admitted=False, reason=Refusal.NOT_DEPARTING_HERE)
    flight = _flight_on_the_day(departing, today, table.day_tolerance)
    if flight is None:
        return Decision(admitted=False, reason=Refusal.WRONG_DAY)
    leg = flight.leg
    row.flight = f"{leg.operating_carrier}{leg.flight_number_digits}"
    row.flight_date = flight.date
    row.cabin = rules.retro_credit.compartment_cabins.get(leg.compartment.upper(), ECONOMY)
    carriers = tuple(code for code in (leg.operating_carrier, leg.marketing_carrier or "") if code)
    traveller = Traveller(
        tier=row.tier, cabin=row.cabin, carriers=carriers, fare_family=row.fare_family, country=country
    )
    return decide(table, asked.facility, traveller)


async def tier_held(*, account_id: int, today: dt.date) -> Tier:
    """The tier that counts today: the status while it is valid, else the lifetime tier, else BASE."""
    status = await MemberStatus.get_or_none(account_id=account_id)
    if status is None:
        return Tier.BASE
    if status.valid_until is None or status.valid_until >= today:
        return status.tier
    return status.lifetime_tier or Tier.BASE


def _in_holders_name(boarding_pass: BoardingPass, member: Member, rules: ProgrammeRules) -> bool:
    return names_match(
        member_given_name=member.given_name,
        member_family_name=member.family_name,
        ticket_surname=boarding_pass.surname,
        ticket_given_name=boarding_pass.given_names,
        titles=rules.retro_credit.name_titles,
        surname_may_be_cut=len(boarding_pass.passenger_name) >= PASSENGER_NAME.width,
    )


def _flight_on_the_day(legs: list[BoardingPassLeg], today: dt.date, tolerance_days: int) -> _Flight | None:
    """The first leg whose flight date lies within ``tolerance_days`` of ``today``. The pass holds only a
    day of the year: the year is the one that puts it nearest today (latest on or before tomorrow)."""
    for leg in legs:
        if leg.julian_date is None:
            continue
        try:
            flown = infer_flight_date(leg.julian_date, scanned_on=today)
        except ValueError:
            continue
        if abs((flown - today).days) <= tolerance_days:
            return _Flight(leg=leg, date=flown)
    return None


def refusal_message(reason: Refusal | None) -> str:
    """The sentence for staff and member; admitted checks have none."""
    return REFUSAL_MESSAGES[reason] if reason is not None else ""
