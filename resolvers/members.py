"""Member resolvers: parse arguments, call one loyalty service, map the result or the domain error."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

from loyalty.errors import DomainError
from loyalty.ledger.events import balance_channel
from loyalty.ledger.models import Currency
from loyalty.ledger.service import member_balances_for
from loyalty.members import service
from loyalty.members.models import SessionLevel
from loyalty.members.snapshot import member_snapshot
from schema.context import Info
from schema.errors import InputError, NotAuthenticated
from schema.members import (
    Balances,
    EnrolMemberInput,
    EnrolMemberResult,
    EnrolMemberSuccess,
    Member,
)


async def me(info: Info) -> Member:
    principal = info.context.principal
    if principal is None:
        raise NotAuthenticated()
    member = await member_snapshot(account_id=principal.account_id, year=dt.datetime.now(dt.UTC).year)
    if member is None:
        raise NotAuthenticated()
    return Member.from_snapshot(member)


async def enrol_member(info: Info, data: EnrolMemberInput) -> EnrolMemberResult:
    try:
        enrolled = await service.enrol(
            enrolment=service.Enrolment(
                given_name=data.given_name,
                family_name=data.family_name,
                email=data.email,
                date_of_birth=data.date_of_birth,
                country=data.country,
                pin=data.pin,
                language=data.language,
                advertising_consent=data.advertising_consent,
                user_id=data.user_id,
                password=data.password,
            ),
            rules=info.context.rules,
        )
    except DomainError as error:
        return InputError.from_domain(error)
    tokens = info.context.tokens
    return EnrolMemberSuccess(
        member=Member.from_model(enrolled.member),
        service_card_number=enrolled.card.number,
        account_number=enrolled.member.account_number,
        access_token=tokens.issue(account_id=enrolled.member.id, level=SessionLevel.AUTHENTICATED),
        expires_in=tokens.ttl_s,
    )


async def _member_balances(account_id: int) -> dict[Currency, int]:
    [amounts] = await member_balances_for(account_ids=[account_id], year=dt.datetime.now(dt.UTC).year)
    return amounts


async def my_balances(info: Info) -> AsyncIterator[Balances]:
    """The signed-in member's balances now, then again after every change announced on pub/sub."""
    principal = info.context.principal
    if principal is None:
        raise NotAuthenticated()
    subscription = await info.context.backends.pubsub.subscribe(balance_channel(principal.account_id))
    try:
        yield Balances.from_amounts(await _member_balances(principal.account_id))
        async for _ in subscription:
            yield Balances.from_amounts(await _member_balances(principal.account_id))
    finally:
        await subscription.close()
