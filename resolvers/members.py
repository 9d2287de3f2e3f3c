"""Member resolvers: the signed-in member's dashboard, enrolment (request, then confirm with the e-mailed
code), and the balances and their updates."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass, field

from loyalty import enrolment as enrolments
from loyalty.dashboard.read import read_dashboard
from loyalty.dashboard.snapshot import MemberSnapshot
from loyalty.ledger.events import balance_channel
from loyalty.ledger.models import Currency
from loyalty.ledger.service import member_balances_for
from loyalty.ledger.statement import StatementPage
from loyalty.members.models import Member, SessionLevel
from loyalty.offers.service import MAX_OFFERS, OfferView
from loyalty.paging import MAX_PAGE_SIZE
from loyalty.ports import PubSub
from loyalty.rules import ProgrammeRules
from resolvers.sign_in import TokenIssuer


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The member and what ``me`` read ahead with them: first statement pages by page size, offer lists
    by count, the miles expiring (None when not asked for)."""

    member: MemberSnapshot
    statement_pages: dict[int, StatementPage] = field(default_factory=dict)
    offers: dict[int, list[OfferView]] = field(default_factory=dict)
    miles_expiring: list[tuple[dt.date, int]] | None = None


@dataclass(frozen=True, slots=True)
class Enrolled:
    member: Member
    service_card_number: str
    access_token: str
    expires_in: int
    user_id_taken: bool


async def dashboard(
    *, account_id: int, statement_pages: Iterable[int], offer_counts: Iterable[int], miles_expiring: bool
) -> Dashboard | None:
    """The signed-in member (None if unknown) and the first statement pages, offer lists and expiring
    miles the document asks for, together (``read_dashboard``: one statement on PostgreSQL). A size out
    of range is left to its field, which answers the coded error itself."""
    pages = {size for size in statement_pages if 1 <= size <= MAX_PAGE_SIZE}
    counts = {count for count in offer_counts if 1 <= count <= MAX_OFFERS}
    reads = await read_dashboard(
        account_id=account_id,
        now=dt.datetime.now(dt.UTC),
        page_size=max(pages, default=None),
        offer_count=max(counts, default=None),
        miles_expiring=miles_expiring,
    )
    if reads is None:
        return None
    statement, offers = reads.statement, reads.offers
    return Dashboard(
        member=reads.member,
        statement_pages={size: statement.head(size) for size in pages} if statement is not None else {},
        offers={count: offers[:count] for count in counts} if offers is not None else {},
        miles_expiring=reads.miles_expiring,
    )


async def request_enrolment(
    *, enrolment: enrolments.Enrolment, rules: ProgrammeRules
) -> enrolments.EnrolmentRequested:
    """The same answer for every address; the code (or the notice) goes out by e-mail."""
    return await enrolments.request_enrolment(enrolment=enrolment, rules=rules, now=dt.datetime.now(dt.UTC))


async def confirm_enrolment(
    *, enrolment_id: str, code: str, rules: ProgrammeRules, tokens: TokenIssuer
) -> Enrolled:
    """The new member, signed in (AUTHENTICATED), once the e-mailed code is right."""
    enrolled = await enrolments.confirm_enrolment(
        enrolment_id=enrolment_id, code=code, rules=rules, now=dt.datetime.now(dt.UTC)
    )
    return Enrolled(
        member=enrolled.member,
        service_card_number=enrolled.card.number,
        access_token=tokens.issue(
            account_id=enrolled.member.id,
            level=SessionLevel.AUTHENTICATED,
            generation=enrolled.member.session_generation,
        ),
        expires_in=tokens.ttl_s,
        user_id_taken=enrolled.user_id_taken,
    )


async def member_balances(*, account_id: int) -> dict[Currency, int]:
    [amounts] = await member_balances_for(account_ids=[account_id], year=dt.datetime.now(dt.UTC).year)
    return amounts


async def balance_updates(*, account_id: int, pubsub: PubSub) -> AsyncGenerator[dict[Currency, int], None]:
    """The member's balances now, then again after every change announced on pub/sub."""
    subscription = await pubsub.subscribe(balance_channel(account_id))
    try:
        yield await member_balances(account_id=account_id)
        async for _ in subscription:
            yield await member_balances(account_id=account_id)
    finally:
        await subscription.close()
