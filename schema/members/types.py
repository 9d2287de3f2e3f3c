"""Members: the signed-in member with everything the app shows of them (each field's data from its domain)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Annotated, TypeVar, cast

import strawberry

from loyalty.dashboard.snapshot import CardSnapshot, MemberSnapshot
from loyalty.errors import DomainError
from loyalty.members import models
from resolvers import (
    awards,
    cards,
    consents,
    engagement,
    entities,
    miles_to_status,
    offers,
    pooling,
    retro_credit,
    rewards,
    status,
    twofactor,
)
from schema.awards.types import MilesPay
from schema.cards.types import CardOrder, ServiceCard
from schema.consents.types import Consent
from schema.context import Info
from schema.engagement.types import Challenge, Quiz
from schema.enums import SecondFactor, Tier
from schema.errors import NotYours, field_error
from schema.fields import NOT_AT_HAND, Absent, at_hand
from schema.ledger.enums import Currency
from schema.ledger.statement import statement_connection
from schema.ledger.types import Balances, ExpiringMiles, StatementConnection
from schema.members.connections import MemberConnections, replaced_by
from schema.members.trusted_devices import TrustedDevice
from schema.miles_to_status.types import MilesToStatusOffer
from schema.offers.types import Offer
from schema.permissions import signed_in
from schema.pooling.types import Pool, PoolInvitation
from schema.retro_credit.types import PhotoCreditReceipt, RetroCreditRequest
from schema.rewards.types import Redemption, RewardGoalProgress
from schema.status.types import EVoucher, StatusHistoryEntry, StatusProgress

T = TypeVar("T")

STATEMENT_PAGE_SIZE = 20
"""``Member.statement``'s default page size (``me`` reads that page ahead when asked for it)."""
OFFER_COUNT = 20
"""``Member.offers``' default count."""


def deferred(awaitable: Awaitable[T]) -> T:
    """What a plain (non-async) resolver returns when the value is not at hand: graphql-core awaits any
    awaitable a resolver hands back. A field whose value ``me`` read ahead is then completed in place,
    without a task, a future and a gather for it."""
    return cast(T, awaitable)


@dataclass(frozen=True, slots=True)
class MemberReads:
    """What ``me`` read together with the member, for the fields the document asks for: the first
    statement pages (by page size), the offer lists (by count) and the miles expiring."""

    statement_pages: dict[int, StatementConnection] = field(default_factory=dict)
    offers: dict[int, list[Offer]] = field(default_factory=dict)
    miles_expiring: list[ExpiringMiles] | None = None


@strawberry.type(description="A Travel ID (OpenID Connect) identity linked for unified login.")
class LinkedIdentity:
    issuer: str = strawberry.field(description="The OpenID provider's issuer URL.")
    subject: str = strawberry.field(description="The identity's 'sub' at the issuer; never an e-mail match.")
    linked_at: dt.datetime = strawberry.field(description="When the member linked it.")
    last_sign_in_at: dt.datetime | None = strawberry.field(description="The last sign-in with it, if any.")


@strawberry.federation.type(
    keys=["accountNumber"],
    description="A member of the programme. A federation entity (key: accountNumber), resolved for the "
    "signed-in member only.",
)
class Member(MemberConnections):
    account_id: strawberry.Private[int]
    account_number: str = strawberry.field(description="9 digits; never changes, whatever cards come and go.")
    given_name: str = strawberry.field(
        description="Given name as on the passport (the ticket must be issued to this person)."
    )
    family_name: str = strawberry.field(
        description="Family name as on the passport; retro credit matches it against the ticket."
    )
    email: str | None = strawberry.field(
        description="Contact and, for members registered after 29 March 2022, sign-in address."
    )
    email_verified: bool = strawberry.field(
        description="Whether the address is verified (its e-mailed code was entered). E-mail sign-in and "
        "messages use it only then; verify it with requestEmailVerification.",
    )
    country: str = strawberry.field(description="Country of residence, ISO 3166-1 alpha-2.")
    language: str = strawberry.field(description="Language of e-mails and push messages (en, de, …).")
    tier: Tier = strawberry.field(
        description="Current status: BASE, Frequent Traveller, Senator or HON Circle."
    )
    date_of_birth: dt.date = strawberry.field(
        description="Children (from 2) are members too; pooling separates adults from children by it."
    )
    user_id: str | None = strawberry.field(
        description="For user ID + password sign-in (forgot it? it is here)."
    )
    snapshot: strawberry.Private[MemberSnapshot | None] = None
    """Card and balances read with the member in one statement (``me``); else the loaders read them."""
    reads: strawberry.Private[MemberReads | None] = None
    """Statement pages, offers and expiring miles ``me`` read ahead; else each field reads its own."""

    def _card_at_hand(self) -> ServiceCard | Absent | None:
        return NOT_AT_HAND if self.snapshot is None else self._card_shown(self.snapshot.card)

    @strawberry.field(
        description="The card to show: the active service card number.", metadata=at_hand(_card_at_hand)
    )
    def card(self, info: Info) -> ServiceCard | None:
        shown = self._card_at_hand()
        return deferred(self._load_card(info)) if shown is NOT_AT_HAND else shown

    async def _load_card(self, info: Info) -> ServiceCard | None:
        return self._card_shown(await info.context.loaders.active_card_by_account.load(self.account_id))

    def _card_shown(self, card: models.ServiceCard | CardSnapshot | None) -> ServiceCard | None:
        holder = f"{self.given_name} {self.family_name}"
        return ServiceCard.from_model(card, holder_name=holder) if card else None

    @strawberry.field(
        description="Every service card number the member has held, newest first: the active one, superseded "
        "ones (status or consent changes; they still credit partner accruals) and blocked ones (lost or stolen; "
        "they credit only partner activity dated before the day of the block).",
        deprecation_reason=replaced_by("cardHistoryConnection"),
    )
    async def card_history(self) -> list[ServiceCard]:
        return [ServiceCard.from_model(card) for card in await cards.card_history(account_id=self.account_id)]

    @strawberry.field(
        description="Physical status cards ordered for the member, newest first.",
        deprecation_reason=replaced_by("cardOrdersConnection"),
    )
    async def card_orders(self) -> list[CardOrder]:
        return [CardOrder.from_model(order) for order in await cards.card_orders(account_id=self.account_id)]

    def _miles_expiring_at_hand(self) -> list[ExpiringMiles] | Absent:
        if self.reads is None or self.reads.miles_expiring is None:
            return NOT_AT_HAND
        return self.reads.miles_expiring

    @strawberry.field(
        description="Award miles expiring at the end of the current and of the next quarter "
        "(protected miles do not expire).",
        metadata=at_hand(_miles_expiring_at_hand),
    )
    def miles_expiring(self, info: Info) -> list[ExpiringMiles]:
        expiring = self._miles_expiring_at_hand()
        return deferred(self._load_miles_expiring(info)) if expiring is NOT_AT_HAND else expiring

    async def _load_miles_expiring(self, info: Info) -> list[ExpiringMiles]:
        return ExpiringMiles.listed(
            await info.context.loaders.miles_expiring_by_account.load(self.account_id)
        )

    def _statement_at_hand(
        self, first: int = STATEMENT_PAGE_SIZE, **filters: object
    ) -> StatementConnection | Absent:
        """The first page ``me`` read ahead, when no cursor or filter is given."""
        if self.reads is None or any(value is not None for value in filters.values()):
            return NOT_AT_HAND
        return self.reads.statement_pages.get(first, NOT_AT_HAND)

    @strawberry.field(
        description="The member's transactions, newest booked first, a page at a time (Relay connection with "
        "keyset cursors). Filter by currency, source and activity dates. A bad cursor is an error with code "
        "CURSOR_INVALID, a page size outside 1 to 100 PAGE_SIZE_INVALID, a range ending before it starts "
        "DATE_RANGE_INVALID.",
        metadata=at_hand(_statement_at_hand),
    )
    def statement(
        self,
        first: Annotated[
            int, strawberry.argument(description="Entries per page, 1 to 100.")
        ] = STATEMENT_PAGE_SIZE,
        after: Annotated[
            str | None, strawberry.argument(description="The endCursor of the previous page.")
        ] = None,
        currency: Annotated[
            Currency | None, strawberry.argument(description="Only transactions that moved this currency.")
        ] = None,
        source: Annotated[
            str | None,
            strawberry.argument(description="Only transactions from this source, e.g. PARTNER_ACCRUAL."),
        ] = None,
        from_date: Annotated[
            dt.date | None, strawberry.argument(description="Only activity dates from this day (inclusive).")
        ] = None,
        to_date: Annotated[
            dt.date | None, strawberry.argument(description="Only activity dates up to this day (inclusive).")
        ] = None,
    ) -> StatementConnection:
        page = self._statement_at_hand(
            first, after=after, currency=currency, source=source, from_date=from_date, to_date=to_date
        )
        if page is not NOT_AT_HAND:
            return page
        return deferred(
            statement_connection(
                account_id=self.account_id,
                first=first,
                after=after,
                currency=currency,
                source=source,
                from_date=from_date,
                to_date=to_date,
            )
        )

    @strawberry.field(
        description="The reward the member saves towards, with the award miles still missing; none without a goal."
    )
    async def reward_goal(self) -> RewardGoalProgress | None:
        progress = await rewards.member_reward_goal(account_id=self.account_id)
        return None if progress is None else RewardGoalProgress.from_domain(progress)

    @strawberry.field(
        description="Rewards the member redeemed with award miles, newest first (cancelled ones too).",
        deprecation_reason=replaced_by("redemptionsConnection"),
    )
    async def redemptions(self) -> list[Redemption]:
        return [
            Redemption.from_model(listed.redemption, listed.reward)
            for listed in await rewards.member_redemptions(account_id=self.account_id)
        ]

    @strawberry.field(
        description="Status tier, validity, this year's counters and what is missing to reach the next "
        "tier or keep this one."
    )
    async def status(self) -> StatusProgress:
        return StatusProgress.from_domain(await status.member_status(account_id=self.account_id))

    @strawberry.field(
        description="Every change of the member's status, newest first.",
        deprecation_reason=replaced_by("statusHistoryConnection"),
    )
    async def status_history(self) -> list[StatusHistoryEntry]:
        rows = await status.member_status_history(account_id=self.account_id)
        return [StatusHistoryEntry.from_model(row) for row in rows]

    @strawberry.field(
        description="Miles to status: what the member may exchange this year (credit-card holders with the "
        "feature), and this year's exchange once made."
    )
    async def miles_to_status(self, info: Info) -> MilesToStatusOffer:
        offer = await miles_to_status.miles_to_status_offer(
            account_id=self.account_id, rules=info.context.rules
        )
        return MilesToStatusOffer.from_domain(offer)

    @strawberry.field(description="Upgrade eVouchers, soonest to expire first (used ones too).")
    async def e_vouchers(self) -> list[EVoucher]:
        return [EVoucher.from_model(row) for row in await status.member_evouchers(account_id=self.account_id)]

    @strawberry.field(description="The member's current choice per consent purpose (never asked: not given).")
    async def consents(self) -> list[Consent]:
        current = await consents.current_consents(account_id=self.account_id)
        return [Consent.from_record(purpose, record) for purpose, record in current.items()]

    @strawberry.field(
        description="Every consent decision of the member, newest first.",
        deprecation_reason=replaced_by("consentHistoryConnection"),
    )
    async def consent_history(self) -> list[Consent]:
        history = await consents.consent_history(account_id=self.account_id)
        return [Consent.from_record(record.purpose, record) for record in history]

    @strawberry.field(
        description="Open and upcoming challenges, and every one the member joined, with progress."
    )
    async def challenges(self) -> list[Challenge]:
        views = await engagement.member_challenges(account_id=self.account_id)
        return [Challenge.from_view(view) for view in views]

    @strawberry.field(description="This month's quiz with the member's answer; none when there is no quiz.")
    async def quiz(self) -> Quiz | None:
        found = await engagement.member_quiz(account_id=self.account_id)
        return None if found is None else Quiz.from_model(found.quiz, found.entry)

    def _offers_at_hand(self, first: int = OFFER_COUNT) -> list[Offer] | Absent:
        return NOT_AT_HAND if self.reads is None else self.reads.offers.get(first, NOT_AT_HAND)

    @strawberry.field(
        description="Offers running now for this member, best first: personally ranked with PERSONALISATION "
        "consent, else the same generic list as everyone.",
        metadata=at_hand(_offers_at_hand),
    )
    def offers(
        self,
        first: Annotated[
            int, strawberry.argument(description="How many offers, 1 to 20 (PAGE_SIZE_INVALID otherwise).")
        ] = OFFER_COUNT,
    ) -> list[Offer]:
        offers = self._offers_at_hand(first)
        if offers is not NOT_AT_HAND:
            return offers
        return deferred(_offers(account_id=self.account_id, first=first))

    @strawberry.field(
        description="The member's mileage pool (members, roles, when miles combine, the pool balance and what "
        "the member may redeem); none when the member is in no pool."
    )
    async def pool(self, info: Info) -> Pool | None:
        view = await pooling.member_pool(account_id=self.account_id, rules=info.context.rules)
        return None if view is None else Pool.from_view(view)

    @strawberry.field(
        description="Open invitations to other members' mileage pools, newest first (an invitation expires "
        "14 days after it was sent and is then no longer listed)."
    )
    async def pool_invitations(self, info: Info) -> list[PoolInvitation]:
        views = await pooling.member_invitations(account_id=self.account_id, rules=info.context.rules)
        return [PoolInvitation.from_view(view) for view in views]

    @strawberry.field(
        description="The member's retro-credit requests (flights credited afterwards), newest first, with "
        "their state and, when rejected, the reason.",
        deprecation_reason=replaced_by("retroCreditRequestsConnection"),
    )
    async def retro_credit_requests(self) -> list[RetroCreditRequest]:
        rows = await retro_credit.member_retro_credit_requests(account_id=self.account_id)
        return [RetroCreditRequest.from_model(row) for row in rows]

    @strawberry.field(
        description="Receipt photos sent for photo credit (POST /photo-credit/receipts), newest first, with "
        "the partner's verdict.",
        deprecation_reason=replaced_by("receiptsConnection"),
    )
    async def receipts(self) -> list[PhotoCreditReceipt]:
        rows = await retro_credit.member_receipts(account_id=self.account_id)
        return [PhotoCreditReceipt.from_model(row) for row in rows]

    @strawberry.field(
        description="The member's active MilesPay opt-in (setMilesPay); none when not opted in."
    )
    async def miles_pay(self) -> MilesPay | None:
        row = await awards.member_milespay(account_id=self.account_id)
        return None if row is None else MilesPay.from_model(row)

    @strawberry.field(description="The second factors the member has on (APP, SMS); empty: none is asked.")
    async def second_factors(self) -> list[SecondFactor]:
        return list(await twofactor.second_factors(account_id=self.account_id))

    @strawberry.field(
        description="Devices the member trusts: signing in on them skips the second factor until each one's "
        "expiresAt. Revoke one with revokeTrustedDevice; signing out everywhere revokes them all."
    )
    async def trusted_devices(self) -> list[TrustedDevice]:
        rows = await twofactor.trusted_devices(account_id=self.account_id)
        return [TrustedDevice.from_model(row) for row in rows]

    @strawberry.field(description="Whether sign-in asks for an authenticator-app code.")
    async def two_factor_enabled(self, info: Info) -> bool:
        return await info.context.loaders.two_factor_by_account.load(self.account_id)

    @strawberry.field(
        description="Travel IDs linked to this account (link and unlink under /auth/travel-id)."
    )
    async def linked_identities(self, info: Info) -> list[LinkedIdentity]:
        rows = await info.context.loaders.identities_by_account.load(self.account_id)
        return [
            LinkedIdentity(
                issuer=r.issuer, subject=r.subject, linked_at=r.linked_at, last_sign_in_at=r.last_sign_in_at
            )
            for r in rows
        ]

    def _balances_at_hand(self) -> Balances | Absent:
        return NOT_AT_HAND if self.snapshot is None else Balances.from_amounts(self.snapshot.balances)

    @strawberry.field(
        description="Current balances; always the sum of the member's ledger entries.",
        metadata=at_hand(_balances_at_hand),
    )
    def balances(self, info: Info) -> Balances:
        balances = self._balances_at_hand()
        return deferred(self._load_balances(info)) if balances is NOT_AT_HAND else balances

    async def _load_balances(self, info: Info) -> Balances:
        return Balances.from_amounts(await info.context.loaders.balances_by_account.load(self.account_id))

    @classmethod
    def resolve_reference(cls, info: Info, **representation: object) -> Awaitable[Member]:
        return _member_reference(info, representation)

    @classmethod
    def from_model(cls, member: models.Member) -> Member:
        return cls(
            account_id=member.id,
            account_number=member.account_number,
            given_name=member.given_name,
            family_name=member.family_name,
            email=member.email,
            email_verified=member.email is not None and member.email_verified_at is not None,
            country=member.country,
            language=member.language,
            tier=member.tier,
            date_of_birth=member.date_of_birth,
            user_id=member.user_id,
        )

    @classmethod
    def from_snapshot(cls, member: MemberSnapshot, reads: MemberReads | None = None) -> Member:
        return cls(
            account_id=member.account_id,
            account_number=member.account_number,
            given_name=member.given_name,
            family_name=member.family_name,
            email=member.email,
            email_verified=member.email is not None and member.email_verified,
            country=member.country,
            language=member.language,
            tier=member.tier,
            date_of_birth=member.date_of_birth,
            user_id=member.user_id,
            snapshot=member,
            reads=reads,
        )


async def _offers(*, account_id: int, first: int) -> list[Offer]:
    """The first ``first`` offers; a count outside 1 to 20 is a GraphQL error (PAGE_SIZE_INVALID)."""
    try:
        views = await offers.member_offers(account_id=account_id, first=first)
    except DomainError as error:
        raise field_error(error, "first") from error
    return [Offer.from_view(view) for view in views]


async def _member_reference(info: Info, representation: dict[str, object]) -> Member:
    """The member a representation's accountNumber names, when it is the signed-in member."""
    account_id = signed_in(info.context).account_id
    try:
        number = entities.reference_key(representation, "accountNumber")
        row = entities.own_member(
            await info.context.entity_loaders.member_by_account_number.load(number), account_id=account_id
        )
    except entities.NotYours:
        raise NotYours() from None
    return Member.from_model(row)
