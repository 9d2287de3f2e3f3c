"""Members, their digital service card and their balances."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, TypeVar, cast

import strawberry

from loyalty.identifiers import card_qr_svg, group_for_reading
from loyalty.ledger.models import Currency
from loyalty.members import models
from loyalty.members.models import CardState, SessionLevel, Tier
from loyalty.members.snapshot import CardSnapshot, MemberSnapshot
from loyalty.offers.service import Audience
from resolvers.statement import member_statement
from schema.context import Info
from schema.errors import InputError
from schema.statement import StatementConnection

if TYPE_CHECKING:
    from schema.cards import CardOrder
    from schema.consents import Consent
    from schema.engagement import Challenge, Quiz
    from schema.offers import Offer
    from schema.pooling import Pool, PoolInvitation
    from schema.retro_credit import PhotoCreditReceipt, RetroCreditRequest
    from schema.rewards import Redemption, RewardGoalProgress
    from schema.status import EVoucher, StatusHistoryEntry, StatusProgress

T = TypeVar("T")


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


# The domain's enums become GraphQL enums here, which keeps loyalty/ free of Strawberry.
strawberry.enum(Tier, description="Status tier (Member, Frequent Traveller, Senator, HON Circle).")
strawberry.enum(
    CardState,
    description="ACTIVE is the card to use; SUPERSEDED numbers still credit partner accruals; "
    "BLOCKED ones do nothing.",
)
strawberry.enum(SessionLevel, description="How freshly the member proved who they are.")


@strawberry.federation.type(
    keys=["number"],
    description="A service card number. The app card is the card: no plastic for base members. "
    "A federation entity (key: number), resolved for the card's own member only.",
)
class ServiceCard:
    number: str = strawberry.field(
        description="The 15-digit service card number (status prefix + Luhn digit)."
    )
    state: CardState = strawberry.field(
        description="ACTIVE, SUPERSEDED (still credits accruals) or BLOCKED (lost or stolen)."
    )
    tier: Tier = strawberry.field(description="The status the card was issued for.")
    issued_at: dt.datetime = strawberry.field(description="When this number was issued.")
    valid_until: dt.date | None = strawberry.field(
        description="End of the status validity; none for base cards."
    )

    holder_name: str | None = strawberry.field(
        default=None, description="The member's name as the app card shows it (on the member's own card)."
    )

    @strawberry.field(description="The number in groups of four, as printed: 9920 1234 5678 901.")
    def number_grouped(self) -> str:
        return group_for_reading(self.number)

    @strawberry.field(description="The app card's QR code (SVG) encoding the service card number.")
    def qr_code_svg(self) -> str:
        return card_qr_svg(self.number)

    @classmethod
    def resolve_reference(cls, info: Info, **representation: object) -> Awaitable[ServiceCard]:
        from resolvers.entities import card_reference  # resolvers.entities imports this module

        return card_reference(info, representation)

    @classmethod
    def from_model(
        cls, card: models.ServiceCard | CardSnapshot, *, holder_name: str | None = None
    ) -> ServiceCard:
        return cls(
            number=card.number,
            state=card.state,
            tier=card.tier,
            issued_at=card.issued_at,
            valid_until=card.valid_until,
            holder_name=holder_name,
        )


@strawberry.type(description="What the member holds in each currency of the programme.")
class Balances:
    award_miles: int = strawberry.field(
        description="Award miles: redeemable from 3,000; each credit expires."
    )
    points: int = strawberry.field(description="Points of this calendar year: they count towards status.")
    qualifying_points: int = strawberry.field(description="Qualifying Points of this calendar year.")
    hon_circle_points: int = strawberry.field(description="HON Circle Points of this calendar year.")
    lifetime_qualifying_points: int = strawberry.field(
        description="All Qualifying Points ever (lifetime status)."
    )

    @classmethod
    def from_amounts(cls, amounts: dict[Currency, int]) -> Balances:
        return cls(
            award_miles=amounts[Currency.AWARD_MILES],
            points=amounts[Currency.POINTS],
            qualifying_points=amounts[Currency.QUALIFYING_POINTS],
            hon_circle_points=amounts[Currency.HON_CIRCLE_POINTS],
            lifetime_qualifying_points=amounts[Currency.LIFETIME_QUALIFYING_POINTS],
        )


@strawberry.type(description="A Travel ID (OpenID Connect) identity linked for unified login.")
class LinkedIdentity:
    issuer: str = strawberry.field(description="The OpenID provider's issuer URL.")
    subject: str = strawberry.field(description="The identity's 'sub' at the issuer; never an e-mail match.")
    linked_at: dt.datetime = strawberry.field(description="When the member linked it.")
    last_sign_in_at: dt.datetime | None = strawberry.field(description="The last sign-in with it, if any.")


@strawberry.type(
    description="Award miles that expire at the end of a quarter unless spent first (36 months, then quarter end)."
)
class ExpiringMiles:
    expires_on: dt.date = strawberry.field(
        description="Last day of the quarter; the miles are gone the day after."
    )
    miles: int = strawberry.field(description="How many award miles expire then.")

    @classmethod
    def listed(cls, rows: list[tuple[dt.date, int]]) -> list[ExpiringMiles]:
        return [cls(expires_on=day, miles=miles) for day, miles in rows]


@strawberry.federation.type(
    keys=["accountNumber"],
    description="A member of the programme. A federation entity (key: accountNumber), resolved for the "
    "signed-in member only.",
)
class Member:
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

    @strawberry.field(description="The card to show: the active service card number.")
    def card(self, info: Info) -> ServiceCard | None:
        if self.snapshot is not None:
            return self._card_shown(self.snapshot.card)
        return deferred(self._load_card(info))

    async def _load_card(self, info: Info) -> ServiceCard | None:
        return self._card_shown(await info.context.loaders.active_card_by_account.load(self.account_id))

    def _card_shown(self, card: models.ServiceCard | CardSnapshot | None) -> ServiceCard | None:
        holder = f"{self.given_name} {self.family_name}"
        return ServiceCard.from_model(card, holder_name=holder) if card else None

    @strawberry.field(
        description="Every service card number the member has held, newest first: the active one, superseded "
        "ones (status or consent changes; they still credit partner accruals) and blocked ones (lost or stolen)."
    )
    async def card_history(self) -> list[ServiceCard]:
        from resolvers.cards import member_card_history  # resolvers.cards imports this module

        return await member_card_history(account_id=self.account_id)

    @strawberry.field(description="Physical status cards ordered for the member, newest first.")
    async def card_orders(self) -> list[Annotated[CardOrder, strawberry.lazy("schema.cards")]]:
        from resolvers.cards import member_card_orders  # resolvers.cards imports this module

        return await member_card_orders(account_id=self.account_id)

    @strawberry.field(
        description="Award miles expiring at the end of the current and of the next quarter "
        "(protected miles do not expire)."
    )
    def miles_expiring(self, info: Info) -> list[ExpiringMiles]:
        if self.reads is not None and self.reads.miles_expiring is not None:
            return self.reads.miles_expiring
        return deferred(self._load_miles_expiring(info))

    async def _load_miles_expiring(self, info: Info) -> list[ExpiringMiles]:
        return ExpiringMiles.listed(
            await info.context.loaders.miles_expiring_by_account.load(self.account_id)
        )

    @strawberry.field(
        description="The member's transactions, newest booked first, a page at a time (Relay connection with "
        "keyset cursors). Filter by currency, source and activity dates. A bad cursor is an error with code "
        "CURSOR_INVALID, a page size outside 1 to 100 PAGE_SIZE_INVALID, a range ending before it starts "
        "DATE_RANGE_INVALID."
    )
    def statement(
        self,
        first: Annotated[int, strawberry.argument(description="Entries per page, 1 to 100.")] = 20,
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
        first_page = after is None and currency is None and source is None and from_date is None
        if first_page and to_date is None and self.reads is not None and first in self.reads.statement_pages:
            return self.reads.statement_pages[first]
        return deferred(
            member_statement(
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
    async def reward_goal(self) -> Annotated[RewardGoalProgress, strawberry.lazy("schema.rewards")] | None:
        from resolvers.rewards import member_reward_goal  # resolvers.rewards imports this module

        return await member_reward_goal(account_id=self.account_id)

    @strawberry.field(
        description="Rewards the member redeemed with award miles, newest first (cancelled ones too)."
    )
    async def redemptions(self) -> list[Annotated[Redemption, strawberry.lazy("schema.rewards")]]:
        from resolvers.rewards import member_redemptions  # resolvers.rewards imports this module

        return await member_redemptions(account_id=self.account_id)

    @strawberry.field(
        description="Status tier, validity, this year's counters and what is missing to reach the next "
        "tier or keep this one."
    )
    async def status(self) -> Annotated[StatusProgress, strawberry.lazy("schema.status")]:
        from resolvers.status import member_status  # resolvers.status imports schema modules

        return await member_status(account_id=self.account_id)

    @strawberry.field(description="Every change of the member's status, newest first.")
    async def status_history(self) -> list[Annotated[StatusHistoryEntry, strawberry.lazy("schema.status")]]:
        from resolvers.status import member_status_history

        return await member_status_history(account_id=self.account_id)

    @strawberry.field(description="Upgrade eVouchers, soonest to expire first (used ones too).")
    async def e_vouchers(self) -> list[Annotated[EVoucher, strawberry.lazy("schema.status")]]:
        from resolvers.status import member_evouchers

        return await member_evouchers(account_id=self.account_id)

    @strawberry.field(description="The member's current choice per consent purpose (never asked: not given).")
    async def consents(self) -> list[Annotated[Consent, strawberry.lazy("schema.consents")]]:
        from resolvers.consents import member_consents  # resolvers.consents imports schema modules

        return await member_consents(account_id=self.account_id)

    @strawberry.field(description="Every consent decision of the member, newest first.")
    async def consent_history(self) -> list[Annotated[Consent, strawberry.lazy("schema.consents")]]:
        from resolvers.consents import member_consent_history

        return await member_consent_history(account_id=self.account_id)

    @strawberry.field(
        description="Open and upcoming challenges, and every one the member joined, with progress."
    )
    async def challenges(self) -> list[Annotated[Challenge, strawberry.lazy("schema.engagement")]]:
        from resolvers.engagement import member_challenges  # resolvers.engagement imports schema modules

        return await member_challenges(account_id=self.account_id)

    @strawberry.field(description="This month's quiz with the member's answer; none when there is no quiz.")
    async def quiz(self) -> Annotated[Quiz, strawberry.lazy("schema.engagement")] | None:
        from resolvers.engagement import member_quiz

        return await member_quiz(account_id=self.account_id)

    @strawberry.field(
        description="Offers running now for this member, best first: personally ranked with PERSONALISATION "
        "consent, else the same generic list as everyone."
    )
    def offers(
        self,
        first: Annotated[
            int, strawberry.argument(description="How many offers, 1 to 20 (PAGE_SIZE_INVALID otherwise).")
        ] = 20,
    ) -> list[Annotated[Offer, strawberry.lazy("schema.offers")]]:
        if self.reads is not None and first in self.reads.offers:
            return self.reads.offers[first]
        from resolvers.offers import member_offers  # resolvers.offers imports schema modules

        return deferred(member_offers(account_id=self.account_id, first=first, audience=Audience.of(self)))

    @strawberry.field(
        description="The member's mileage pool (members, roles, when miles combine, the pool balance and what "
        "the member may redeem); none when the member is in no pool."
    )
    async def pool(self, info: Info) -> Annotated[Pool, strawberry.lazy("schema.pooling")] | None:
        from resolvers.pooling import member_pool  # resolvers.pooling imports schema modules

        return await member_pool(info, account_id=self.account_id)

    @strawberry.field(description="Open invitations to other members' mileage pools, newest first.")
    async def pool_invitations(self) -> list[Annotated[PoolInvitation, strawberry.lazy("schema.pooling")]]:
        from resolvers.pooling import member_invitations  # resolvers.pooling imports schema modules

        return await member_invitations(account_id=self.account_id)

    @strawberry.field(
        description="The member's retro-credit requests (flights credited afterwards), newest first, with "
        "their state and, when rejected, the reason."
    )
    async def retro_credit_requests(
        self,
    ) -> list[Annotated[RetroCreditRequest, strawberry.lazy("schema.retro_credit")]]:
        from resolvers.retro_credit import member_retro_credit_requests  # imports schema modules

        return await member_retro_credit_requests(account_id=self.account_id)

    @strawberry.field(
        description="Receipt photos sent for photo credit (POST /photo-credit/receipts), newest first, with "
        "the partner's verdict."
    )
    async def receipts(self) -> list[Annotated[PhotoCreditReceipt, strawberry.lazy("schema.retro_credit")]]:
        from resolvers.retro_credit import member_receipts  # imports schema modules

        return await member_receipts(account_id=self.account_id)

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

    @strawberry.field(description="Current balances; always the sum of the member's ledger entries.")
    def balances(self, info: Info) -> Balances:
        if self.snapshot is not None:
            return Balances.from_amounts(self.snapshot.balances)
        return deferred(self._load_balances(info))

    async def _load_balances(self, info: Info) -> Balances:
        return Balances.from_amounts(await info.context.loaders.balances_by_account.load(self.account_id))

    @classmethod
    def resolve_reference(cls, info: Info, **representation: object) -> Awaitable[Member]:
        from resolvers.entities import member_reference  # resolvers.entities imports this module

        return member_reference(info, representation)

    @classmethod
    def from_model(cls, member: models.Member) -> Member:
        return cls(
            account_id=member.id,
            account_number=member.account_number,
            given_name=member.given_name,
            family_name=member.family_name,
            email=member.email,
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
            country=member.country,
            language=member.language,
            tier=member.tier,
            date_of_birth=member.date_of_birth,
            user_id=member.user_id,
            snapshot=member,
            reads=reads,
        )


@strawberry.input(description="What a new member tells us. Children are members too (from age 2).")
class EnrolMemberInput:
    given_name: str = strawberry.field(description="As on the passport.")
    family_name: str = strawberry.field(description="As on the passport.")
    email: str = strawberry.field(description="Unique per member; used for e-mail sign-in and resets.")
    date_of_birth: dt.date = strawberry.field(description="ISO date; members are at least 2 years old.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2, e.g. DE.")
    pin: str = strawberry.field(description="6 digits; not repeated, consecutive or the date of birth.")
    language: str = strawberry.field(default="en", description="Language of messages (default en).")
    advertising_consent: bool = strawberry.field(
        default=False, description="Without it a base member's card number starts with 9999, with it 9920."
    )
    user_id: str | None = strawberry.field(
        default=None, description="Optional: sign in with it and a password."
    )
    password: str | None = strawberry.field(
        default=None, description="Optional: at least 10 characters; for user ID or e-mail sign-in."
    )


@strawberry.type(description="A member was enrolled and is signed in.")
class EnrolMemberSuccess:
    member: Member = strawberry.field(description="The new member.")
    service_card_number: str = strawberry.field(
        description="The first 15-digit service card number (prefix, body, Luhn digit)."
    )
    account_number: str = strawberry.field(description="The 9-digit account number; it never changes.")
    access_token: str = strawberry.field(description="Bearer token for the Authorization header.")
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")


EnrolMemberResult = Annotated[EnrolMemberSuccess | InputError, strawberry.union("EnrolMemberResult")]
