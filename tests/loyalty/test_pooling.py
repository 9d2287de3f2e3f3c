"""Mileage pooling (DOMAIN.md 7), the membership rules: who may pool, limits, combining, leaving, dissolving.

Every boundary from the rules: ages 2, 17 and 18; 2 adults and 5 children; miles combine 2 days after
acceptance; leaving blocks for 6 months; one pool per member; eligible countries.
"""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.privacy import personal_data_sources
from gateway.settings import Settings
from loyalty.errors import DomainError
from loyalty.events.models import DomainEvent, EventType
from loyalty.members.models import CardState, ServiceCard
from loyalty.pooling import service
from loyalty.pooling.models import MembershipState, Pool, PoolMembership, PoolRole, PoolState
from loyalty.pooling.rules import age_on, is_working, role_on
from loyalty.pooling.views import invitations_of, pool_of
from loyalty.privacy.service import erase_personal_data
from loyalty.rules import current_rules
from tests.loyalty.pooling_helpers import (
    COMBINED,
    NOW,
    TODAY,
    Person,
    accept,
    born,
    invite,
    join,
    person,
)

RULES = current_rules()
POOLING = RULES.pooling


async def _code(call: object) -> str:
    with pytest.raises(DomainError) as refused:
        await call  # type: ignore[misc]
    return refused.value.code


async def _changes(member: Person) -> list[str]:
    rows = await DomainEvent.filter(account_id=member.id, type=EventType.POOL_CHANGED).order_by("id")
    return [row.payload["change"] for row in rows]


# --- pure rules -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("years", "days", "role"),
    [
        (1, 0, None),  # 1 today
        (2, 1, None),  # turns 2 tomorrow
        (2, 0, PoolRole.CHILD),  # 2 today
        (17, 0, PoolRole.CHILD),
        (18, 1, PoolRole.CHILD),  # 17, turns 18 tomorrow
        (18, 0, PoolRole.ADULT),  # 18 today
        (90, 0, PoolRole.ADULT),
    ],
)
def test_roles_by_age_on_the_day(years: int, days: int, role: PoolRole | None) -> None:
    assert role_on(born(years, days=days), TODAY, POOLING) is role


def test_age_counts_completed_years_and_leap_birthdays() -> None:
    assert age_on(dt.date(2008, 2, 29), dt.date(2026, 2, 28)) == 17
    assert age_on(dt.date(2008, 2, 29), dt.date(2026, 3, 1)) == 18


def test_a_working_pool_has_two_members_one_of_them_adult() -> None:
    adult, child = PoolRole.ADULT, PoolRole.CHILD
    assert not is_working([adult], POOLING)
    assert not is_working([child, child], POOLING)
    assert is_working([adult, child], POOLING) and is_working([adult, adult], POOLING)


def test_the_rules_file_holds_the_pooling_numbers() -> None:
    assert (POOLING.max_adults, POOLING.max_children, POOLING.minimum_members, POOLING.minimum_adults) == (
        2,
        5,
        2,
        1,
    )
    assert (POOLING.adult_age_years, POOLING.child_min_age_years) == (18, 2)
    assert (POOLING.combine_after_days, POOLING.block_months_after_leaving) == (2, 6)
    assert {
        "DE",
        "AT",
        "CH",
        "FR",
        "IT",
    } <= POOLING.eligible_countries and "US" not in POOLING.eligible_countries


# --- founding and inviting ----------------------------------------------------------------------------


async def test_an_adult_founds_a_pool_by_inviting_with_a_service_card_number(db: Settings) -> None:
    founder, child = await person(40), await person(10)
    invitation = await invite(founder, child)
    pool = await Pool.get(id=invitation.pool_id)
    assert (pool.founder_id, pool.state) == (founder.id, PoolState.ACTIVE)
    seat = await PoolMembership.get(pool_id=pool.id, account_id=founder.id)
    assert (seat.role, seat.state, seat.seat_account_id) == (
        PoolRole.ADULT,
        MembershipState.COMBINED,
        founder.id,
    )
    assert (invitation.role, invitation.state, invitation.invited_by_account_id) == (
        PoolRole.CHILD,
        MembershipState.INVITED,
        founder.id,
    )
    assert invitation.seat_account_id is None and invitation.invited_at == NOW
    assert await _changes(founder) == ["founded"] and await _changes(child) == ["invited"]
    listed = await invitations_of(account_id=child.id, now=NOW, rules=POOLING)
    assert [(v.membership.id, v.invited_by_name, v.members) for v in listed] == [
        (invitation.id, f"{founder.member.given_name} Pooler", 1)
    ]
    assert await pool_of(account_id=child.id, today=TODAY, rules=POOLING) is None  # invited is not in


@pytest.mark.parametrize(("years", "days", "code"), [(17, 0, "NOT_ADULT"), (18, 1, "NOT_ADULT")])
async def test_minors_cannot_found_a_pool(db: Settings, years: int, days: int, code: str) -> None:
    minor, other = await person(years, days=days), await person(40)
    assert await _code(invite(minor, other)) == code
    assert await Pool.all().count() == 0


async def test_an_adult_of_exactly_18_founds_a_pool(db: Settings) -> None:
    eighteen, other = await person(18), await person(40)
    await invite(eighteen, other)
    assert await Pool.filter(founder_id=eighteen.id).count() == 1


@pytest.mark.parametrize(
    ("years", "days", "role"), [(2, 0, PoolRole.CHILD), (17, 0, PoolRole.CHILD), (18, 0, PoolRole.ADULT)]
)
async def test_invitees_get_their_role_by_age(db: Settings, years: int, days: int, role: PoolRole) -> None:
    founder, invitee = await person(40), await person(years, days=days)
    assert (await invite(founder, invitee)).role is role


async def test_a_child_under_two_cannot_be_invited(db: Settings) -> None:
    founder, toddler = await person(40), await person(2, days=1)  # turns 2 tomorrow
    assert await _code(invite(founder, toddler)) == "TOO_YOUNG"
    later = NOW + dt.timedelta(days=1)
    assert (await invite(founder, toddler, later)).role is PoolRole.CHILD


async def test_residence_must_be_in_an_eligible_country(db: Settings) -> None:
    founder, abroad, swiss = await person(40), await person(30, country="US"), await person(30, country="CH")
    assert await _code(invite(founder, abroad)) == "COUNTRY_NOT_ELIGIBLE"
    await invite(founder, swiss)
    american, german = await person(40, country="US"), await person(30)
    assert await _code(invite(american, german)) == "COUNTRY_NOT_ELIGIBLE"


async def test_bad_cards_are_refused(db: Settings) -> None:
    founder, other = await person(40), await person(30)
    assert await _code(invite(founder, founder)) == "CANNOT_INVITE_SELF"
    await ServiceCard.filter(number=other.card).update(state=CardState.BLOCKED)
    assert await _code(invite(founder, other)) == "CARD_BLOCKED"
    with pytest.raises(DomainError) as unknown:
        await service.invite(account_id=founder.id, service_card_number="1234", rules=RULES, now=NOW)
    assert unknown.value.field == "serviceCardNumber"
    assert await Pool.all().count() == 0


async def test_only_the_founder_invites_and_nobody_twice(db: Settings) -> None:
    founder, partner, child = await person(40), await person(38), await person(9)
    await join(founder, partner)
    assert await _code(invite(partner, child)) == "NOT_FOUNDER"
    await invite(founder, child)
    assert await _code(invite(founder, child)) == "ALREADY_INVITED"
    assert await _code(invite(founder, partner)) == "ALREADY_IN_POOL"


# --- limits: 2 adults and 5 children --------------------------------------------------------------------


async def test_two_adults_and_five_children_at_most_open_invitations_included(db: Settings) -> None:
    founder = await person(40)
    adults = [await person(30 + i) for i in range(2)]
    children = [await person(3 + i) for i in range(6)]
    await invite(founder, adults[0])
    assert await _code(invite(founder, adults[1])) == "POOL_FULL"
    for child in children[:5]:
        await invite(founder, child)
    assert await _code(invite(founder, children[5])) == "POOL_FULL"
    # Taking an open invitation back frees its place.
    withdrawn = await PoolMembership.get(account_id=children[0].id, state=MembershipState.INVITED)
    await service.remove(account_id=founder.id, membership_id=withdrawn.id, rules=RULES, now=NOW)
    assert (await PoolMembership.get(id=withdrawn.id)).state is MembershipState.WITHDRAWN
    await invite(founder, children[5])
    assert await PoolMembership.filter(role=PoolRole.CHILD, state=MembershipState.INVITED).count() == 5


async def test_the_role_is_checked_again_on_the_acceptance_day(db: Settings) -> None:
    founder, partner, teen = await person(40), await person(39), await person(18, days=3)  # 18 in 3 days
    invitation = await invite(founder, teen)
    assert invitation.role is PoolRole.CHILD
    await join(founder, partner)  # both adult places taken
    later = NOW + dt.timedelta(days=3)
    assert await _code(accept(teen, invitation, later)) == "POOL_FULL"
    await service.leave(account_id=partner.id, rules=RULES, now=later)
    accepted = await accept(teen, invitation, later)
    assert (accepted.role, accepted.state) == (PoolRole.ADULT, MembershipState.ACCEPTED)


# --- accepting and combining ---------------------------------------------------------------------------


async def test_miles_combine_two_days_after_acceptance(db: Settings) -> None:
    founder, child = await person(40), await person(12)
    invitation = await invite(founder, child)
    accepted = await accept(child, invitation)
    assert (accepted.state, accepted.responded_at, accepted.combines_on) == (
        MembershipState.ACCEPTED,
        NOW,
        TODAY + dt.timedelta(days=2),
    )
    assert accepted.seat_account_id == child.id
    for day, combined in ((TODAY, False), (TODAY + dt.timedelta(days=1), False), (COMBINED.date(), True)):
        view = await pool_of(account_id=founder.id, today=day, rules=POOLING)
        assert view is not None
        assert [m.combined for m in view.members] == [True, combined]
        assert view.working is combined
    assert await service.combine_due(today=TODAY + dt.timedelta(days=1)) == 0
    assert await service.combine_due(today=COMBINED.date()) == 1
    assert (await PoolMembership.get(id=invitation.id)).state is MembershipState.COMBINED
    assert await service.combine_due(today=COMBINED.date()) == 0
    assert await _changes(child) == ["invited", "accepted", "combined"]


async def test_one_pool_per_member_other_invitations_are_declined(db: Settings) -> None:
    first, second, child = await person(40), await person(41), await person(8)
    from_first = await invite(first, child)
    from_second = await invite(second, child)
    assert {v.membership.id for v in await invitations_of(account_id=child.id, now=NOW, rules=POOLING)} == {
        from_first.id,
        from_second.id,
    }
    await accept(child, from_second)
    assert (await PoolMembership.get(id=from_first.id)).state is MembershipState.DECLINED
    assert await _code(accept(child, from_first)) == "INVITATION_NOT_FOUND"
    assert await _code(invite(first, child)) == "ALREADY_IN_POOL"
    assert await _changes(child) == ["invited", "invited", "accepted", "declined"]
    # The first founder's pool had only that invitation: it dissolved, and the founder is free.
    assert (await Pool.get(id=from_first.pool_id)).state is PoolState.DISSOLVED
    assert await _changes(first) == ["founded", "dissolved"]
    await join(await person(39), first)


async def test_another_members_invitation_cannot_be_accepted(db: Settings) -> None:
    founder, child, stranger = await person(40), await person(8), await person(9)
    invitation = await invite(founder, child)
    assert await _code(accept(stranger, invitation)) == "INVITATION_NOT_FOUND"


async def test_declining_leaves_a_lone_founder_free_again(db: Settings) -> None:
    founder, child, other = await person(40), await person(8), await person(9)
    invitation = await invite(founder, child)
    declined = await service.decline(account_id=child.id, invitation_id=invitation.id, rules=RULES, now=NOW)
    assert declined.dissolved and declined.membership.state is MembershipState.DECLINED
    assert (await Pool.get(id=invitation.pool_id)).state is PoolState.DISSOLVED
    assert await service.blocked_until(account_id=founder.id, today=TODAY) is None
    again = await invite(founder, other)  # a new pool at once
    assert again.pool_id != invitation.pool_id


# --- leaving, removing, the 6-month block ----------------------------------------------------------------


async def test_leaving_blocks_the_member_from_every_pool_for_six_months(db: Settings) -> None:
    founder, partner, child, elsewhere = await person(40), await person(38), await person(7), await person(45)
    await join(founder, partner, child)
    left = await service.leave(account_id=child.id, rules=RULES, now=NOW)
    assert not left.dissolved
    assert (left.membership.state, left.membership.blocked_until) == (
        MembershipState.LEFT,
        dt.date(2027, 5, 20),
    )
    assert left.membership.seat_account_id is None and left.membership.left_at == NOW
    day_before = dt.datetime(2027, 5, 19, 12, tzinfo=dt.UTC)
    assert await _code(invite(elsewhere, child, day_before)) == "POOL_BLOCKED"
    assert await _code(invite(founder, child, day_before)) == "POOL_BLOCKED"
    assert await service.blocked_until(account_id=child.id, today=day_before.date()) == dt.date(2027, 5, 20)
    await invite(elsewhere, child, dt.datetime(2027, 5, 20, 8, tzinfo=dt.UTC))
    assert await _changes(child) == ["invited", "accepted", "left", "invited"]


async def test_a_blocked_adult_cannot_found_a_pool(db: Settings) -> None:
    founder, partner, child, other = await person(40), await person(38), await person(7), await person(44)
    invitation_from_other = await invite(other, partner)
    await join(founder, partner, child)  # declines the other invitation
    assert (await PoolMembership.get(id=invitation_from_other.id)).state is MembershipState.DECLINED
    await service.leave(account_id=partner.id, rules=RULES, now=NOW)
    assert await _code(invite(partner, await person(9))) == "POOL_BLOCKED"


async def test_the_founder_removes_members_who_are_then_blocked(db: Settings) -> None:
    founder, partner, child = await person(40), await person(38), await person(7)
    seats = await join(founder, partner, child)
    assert (
        await _code(service.remove(account_id=partner.id, membership_id=seats[1].id, rules=RULES, now=NOW))
        == "NOT_FOUNDER"
    )
    own = await PoolMembership.get(account_id=founder.id, seat_account_id=founder.id)
    assert (
        await _code(service.remove(account_id=founder.id, membership_id=own.id, rules=RULES, now=NOW))
        == "CANNOT_REMOVE_SELF"
    )
    assert (
        await _code(service.remove(account_id=founder.id, membership_id=999999, rules=RULES, now=NOW))
        == "MEMBERSHIP_NOT_FOUND"
    )
    removed = await service.remove(account_id=founder.id, membership_id=seats[1].id, rules=RULES, now=NOW)
    assert removed.membership.state is MembershipState.REMOVED and not removed.dissolved
    assert removed.membership.blocked_until == dt.date(2027, 5, 20)
    assert await _changes(child) == ["invited", "accepted", "removed"]


async def test_a_pool_without_an_adult_dissolves_and_blocks_nobody_else(db: Settings) -> None:
    founder, child, other_founder = await person(40), await person(7), await person(50)
    await join(founder, child)
    pending = await invite(founder, await person(6))
    left = await service.leave(account_id=founder.id, rules=RULES, now=NOW)
    assert left.dissolved
    pool = await Pool.get(id=pending.pool_id)
    assert (pool.state, pool.dissolved_at) == (PoolState.DISSOLVED, NOW)
    rows = {row.account_id: row for row in await PoolMembership.filter(pool_id=pool.id)}
    assert rows[child.id].state is MembershipState.DISSOLVED and rows[child.id].blocked_until is None
    assert rows[pending.account_id].state is MembershipState.WITHDRAWN
    assert all(row.seat_account_id is None for row in rows.values())
    assert rows[founder.id].blocked_until == dt.date(2027, 5, 20)  # the leaver only
    # One event per affected member; the child may join another pool at once.
    assert await _changes(child) == ["invited", "accepted", "dissolved"]
    await join(other_founder, child)
    assert await service.blocked_until(account_id=child.id, today=TODAY) is None


async def test_a_pool_of_two_dissolves_when_one_leaves(db: Settings) -> None:
    founder, partner = await person(40), await person(38)
    await join(founder, partner)
    assert (await service.leave(account_id=partner.id, rules=RULES, now=NOW)).dissolved
    assert await pool_of(account_id=founder.id, today=TODAY, rules=POOLING) is None
    assert await service.blocked_until(account_id=founder.id, today=TODAY) is None
    assert await _changes(founder) == ["founded", "dissolved"]


async def test_a_departing_founder_hands_the_pool_to_the_other_adult(db: Settings) -> None:
    founder, partner, child = await person(40), await person(38), await person(7)
    await join(founder, partner, child)
    assert not (await service.leave(account_id=founder.id, rules=RULES, now=NOW)).dissolved
    view = await pool_of(account_id=partner.id, today=TODAY, rules=POOLING)
    assert view is not None and view.pool.founder_id == partner.id
    assert [m.founder for m in view.members] == [True, False]
    assert (await _changes(partner))[-1] == "founder"
    await invite(partner, await person(6))  # the new founder invites


# --- erasure of personal data (issue 7) ---------------------------------------------------------------


async def _erase(someone: Person) -> dict[str, int]:
    return await erase_personal_data(
        account_id=someone.id, sources=personal_data_sources(), actor="operator:ada", reason="REQ-9", now=NOW
    )


async def test_an_erased_member_leaves_the_pool_without_a_block(db: Settings) -> None:
    founder, partner, child = await person(40), await person(38), await person(7)
    await join(founder, partner, child)
    changed = await _erase(partner)
    assert changed["pooling"] == 1
    row = await PoolMembership.get(account_id=partner.id)
    assert (row.state, row.seat_account_id, row.left_at, row.blocked_until) == (
        MembershipState.LEFT,
        None,
        NOW,
        None,
    )
    # The pool carries on without them: nobody redeems the erased member's miles through it.
    view = await pool_of(account_id=founder.id, today=COMBINED.date(), rules=POOLING)
    assert view is not None and {m.membership.account_id for m in view.members} == {founder.id, child.id}
    assert await pool_of(account_id=partner.id, today=COMBINED.date(), rules=POOLING) is None
    assert (await _changes(partner))[-1] == "left"


async def test_an_erased_founder_hands_the_pool_on_or_dissolves_it(db: Settings) -> None:
    founder, partner, child = await person(40), await person(38), await person(7)
    await join(founder, partner, child)
    await _erase(founder)
    view = await pool_of(account_id=partner.id, today=TODAY, rules=POOLING)
    assert view is not None and view.pool.founder_id == partner.id
    assert (await _changes(partner))[-1] == "founder"

    alone, other = await person(41), await person(39)
    await join(alone, other)
    await _erase(alone)  # two members: the pool falls below its minimum
    assert await pool_of(account_id=other.id, today=TODAY, rules=POOLING) is None
    assert await service.blocked_until(account_id=other.id, today=TODAY) is None
    assert (await _changes(other))[-1] == "dissolved"


async def test_an_erased_member_declines_open_invitations(db: Settings) -> None:
    founder, invitee, other = await person(40), await person(9), await person(8)
    invitation = await invite(founder, invitee)
    await _erase(invitee)
    row = await PoolMembership.get(id=invitation.id)
    assert row.state is MembershipState.DECLINED and row.responded_at == NOW
    assert (await Pool.get(id=invitation.pool_id)).state is PoolState.DISSOLVED  # the founder was alone
    again = await invite(founder, other)
    assert again.pool_id != invitation.pool_id


async def test_nothing_to_leave_outside_a_pool(db: Settings) -> None:
    loner = await person(40)
    assert await _code(service.leave(account_id=loner.id, rules=RULES, now=NOW)) == "NOT_IN_POOL"
    assert (
        await _code(service.remove(account_id=loner.id, membership_id=1, rules=RULES, now=NOW))
        == "NOT_IN_POOL"
    )
