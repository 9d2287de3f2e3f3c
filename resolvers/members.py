"""Member resolvers: parse arguments, call one loyalty service, map the result or the domain error."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

from graphql import (
    GraphQLObjectType,
    get_argument_values,
)
from graphql.execution.values import VariableValues

from loyalty.errors import DomainError
from loyalty.ledger.events import balance_channel
from loyalty.ledger.models import Currency
from loyalty.ledger.service import member_balances_for
from loyalty.ledger.statement import MAX_PAGE_SIZE
from loyalty.members import service
from loyalty.members.dashboard import read_dashboard
from loyalty.members.models import SessionLevel
from loyalty.offers.service import MAX_OFFERS
from schema.context import Info
from schema.errors import InputError, NotAuthenticated
from schema.members import (
    Balances,
    EnrolMemberInput,
    EnrolMemberResult,
    EnrolMemberSuccess,
    ExpiringMiles,
    Member,
    MemberReads,
)
from schema.offers import Offer
from schema.selections import root_fields
from schema.statement import StatementConnection

READ_AHEAD = frozenset({"statement", "offers", "milesExpiring"})
"""``Member`` fields ``me`` reads together with the member when the document asks for them."""


@dataclass(slots=True)
class _Wanted:
    statement_pages: set[int] = field(default_factory=set)
    offer_counts: set[int] = field(default_factory=set)
    miles_expiring: bool = False


def _wanted(info: Info) -> _Wanted:
    """Which first statement pages, offer lists and expiring miles the document asks ``me`` for (with
    the page sizes and counts its arguments or variables give). A page with a cursor or a filter, or a
    size out of range, is left to its field, which reads it or answers the typed error itself."""
    raw = info._raw_info
    member_type = raw.schema.get_type("Member")
    wanted = _Wanted()
    if not isinstance(member_type, GraphQLObjectType):
        return wanted
    # Strawberry hands resolvers the coerced variables as a plain dict; graphql-core wants its container.
    variables = VariableValues(sources={}, coerced=cast(dict[str, Any], raw.variable_values))
    for node in raw.field_nodes:
        if node.selection_set is None:
            continue
        for selected in root_fields(raw.fragments, node.selection_set):
            name = selected.name.value
            if name not in READ_AHEAD:
                continue
            if name == "milesExpiring":
                wanted.miles_expiring = True
                continue
            arguments = get_argument_values(member_type.fields[name], selected, variables)
            first = arguments.pop("first", None)
            if not isinstance(first, int) or any(value is not None for value in arguments.values()):
                continue
            if name == "statement" and 1 <= first <= MAX_PAGE_SIZE:
                wanted.statement_pages.add(first)
            elif name == "offers" and 1 <= first <= MAX_OFFERS:
                wanted.offer_counts.add(first)
    return wanted


async def me(info: Info) -> Member:
    """The signed-in member and what the document asks of them that can be read ahead (the first
    statement page, offers, miles expiring), together (``read_dashboard``: one statement on PostgreSQL).
    The fields then answer from memory, and the whole dashboard completes without a task per field."""
    principal = info.context.principal
    if principal is None:
        raise NotAuthenticated()
    wanted = _wanted(info)
    reads = await read_dashboard(
        account_id=principal.account_id,
        now=dt.datetime.now(dt.UTC),
        page_size=max(wanted.statement_pages, default=None),
        offer_count=max(wanted.offer_counts, default=None),
        miles_expiring=wanted.miles_expiring,
    )
    if reads is None:
        raise NotAuthenticated()
    pages = {
        size: StatementConnection.from_page(reads.statement.head(size))
        for size in wanted.statement_pages
        if reads.statement is not None
    }
    offers = {
        count: [Offer.from_view(view) for view in reads.offers[:count]]
        for count in wanted.offer_counts
        if reads.offers is not None
    }
    expiring = ExpiringMiles.listed(reads.miles_expiring) if reads.miles_expiring is not None else None
    return Member.from_snapshot(
        reads.member, MemberReads(statement_pages=pages, offers=offers, miles_expiring=expiring)
    )


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
