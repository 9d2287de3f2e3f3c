"""Member resolvers: parse arguments, call one loyalty service, map the result or the domain error."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionNode,
    get_argument_values,
)
from graphql.execution.values import VariableValues

from loyalty.errors import DomainError
from loyalty.ledger.events import balance_channel
from loyalty.ledger.expiry import miles_expiring_for
from loyalty.ledger.models import Currency
from loyalty.ledger.service import member_balances_for
from loyalty.ledger.statement import MAX_PAGE_SIZE, statement_page
from loyalty.members import service
from loyalty.members.models import SessionLevel
from loyalty.members.snapshot import member_snapshot
from loyalty.offers.service import MAX_OFFERS, Audience, offers_for
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
from schema.statement import StatementConnection

READ_AHEAD = frozenset({"statement", "offers", "milesExpiring"})
"""``Member`` fields ``me`` reads together with the member when the document asks for them."""


@dataclass(slots=True)
class _Wanted:
    statement_pages: set[int] = field(default_factory=set)
    offer_counts: set[int] = field(default_factory=set)
    miles_expiring: bool = False


def _selected_fields(
    raw: GraphQLResolveInfo[Any], selections: Iterable[SelectionNode]
) -> Iterator[FieldNode]:
    """The field nodes of a selection set, through inline fragments and fragment spreads."""
    for selection in selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _selected_fields(raw, selection.selection_set.selections)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = raw.fragments.get(selection.name.value)
            if fragment is not None:
                yield from _selected_fields(raw, fragment.selection_set.selections)


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
        for selected in _selected_fields(raw, node.selection_set.selections):
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
    """The signed-in member, read in one statement, and what the document asks of them that can be read
    ahead (the first statement page, offers, miles expiring) right after it: the fields then answer
    from memory, and the whole dashboard completes without a task per field."""
    principal = info.context.principal
    if principal is None:
        raise NotAuthenticated()
    now = dt.datetime.now(dt.UTC)
    member = await member_snapshot(account_id=principal.account_id, year=now.year)
    if member is None:
        raise NotAuthenticated()
    wanted = _wanted(info)
    pages: dict[int, StatementConnection] = {}
    for first in sorted(wanted.statement_pages):
        page = await statement_page(
            account_id=member.account_id,
            first=first,
            after=None,
            currency=None,
            source=None,
            from_date=None,
            to_date=None,
        )
        pages[first] = StatementConnection.from_page(page)
    audience = Audience(tier=member.tier, country=member.country, language=member.language)
    offers: dict[int, list[Offer]] = {}
    for count in sorted(wanted.offer_counts):
        views = await offers_for(account_id=member.account_id, now=now, limit=count, audience=audience)
        offers[count] = [Offer.from_view(view) for view in views]
    expiring = None
    if wanted.miles_expiring:
        [rows] = await miles_expiring_for(account_ids=[member.account_id], today=now.date())
        expiring = ExpiringMiles.listed(rows)
    reads = MemberReads(statement_pages=pages, offers=offers, miles_expiring=expiring)
    return Member.from_snapshot(member, reads)


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
