"""Pool invitations expire (issue 19): ``[pooling] invitation_valid_days`` (14) after they were sent an
unanswered invitation holds no place, is not listed, and accepting or declining it is refused."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from gateway.settings import Settings
from loyalty.errors import DomainError
from loyalty.events.models import DomainEvent, EventType
from loyalty.pooling import service
from loyalty.pooling.models import MembershipState, Pool, PoolMembership, PoolState
from loyalty.pooling.state import place_of
from loyalty.pooling.views import invitations_of, pool_of
from loyalty.rules import current_rules
from tests.loyalty.pooling_helpers import NOW, Person, invite, person

RULES = current_rules()
VALID = dt.timedelta(days=RULES.pooling.invitation_valid_days)
EXPIRED = NOW + VALID
"""The moment an invitation sent at NOW expires."""


async def _code(call: object) -> str:
    try:
        await call  # type: ignore[misc]
    except DomainError as error:
        return error.code
    return "ok"


def _accept(invitee: Person, invitation: PoolMembership, now: dt.datetime) -> object:
    return service.accept(account_id=invitee.id, invitation_id=invitation.id, rules=RULES, now=now)


def test_the_default_is_fourteen_days() -> None:
    assert RULES.pooling.invitation_valid_days == 14


async def test_accepting_an_expired_invitation_is_refused_and_the_expiry_stays(db: Settings) -> None:
    founder, invitee = await person(40), await person(38)
    invitation = await invite(founder, invitee)
    second = await invite(founder, await person(9))

    # when: accepted the moment it expires
    assert await _code(_accept(invitee, invitation, EXPIRED)) == "INVITATION_EXPIRED"

    # then: the expiry was committed (not rolled back with the refusal); the pool's other invitation
    # expired too, so the founder was left alone and the pool dissolved (the founder is free again)
    row = await PoolMembership.get(id=invitation.id)
    assert (row.state, row.left_at) == (MembershipState.EXPIRED, EXPIRED)
    assert (await PoolMembership.get(id=second.id)).state is MembershipState.EXPIRED
    assert (await Pool.get(id=invitation.pool_id)).state is PoolState.DISSOLVED
    assert await place_of(founder.id) is None
    changes = [
        event.payload["change"]
        for event in await DomainEvent.filter(account_id=invitee.id, type=EventType.POOL_CHANGED).order_by(
            "id"
        )
    ]
    assert changes == ["invited", "expired"]
    # and asking again says the same
    assert await _code(_accept(invitee, invitation, EXPIRED + dt.timedelta(days=1))) == "INVITATION_EXPIRED"
    assert (
        await _code(
            service.decline(account_id=invitee.id, invitation_id=invitation.id, rules=RULES, now=EXPIRED)
        )
        == "INVITATION_EXPIRED"
    )


async def test_an_invitation_is_open_until_its_last_moment(db: Settings) -> None:
    founder, invitee = await person(40), await person(38)
    invitation = await invite(founder, invitee)
    accepted = await service.accept(
        account_id=invitee.id, invitation_id=invitation.id, rules=RULES, now=EXPIRED - dt.timedelta(seconds=1)
    )
    assert accepted.state is MembershipState.ACCEPTED


async def test_expired_invitations_are_not_listed(db: Settings) -> None:
    founder, invitee = await person(40), await person(38)
    invitation = await invite(founder, invitee)
    before = await invitations_of(
        account_id=invitee.id, now=EXPIRED - dt.timedelta(seconds=1), rules=RULES.pooling
    )
    assert [(view.membership.id, view.expires_at) for view in before] == [(invitation.id, EXPIRED)]
    assert await invitations_of(account_id=invitee.id, now=EXPIRED, rules=RULES.pooling) == []
    # the founder's view of the pool lists it until it expires, marked or not
    open_view = await pool_of(account_id=founder.id, today=EXPIRED.date(), rules=RULES.pooling, now=NOW)
    assert open_view is not None and len(open_view.members) == 2
    view = await pool_of(account_id=founder.id, today=EXPIRED.date(), rules=RULES.pooling, now=EXPIRED)
    assert view is not None and [member.membership.account_id for member in view.members] == [founder.id]


async def test_an_expired_invitation_frees_its_place_and_can_be_sent_again(db: Settings) -> None:
    founder = await person(40)
    children = [await person(4 + n) for n in range(RULES.pooling.max_children)]
    for child in children:
        await invite(founder, child)
    late = await person(12)
    assert await _code(invite(founder, late)) == "POOL_FULL"

    # when the invitations expired, a place is free, and one of them can be invited again
    again = await invite(founder, children[0], EXPIRED)
    other = await invite(founder, late, EXPIRED)
    assert again.state is other.state is MembershipState.INVITED
    assert await PoolMembership.filter(state=MembershipState.EXPIRED).count() == RULES.pooling.max_children
    assert await PoolMembership.filter(state=MembershipState.INVITED).count() == 2


async def test_the_periodic_run_expires_invitations_and_settles_their_pools(db: Settings) -> None:
    founder, invitee, answered = await person(40), await person(38), await person(41)
    await invite(founder, invitee)
    other_pool = await invite(answered, await person(39))

    assert (
        await service.expire_invitations_due(now=EXPIRED - dt.timedelta(seconds=1), rules=RULES.pooling) == 0
    )
    assert await service.expire_invitations_due(now=EXPIRED, rules=RULES.pooling) == 2
    assert await service.expire_invitations_due(now=EXPIRED, rules=RULES.pooling) == 0
    # the founders were alone: their pools dissolved, nobody is blocked
    assert await place_of(founder.id) is None and await place_of(answered.id) is None
    assert (await Pool.get(id=other_pool.pool_id)).state is PoolState.DISSOLVED
    assert await service.blocked_until(account_id=founder.id, today=EXPIRED.date()) is None


@pytest.mark.parametrize("days", [1, 30])
async def test_the_validity_is_a_setting(db: Settings, days: int) -> None:
    rules = dataclasses.replace(RULES, pooling=dataclasses.replace(RULES.pooling, invitation_valid_days=days))
    founder, invitee = await person(40), await person(38)
    invitation = await invite(founder, invitee)
    due = NOW + dt.timedelta(days=days)
    refused = service.accept(account_id=invitee.id, invitation_id=invitation.id, rules=rules, now=due)
    assert await _code(refused) == "INVITATION_EXPIRED"
