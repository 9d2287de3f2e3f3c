"""The root schema: every domain's queries and mutations composed into one Federation 2 subgraph."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Annotated, Any

import strawberry
from graphql import Executor
from strawberry.extensions import SchemaExtension
from strawberry.federation import Schema
from strawberry.federation.schema import FederationAny
from strawberry.schema.config import StrawberryConfig

from loyalty.auth.models import ResetPurpose
from loyalty.consents.models import ConsentPurpose
from loyalty.earning.model import Cabin
from loyalty.members.models import Tier
from partners.models import PartnerState
from resolvers import auth as auth_resolvers
from resolvers import boarding_passes as boarding_pass_resolvers
from resolvers import cards as card_resolvers
from resolvers import consents as consent_resolvers
from resolvers import earning as earning_resolvers
from resolvers import engagement as engagement_resolvers
from resolvers import hub as hub_resolvers
from resolvers import members as member_resolvers
from resolvers import offers as offer_resolvers
from resolvers import partners as partner_resolvers
from resolvers import pooling as pooling_resolvers
from resolvers import privacy as privacy_resolvers
from resolvers import profile as profile_resolvers
from resolvers import resets as reset_resolvers
from resolvers import retro_credit as retro_credit_resolvers
from resolvers import rewards as reward_resolvers
from resolvers import status as status_resolvers
from resolvers import twofactor as twofactor_resolvers
from schema.auth import CompleteSignInResult, RefreshSessionResult, SignedOut, SignInInput, SignInResult
from schema.boarding_passes import BoardingPassResult
from schema.cards import (
    LostServiceCardNumberInput,
    ReportCardLostResult,
    ReportLostServiceCardNumberResult,
    SetAdvertisingConsentResult,
)
from schema.consents import SetConsentResult
from schema.context import Info
from schema.earning import (
    ItineraryInput,
    MilesCalculatorResult,
    TicketInput,
    UpgradeFlightInput,
    UpgradeQuoteResult,
)
from schema.engagement import EnterQuizResult, JoinChallengeResult
from schema.federation import Entity, FederationService, IsFederationRouter
from schema.federation import entities as federation_entities
from schema.federation import service as federation_service
from schema.hub import (
    AddPartnerEndpointInput,
    InboxDelivery,
    NewPartnerEndpointResult,
    OperationalEvent,
    OutboundDelivery,
    PartnerEndpoint,
    PartnerEndpointResult,
    QueuedResult,
)
from schema.members import Balances, EnrolMemberInput, EnrolMemberResult, Member
from schema.offers import ActivateOfferResult
from schema.partners import (
    AddPartnerInput,
    IsOperator,
    NewSigningSecretResult,
    Partner,
    PartnerResult,
    SigningKeyKind,
    SigningKeyResult,
    UpdatePartnerInput,
)
from schema.pooling import (
    AcceptPoolInvitationResult,
    DeclinePoolInvitationResult,
    InviteToPoolResult,
    LeavePoolResult,
    RedeemFromPoolResult,
    RemoveFromPoolResult,
)
from schema.privacy import ExportMyDataResult, SecurityNotice
from schema.profile import ChangeSecretResult, UpdateProfileInput, UpdateProfileResult
from schema.resets import CompleteResetResult, ResetRequested
from schema.retro_credit import PhotoCreditPartner, RequestRetroCreditResult, RetroCreditInput
from schema.rewards import CancelRedemptionResult, RedeemResult, Reward, SetRewardGoalResult
from schema.status import StatusProgress
from schema.twofactor import BeginTwoFactorResult, ConfirmTwoFactorResult, DisableTwoFactorResult

PARTNER_CODE = "The partner's code, e.g. swiss."


RewardCodeArgument = Annotated[str, strawberry.argument(description="The reward's catalogue code.")]
RequestIdArgument = Annotated[
    str,
    strawberry.argument(
        description="Chosen by the client (e.g. a UUID), 1 to 100 characters; send the same one when "
        "retrying so the reward is redeemed once."
    ),
]


@strawberry.type(description="Read the programme: the signed-in member, their card and balances.")
class Query:
    @strawberry.field(description="The signed-in member (needs a bearer token).")
    async def me(self, info: Info) -> Member:
        return await member_resolvers.me(info)

    @strawberry.field(
        description="The rewards catalogue: award flights, upgrades, WorldShop items and Cash & Miles rewards, "
        "each from 3,000 award miles."
    )
    def rewards(self) -> list[Reward]:
        return reward_resolvers.rewards()

    @strawberry.field(
        description="Security notices in force (such as phishing warnings), newest first; English when "
        "there are none in the language asked for. No sign-in needed."
    )
    async def security_notices(
        self,
        language: Annotated[
            str, strawberry.argument(description="ISO 639 language code, e.g. en or de.")
        ] = "en",
    ) -> list[SecurityNotice]:
        return await privacy_resolvers.security_notices(language)

    @strawberry.field(
        description="What a journey earns, before booking: award miles, Points, Qualifying Points and HON Circle "
        "Points per segment and in total, with each segment's great-circle distance and the rules applied. "
        "Tickets issued by a Lufthansa Group airline earn miles per EUR (4 for members, 5 or 6 with status); "
        "other tickets earn a booking-class percentage of the distance. Points depend only on cabin and "
        "continental or intercontinental. No sign-in needed."
    )
    async def miles_calculator(
        self,
        info: Info,
        itinerary: Annotated[ItineraryInput, strawberry.argument(description="The flights, in order.")],
        ticket: Annotated[
            TicketInput | None,
            strawberry.argument(
                description="The ticket, for revenue-based miles; leave out to earn by distance."
            ),
        ] = None,
        tier: Annotated[
            Tier | None,
            strawberry.argument(
                description="The status to compute for; the signed-in member's if left out, BASE when signed out."
            ),
        ] = None,
    ) -> MilesCalculatorResult:
        return await earning_resolvers.miles_calculator(info, itinerary, ticket, tier)

    @strawberry.field(
        description="Award miles for a cabin change on one flight, one way (e.g. FRA-LAX Economy to Business: "
        "35,000 miles or 2 eVouchers). Only on flights operated, under their own number, by LH, OS, LX, SN, "
        "Discover or LOT."
    )
    def upgrade_quote(
        self,
        flight: Annotated[UpgradeFlightInput, strawberry.argument(description="The flight to upgrade.")],
        from_cabin: Annotated[Cabin, strawberry.argument(description="The cabin booked.")],
        to_cabin: Annotated[Cabin, strawberry.argument(description="The cabin wanted.")],
    ) -> UpgradeQuoteResult:
        return earning_resolvers.upgrade_quote(flight, from_cabin, to_cabin)

    @strawberry.field(
        description="Read a bar-coded boarding pass (IATA format M, 1 to 4 legs) from its barcode string, as a "
        "scanner or POST /boarding-passes/scan returns it. Each leg's date gets its year inferred; a flight "
        "more than 6 months back is refused (BOARDING_PASS_TOO_OLD)."
    )
    def boarding_pass(
        self,
        info: Info,
        data: Annotated[str, strawberry.argument(description="The barcode's string, starting with M.")],
    ) -> BoardingPassResult:
        return boarding_pass_resolvers.boarding_pass(info, data)

    @strawberry.field(
        description="Shopping partners that credit miles for a photographed receipt (photo credit); send the "
        "picture to POST /photo-credit/receipts?partner=CODE. No sign-in needed."
    )
    async def photo_credit_partners(self) -> list[PhotoCreditPartner]:
        return await retro_credit_resolvers.photo_credit_partners()

    @strawberry.field(
        description="Admin only: every partner with its capabilities and signing keys.",
        permission_classes=[IsOperator],
    )
    async def partners(self) -> list[Partner]:
        return await partner_resolvers.partners()

    @strawberry.field(
        description="Admin only: one partner by code, or null.", permission_classes=[IsOperator]
    )
    async def partner(
        self, code: Annotated[str, strawberry.argument(description=PARTNER_CODE)]
    ) -> Partner | None:
        return await partner_resolvers.partner(code)

    @strawberry.field(
        description="Admin only: partners' endpoints for our events.", permission_classes=[IsOperator]
    )
    async def partner_endpoints(
        self,
        info: Info,
        partner_code: Annotated[str | None, strawberry.argument(description=PARTNER_CODE)] = None,
    ) -> list[PartnerEndpoint]:
        return await hub_resolvers.endpoints(info, partner_code)

    @strawberry.field(
        description="Admin only: outbound deliveries newest first, with every attempt; failedOnly: the dead letters.",
        permission_classes=[IsOperator],
    )
    async def outbound_deliveries(
        self, info: Info, endpoint_id: int | None = None, failed_only: bool = False, first: int = 50
    ) -> list[OutboundDelivery]:
        return await hub_resolvers.deliveries(info, endpoint_id, failed_only, first)

    @strawberry.field(
        description="Admin only: partner deliveries that failed (refused, or out of attempts), newest first.",
        permission_classes=[IsOperator],
    )
    async def inbox_dead_letters(self, info: Info, first: int = 50) -> list[InboxDelivery]:
        return await hub_resolvers.inbox(info, unmatched=False, first=first)

    @strawberry.field(
        description="Admin only: accruals parked because the member they name is not known (yet).",
        permission_classes=[IsOperator],
    )
    async def unmatched_accruals(self, info: Info, first: int = 50) -> list[InboxDelivery]:
        return await hub_resolvers.inbox(info, unmatched=True, first=first)

    @strawberry.field(
        description="Admin only: operational events to act on (an endpoint disabled, say).",
        permission_classes=[IsOperator],
    )
    async def operational_events(
        self, info: Info, include_acknowledged: bool = False
    ) -> list[OperationalEvent]:
        return await hub_resolvers.operational_events(info, include_acknowledged)

    @strawberry.field(
        name="_service",
        description="Federation router only: this subgraph's SDL for composition.",
        permission_classes=[IsFederationRouter],
    )
    def federation_service(self, info: Info) -> FederationService:
        return federation_service(info)

    @strawberry.field(
        name="_entities",
        description="Federation router only: members (key accountNumber) and service cards (key number) "
        "other subgraphs reference, each resolved only for the member whose token the router forwards.",
        permission_classes=[IsFederationRouter],
    )
    def federation_entities(
        self,
        info: Info,
        representations: Annotated[
            list[FederationAny],
            strawberry.argument(description="The references: __typename and the key fields."),
        ],
    ) -> list[Entity | None]:
        return federation_entities(info, representations)


@strawberry.type(description="Change the programme's data. Expected failures come back as typed results.")
class Mutation:
    @strawberry.mutation(
        description="Admin only: register a partner endpoint for our events; answers its signing secret, shown once.",
        permission_classes=[IsOperator],
    )
    async def add_partner_endpoint(
        self, info: Info, input: AddPartnerEndpointInput
    ) -> NewPartnerEndpointResult:
        return await hub_resolvers.add_endpoint(info, input)

    @strawberry.mutation(
        description="Admin only: enable (its failure run starts afresh) or disable an endpoint.",
        permission_classes=[IsOperator],
    )
    async def set_partner_endpoint_enabled(self, info: Info, id: int, enabled: bool) -> PartnerEndpointResult:
        return await hub_resolvers.set_endpoint_enabled(info, id, enabled)

    @strawberry.mutation(
        description="Admin only: send one message again (to one endpoint, or all that take it), from the start "
        "of the retry schedule.",
        permission_classes=[IsOperator],
    )
    async def replay_outbound_message(
        self, info: Info, webhook_id: str, endpoint_id: int | None = None
    ) -> QueuedResult:
        return await hub_resolvers.queued(hub_resolvers.hub_of(info).replay_message(webhook_id, endpoint_id))

    @strawberry.mutation(
        description="Admin only: send again every failed message of an endpoint from a time on.",
        permission_classes=[IsOperator],
    )
    async def replay_failed_deliveries(
        self, info: Info, endpoint_id: int, since: dt.datetime
    ) -> QueuedResult:
        return await hub_resolvers.queued(hub_resolvers.hub_of(info).replay_failed(endpoint_id, since))

    @strawberry.mutation(
        description="Admin only: process parked or failed partner deliveries again (none given: every unmatched "
        "one). An accrual credited meanwhile posts nothing more.",
        permission_classes=[IsOperator],
    )
    async def reprocess_inbox(self, info: Info, ids: list[int] | None = None) -> QueuedResult:
        return await hub_resolvers.queued(hub_resolvers.hub_of(info).reprocess(ids))

    @strawberry.mutation(
        description="Enrol a new member: returns the 9-digit account number, the first 15-digit service card "
        "number and an access token. Base members without advertising consent get a 9999 card, with it 9920."
    )
    async def enrol_member(self, info: Info, input: EnrolMemberInput) -> EnrolMemberResult:
        return await member_resolvers.enrol_member(info, input)

    @strawberry.mutation(
        description="Sign in with service card number + PIN, user ID + password, or e-mail + password (members "
        "registered after 29 March 2022). 5 wrong attempts lock sign-in for 30 minutes."
    )
    async def sign_in(self, info: Info, input: SignInInput) -> SignInResult:
        return await auth_resolvers.sign_in(info, input)

    @strawberry.mutation(
        description="Finish a sign-in that asked for the authenticator-app code (or a recovery code)."
    )
    async def complete_sign_in(self, info: Info, challenge: str, code: str) -> CompleteSignInResult:
        return await auth_resolvers.complete_sign_in(info, challenge, code)

    @strawberry.mutation(
        description="New tokens for a refresh token (which is then spent). The session is IDENTIFIED."
    )
    async def refresh_session(self, info: Info, refresh_token: str) -> RefreshSessionResult:
        return await auth_resolvers.refresh_session(info, refresh_token)

    @strawberry.mutation(description="End the session this refresh token belongs to.")
    async def sign_out(self, info: Info, refresh_token: str) -> SignedOut:
        return await auth_resolvers.sign_out(info, refresh_token)

    @strawberry.mutation(description="Start app 2FA: returns the secret and QR code. Needs AUTHENTICATED.")
    async def begin_two_factor(self, info: Info) -> BeginTwoFactorResult:
        return await twofactor_resolvers.begin(info)

    @strawberry.mutation(description="Confirm app 2FA with a first code; returns one-time recovery codes.")
    async def confirm_two_factor(self, info: Info, code: str) -> ConfirmTwoFactorResult:
        return await twofactor_resolvers.confirm(info, code)

    @strawberry.mutation(description="Turn app 2FA off; needs a current code (or a recovery code).")
    async def disable_two_factor(self, info: Info, code: str) -> DisableTwoFactorResult:
        return await twofactor_resolvers.disable(info, code)

    @strawberry.mutation(description="Change language or user ID. Needs AUTHENTICATED.")
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> UpdateProfileResult:
        return await profile_resolvers.update_profile(info, input)

    @strawberry.mutation(description="Set a new PIN (6 digits, not trivial). Needs AUTHENTICATED.")
    async def change_pin(self, info: Info, new_pin: str) -> ChangeSecretResult:
        return await profile_resolvers.change_pin(info, new_pin)

    @strawberry.mutation(description="Set a new password (user ID and e-mail sign-in). Needs AUTHENTICATED.")
    async def change_password(self, info: Info, new_password: str) -> ChangeSecretResult:
        return await profile_resolvers.change_password(info, new_password)

    @strawberry.mutation(
        description="Forgot the PIN: send the service card number and the e-mail address on file. If both "
        "belong to one member, a one-time code (valid 30 minutes) is e-mailed. The answer is always the same."
    )
    async def request_pin_reset(self, info: Info, service_card_number: str, email: str) -> ResetRequested:
        return await reset_resolvers.request_pin_reset(info, service_card_number, email)

    @strawberry.mutation(
        description="Forgot the password: if the e-mail address belongs to a member with a password, a one-time "
        "code (valid 30 minutes) is e-mailed. The answer is always the same."
    )
    async def request_password_reset(self, info: Info, email: str) -> ResetRequested:
        return await reset_resolvers.request_password_reset(info, email)

    @strawberry.mutation(
        description="Set a new PIN with the e-mailed code. The code works once; the PIN follows the PIN rules "
        "(PIN_FORMAT, PIN_TOO_SIMPLE). Lifts a sign-in lockout and ends every session."
    )
    async def complete_pin_reset(self, info: Info, token: str, new_pin: str) -> CompleteResetResult:
        return await reset_resolvers.complete_reset(info, ResetPurpose.PIN, token, new_pin)

    @strawberry.mutation(
        description="Set a new password with the e-mailed code. The code works once; the password follows the "
        "password rules. Lifts a sign-in lockout and ends every session."
    )
    async def complete_password_reset(self, info: Info, token: str, new_password: str) -> CompleteResetResult:
        return await reset_resolvers.complete_reset(info, ResetPurpose.PASSWORD, token, new_password)

    @strawberry.mutation(
        description="Forgot the user ID: sign in with service card number + PIN to see it in the profile, or "
        "send the e-mail address on file and it is e-mailed. The answer is always the same."
    )
    async def remind_user_id(self, info: Info, email: str) -> ResetRequested:
        return await reset_resolvers.remind_user_id(info, email)

    @strawberry.mutation(
        description="Report the service card lost or stolen (needs AUTHENTICATED): the number is blocked at "
        "once and a new one issued; account number and PIN stay. A stolen card also ends every session."
    )
    async def report_card_lost(self, info: Info, stolen: bool = False) -> ReportCardLostResult:
        return await card_resolvers.report_card_lost(info, stolen=stolen)

    @strawberry.mutation(
        description="Give or withdraw advertising consent (a profile change: needs AUTHENTICATED). A base "
        "member gets a new number, 9920 with consent and 9999 without; status cards keep theirs."
    )
    async def set_advertising_consent(self, info: Info, given: bool) -> SetAdvertisingConsentResult:
        return await card_resolvers.set_advertising_consent(info, given=given)

    @strawberry.mutation(
        description="Lost your service card number? No sign-in needed: send a certified copy of your ID "
        'through the contact form with the reference "Lost service card number"; checks may take a few '
        "weeks. Returns the case reference only, whether or not the details match a member."
    )
    async def report_lost_service_card_number(
        self, info: Info, input: LostServiceCardNumberInput
    ) -> ReportLostServiceCardNumberResult:
        return await card_resolvers.report_lost_service_card_number(info, input)

    @strawberry.mutation(
        description="Redeem a catalogue reward with award miles (needs AUTHENTICATED). Atomic: the miles are "
        "debited once or not at all. A retry with the same requestId returns the first redemption."
    )
    async def redeem(
        self,
        info: Info,
        reward_code: RewardCodeArgument,
        request_id: RequestIdArgument,
    ) -> RedeemResult:
        return await reward_resolvers.redeem(info, reward_code, request_id)

    @strawberry.mutation(
        description="Cancel a redemption (needs AUTHENTICATED): the miles go back to the member with their "
        "original expiry. A redemption is cancelled once (ALREADY_CANCELLED after that)."
    )
    async def cancel_redemption(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The redemption's id (me.redemptions).")
        ],
    ) -> CancelRedemptionResult:
        return await reward_resolvers.cancel_redemption(info, str(id))

    @strawberry.mutation(
        description="Pick the reward to save towards (replaces any earlier goal); me.rewardGoal shows the "
        "progress and the miles still missing."
    )
    async def set_reward_goal(
        self,
        info: Info,
        reward_code: RewardCodeArgument,
    ) -> SetRewardGoalResult:
        return await reward_resolvers.set_reward_goal(info, reward_code)

    @strawberry.mutation(
        description="Give or withdraw consent for one purpose, effective at once and kept as history; a "
        "base member's advertising choice changes the service card number (9920 / 9999)."
    )
    async def set_consent(
        self,
        info: Info,
        purpose: Annotated[ConsentPurpose, strawberry.argument(description="What the decision is about.")],
        given: Annotated[bool, strawberry.argument(description="True to give, false to withdraw.")],
        text_version: Annotated[
            str, strawberry.argument(description="Version of the consent text the member was shown.")
        ],
    ) -> SetConsentResult:
        return await consent_resolvers.set_consent(info, purpose, given, text_version)

    @strawberry.mutation(
        description="Everything held about the signed-in member as one JSON document (GDPR Art. 15 and 20); "
        "needs an AUTHENTICATED session and is recorded in the audit log."
    )
    async def export_my_data(self, info: Info) -> ExportMyDataResult:
        return await privacy_resolvers.export_my_data(info)

    @strawberry.mutation(
        description="Take part in a challenge (me.challenges); activity from now on counts towards it."
    )
    async def join_challenge(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="The challenge's code.")],
    ) -> JoinChallengeResult:
        return await engagement_resolvers.join_challenge(info, code)

    @strawberry.mutation(
        description="Answer this month's quiz (once); correct answers take part in the partner prize draw."
    )
    async def enter_quiz(
        self,
        info: Info,
        answer: Annotated[int, strawberry.argument(description="The index of the chosen option.")],
    ) -> EnterQuizResult:
        return await engagement_resolvers.enter_quiz(info, answer)

    @strawberry.mutation(
        description="Activate an offer (me.offers); the partner is told, and an earn offer's bonus comes with "
        "the next matching accrual."
    )
    async def activate_offer(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="The offer's code.")],
    ) -> ActivateOfferResult:
        return await offer_resolvers.activate_offer(info, code)

    @strawberry.mutation(
        description="Invite a member to your mileage pool by service card number (needs AUTHENTICATED). An adult "
        "without a pool founds one. A pool holds 2 adults and 5 children (open invitations hold a place); "
        "members live in an eligible country and are in one pool at a time."
    )
    async def invite_to_pool(
        self,
        info: Info,
        service_card_number: Annotated[
            str, strawberry.argument(description="The invitee's 15-digit service card number.")
        ],
    ) -> InviteToPoolResult:
        return await pooling_resolvers.invite(info, service_card_number)

    @strawberry.mutation(
        description="Accept an invitation to a mileage pool (needs AUTHENTICATED). Your miles combine with the "
        "pool 2 days later; other open invitations are declined."
    )
    async def accept_pool_invitation(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The invitation (me.poolInvitations).")],
    ) -> AcceptPoolInvitationResult:
        return await pooling_resolvers.accept(info, str(id))

    @strawberry.mutation(description="Decline an invitation to a mileage pool (needs AUTHENTICATED).")
    async def decline_pool_invitation(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The invitation (me.poolInvitations).")],
    ) -> DeclinePoolInvitationResult:
        return await pooling_resolvers.decline(info, str(id))

    @strawberry.mutation(
        description="Leave your mileage pool (needs AUTHENTICATED): possible at any time, and no pool can be "
        "joined or founded for 6 months after. A pool left with no adult or one member dissolves."
    )
    async def leave_pool(self, info: Info) -> LeavePoolResult:
        return await pooling_resolvers.leave(info)

    @strawberry.mutation(
        description="The founder removes a member (blocked from pools for 6 months, like leaving) or withdraws "
        "an open invitation (needs AUTHENTICATED)."
    )
    async def remove_from_pool(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The membership (me.pool.members).")],
    ) -> RemoveFromPoolResult:
        return await pooling_resolvers.remove(info, str(id))

    @strawberry.mutation(
        description="Redeem a catalogue reward with pooled miles (adults of a working pool; needs AUTHENTICATED). "
        "Miles expiring first are used first, protected miles only when the others are not enough. Atomic and "
        "idempotent per requestId; cancelRedemption gives each member's miles back."
    )
    async def redeem_from_pool(
        self,
        info: Info,
        reward_code: RewardCodeArgument,
        request_id: RequestIdArgument,
    ) -> RedeemFromPoolResult:
        return await pooling_resolvers.redeem(info, reward_code, request_id)

    @strawberry.mutation(
        description="Ask to credit a flight afterwards (retro credit), by form: date, flight, route, class and "
        "ticket number. Within 6 months of the flight (flights before joining count); partner airlines outside "
        "the Lufthansa Group only from 7 days after it; the ticket must be in the member's name. The request is "
        "checked against the airline's flown data and then ACCEPTED (credited once) or REJECTED with a reason "
        "(me.retroCreditRequests). A flight already credited or asked for is refused."
    )
    async def request_retro_credit(self, info: Info, input: RetroCreditInput) -> RequestRetroCreditResult:
        return await retro_credit_resolvers.request_retro_credit(info, input)

    @strawberry.mutation(
        description="Ask to credit the flights of a boarding pass (its barcode string, as a scanner or POST "
        "/boarding-passes/scan returns it); one request per flight, under the same rules as requestRetroCredit. "
        "Pictures of a pass go to POST /retro-credit/boarding-pass."
    )
    async def request_retro_credit_by_boarding_pass(
        self,
        info: Info,
        data: Annotated[str, strawberry.argument(description="The barcode's string, starting with M.")],
        ticket_number: Annotated[
            str | None,
            strawberry.argument(description="The 13-digit ticket number, when the pass does not carry it."),
        ] = None,
    ) -> RequestRetroCreditResult:
        return await retro_credit_resolvers.request_by_boarding_pass(info, data, ticket_number)

    @strawberry.mutation(
        description="Admin only: register a partner; answers its first signing secret, shown once.",
        permission_classes=[IsOperator],
    )
    async def add_partner(self, info: Info, input: AddPartnerInput) -> NewSigningSecretResult:
        return await partner_resolvers.add_partner(info, input)

    @strawberry.mutation(
        description="Admin only: change a partner's name, capabilities or earning configuration.",
        permission_classes=[IsOperator],
    )
    async def update_partner(
        self, code: Annotated[str, strawberry.argument(description=PARTNER_CODE)], input: UpdatePartnerInput
    ) -> PartnerResult:
        return await partner_resolvers.update_partner(code, input)

    @strawberry.mutation(
        description="Admin only: SUSPENDED refuses the partner's deliveries (403) from now on; ACTIVE accepts "
        "them again.",
        permission_classes=[IsOperator],
    )
    async def set_partner_state(
        self,
        code: Annotated[str, strawberry.argument(description=PARTNER_CODE)],
        state: Annotated[PartnerState, strawberry.argument(description="ACTIVE or SUSPENDED.")],
    ) -> PartnerResult:
        return await partner_resolvers.set_partner_state(code, state)

    @strawberry.mutation(
        description="Admin only: a further signing secret, usable at once next to the others (rotation); "
        "shown once.",
        permission_classes=[IsOperator],
    )
    async def add_partner_signing_secret(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description=PARTNER_CODE)],
        label: Annotated[str, strawberry.argument(description="A note, e.g. 'rotation 2026-Q4'.")] = "",
    ) -> NewSigningSecretResult:
        return await partner_resolvers.add_signing_secret(info, code, label)

    @strawberry.mutation(
        description="Admin only: register an ed25519 public key (whpk_...) for v1a signatures.",
        permission_classes=[IsOperator],
    )
    async def add_partner_public_key(
        self,
        code: Annotated[str, strawberry.argument(description=PARTNER_CODE)],
        public_key: Annotated[
            str,
            strawberry.argument(description="The ed25519 public key: whpk_ and the base64 of its 32 bytes."),
        ],
        label: Annotated[str, strawberry.argument(description="A note.")] = "",
    ) -> SigningKeyResult:
        return await partner_resolvers.add_public_key(code, public_key, label)

    @strawberry.mutation(
        description="Admin only: revoke a secret or public key now, or let it expire at expiresAt (rotation "
        "without downtime). The last usable one is only revoked with force (LAST_SIGNING_KEY otherwise).",
        permission_classes=[IsOperator],
    )
    async def revoke_partner_signing_key(
        self,
        code: Annotated[str, strawberry.argument(description=PARTNER_CODE)],
        kind: Annotated[SigningKeyKind, strawberry.argument(description="SECRET or PUBLIC_KEY.")],
        id: Annotated[strawberry.ID, strawberry.argument(description="The key's id (Partner.signingKeys).")],
        expires_at: Annotated[
            dt.datetime | None,
            strawberry.argument(description="Keep it verifying until then; null or past: revoke now."),
        ] = None,
        force: Annotated[
            bool, strawberry.argument(description="Also revoke the partner's last usable secret or key.")
        ] = False,
    ) -> SigningKeyResult:
        return await partner_resolvers.retire_signing_key(code, kind, str(id), expires_at, force)

    @strawberry.mutation(description="End every session of the signed-in member, on every device.")
    async def sign_out_everywhere(self, info: Info) -> SignedOut:
        return await auth_resolvers.sign_out_everywhere(info)


@strawberry.type(
    description="Live updates over WebSocket (graphql-transport-ws); sign in at connection time."
)
class Subscription:
    @strawberry.subscription(
        description="The signed-in member's balances, sent at once and again whenever miles or points post. "
        "Send the access token as connection_init payload {authorization: 'Bearer …'}."
    )
    async def my_balances(self, info: Info) -> AsyncGenerator[Balances, None]:
        async for balances in member_resolvers.my_balances(info):
            yield balances

    @strawberry.subscription(
        description="The signed-in member's status progress (tier, validity, this year's counters, what is "
        "missing), sent at once and again on every status change (status.changed) and posting. Sign in as "
        "for myBalances."
    )
    async def my_status(self, info: Info) -> AsyncGenerator[StatusProgress, None]:
        async for progress in status_resolvers.my_status(info):
            yield progress


def build_schema(
    extensions: Sequence[type[SchemaExtension] | Callable[[], SchemaExtension]] = (),
    config: StrawberryConfig | None = None,
    *,
    execution_context_class: type[Executor[Any]] | None = None,
) -> Schema:
    """The schema; the gateway passes its engine's executor (``gateway/graphql/engine``), or None for
    graphql-core's own."""
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=list(extensions),
        config=config,
        execution_context_class=execution_context_class,
    )
