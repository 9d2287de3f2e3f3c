"""Test data for pooling: members of a given age and country, pools built by invitation and acceptance."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from loyalty.crediting import post
from loyalty.enrolment import Enrolment, enrol
from loyalty.ledger.models import Currency, PostingSource
from loyalty.ledger.quarters import add_months
from loyalty.ledger.service import balances_of
from loyalty.members.models import Member
from loyalty.pooling import service
from loyalty.pooling.models import PoolMembership
from loyalty.rules import current_rules

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
COMBINED = NOW + dt.timedelta(days=current_rules().pooling.combine_after_days)
"""The moment members who accepted at NOW have their miles in the pool."""
_serial = itertools.count(1)
_NAMES = ["Anna", "Bert", "Carla", "Dora", "Emil", "Frida", "Gustav", "Hanna", "Ida", "Jonas", "Karl", "Lena"]


@dataclass(frozen=True)
class Person:
    member: Member
    card: str

    @property
    def id(self) -> int:
        return int(self.member.id)


def born(years: int, *, days: int = 0, on: dt.date = TODAY) -> dt.date:
    """The birthday of someone who turns ``years`` old ``days`` days after ``on`` (0: on that day)."""
    return add_months(on, -12 * years) + dt.timedelta(days=days)


async def person(years: int = 40, *, days: int = 0, country: str = "DE") -> Person:
    """A member who is ``years`` old today (turning that age ``days`` days from today when days > 0)."""
    serial = next(_serial)
    birthday = born(years, days=days)
    enrolled = await enrol(
        enrolment=Enrolment(
            given_name=_NAMES[serial % len(_NAMES)],
            family_name="Pooler",
            email=f"pooler{serial}@example.com",
            date_of_birth=birthday,
            country=country,
            pin="739152",
        ),
        rules=current_rules(),
        today=max(dt.date.today(), birthday + dt.timedelta(days=3 * 366)),
        email_verified_at=dt.datetime.now(dt.UTC),
    )
    return Person(member=enrolled.member, card=enrolled.card.number)


async def invite(founder: Person, invitee: Person, now: dt.datetime = NOW) -> PoolMembership:
    return await service.invite(
        account_id=founder.id, service_card_number=invitee.card, rules=current_rules(), now=now
    )


async def accept(invitee: Person, invitation: PoolMembership, now: dt.datetime = NOW) -> PoolMembership:
    return await service.accept(
        account_id=invitee.id, invitation_id=invitation.id, rules=current_rules(), now=now
    )


async def join(founder: Person, *others: Person, now: dt.datetime = NOW) -> list[PoolMembership]:
    """Invite and accept every one of ``others`` into the founder's pool."""
    return [await accept(other, await invite(founder, other, now), now) for other in others]


async def credit(person: Person, miles: int, earned_on: dt.date, *, key: str | None = None) -> None:
    await post(
        account_id=person.id,
        amounts={Currency.AWARD_MILES: miles},
        source=PostingSource.TEST,
        idempotency_key=key or f"credit-{person.id}-{earned_on}-{miles}",
        activity_date=earned_on,
        rule_version="test",
        rules=current_rules(),
    )


async def miles(person: Person) -> int:
    return (await balances_of(account_id=person.id))[Currency.AWARD_MILES]
