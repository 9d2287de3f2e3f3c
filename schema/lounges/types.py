"""A member's lounge and Fast Lane visits (DOMAIN.md 10); ``Member.loungeVisits`` pages them as a
``Connection[LoungeVisit]`` (``schema.connections``)."""

from __future__ import annotations

import datetime as dt

import strawberry

from loyalty.lounges.models import LoungeCheck
from loyalty.lounges.service import refusal_message
from schema.enums import Tier
from schema.lounges.enums import Facility, Refusal


@strawberry.type(
    description="One check of the member's card at a lounge or the Fast Lane, admitted or refused. Every "
    "check is listed, so a member also sees a check made with a card they did not show."
)
class LoungeVisit:
    id: strawberry.ID = strawberry.field(description="The check's id.")
    checked_at: dt.datetime = strawberry.field(description="When the partner asked.")
    facility: Facility = strawberry.field(description="Which lounge kind, or the Fast Lane.")
    airport: str = strawberry.field(description="IATA code of the airport.")
    admitted: bool = strawberry.field(description="Whether the member was let in.")
    ground: str | None = strawberry.field(
        description="What admitted: STATUS_<tier>, CABIN_<cabin> or FARE_<cabin>_<fare family>."
    )
    reason: Refusal | None = strawberry.field(description="Why not, when refused.")
    message: str = strawberry.field(description="The reason as a sentence; empty when admitted.")
    tier: Tier | None = strawberry.field(description="The status that counted on that day.")
    cabin: str | None = strawberry.field(description="Travel class read from the boarding pass.")
    flight: str | None = strawberry.field(description="Carrier and flight number, e.g. LH400.")
    flight_date: dt.date | None = strawberry.field(description="The flight's date.")

    @classmethod
    def from_model(cls, check: LoungeCheck) -> LoungeVisit:
        return cls(
            id=strawberry.ID(str(check.id)),
            checked_at=check.checked_at,
            facility=check.facility,
            airport=check.airport,
            admitted=check.admitted,
            ground=check.ground,
            reason=check.reason,
            message=refusal_message(check.reason) if not check.admitted else "",
            tier=check.tier,
            cabin=check.cabin,
            flight=check.flight,
            flight_date=check.flight_date,
        )
