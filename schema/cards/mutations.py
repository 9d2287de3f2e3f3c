"""Card mutations: block a lost or stolen card, change advertising consent, report a lost number."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty.members.cards import CardBlockReason
from resolvers import cards
from schema.cards.inputs import ADVERTISING_GIVEN, STOLEN, ReportCardLostInput, SetAdvertisingConsentInput
from schema.cards.types import (
    CardBlocked,
    ConsentChanged,
    LostServiceCardNumberInput,
    ReportCardLostResult,
    ReportLostServiceCardNumberResult,
    ServiceCard,
    SetAdvertisingConsentResult,
    SupportCaseOpened,
)
from schema.context import Info
from schema.fields import mutation
from schema.inputs import from_arguments, old_argument
from schema.permissions import StepUp, signed_in


@strawberry.type
class CardMutations:
    @mutation(
        description="Report the service card lost or stolen (needs AUTHENTICATED): the number is blocked at "
        "once and a new one issued; account number and PIN stay. Partner activity on the old number dated "
        "before today still credits the member; from today on it is refused (CARD_BLOCKED). A stolen card "
        "also ends every session.",
        permission_classes=[StepUp],
    )
    async def report_card_lost(
        self,
        info: Info,
        input: ReportCardLostInput | None = None,
        stolen: Annotated[bool, old_argument(STOLEN, field="stolen")] = False,
    ) -> ReportCardLostResult:
        given = from_arguments(ReportCardLostInput, input, stolen=stolen)
        reason = CardBlockReason.STOLEN if given.stolen else CardBlockReason.LOST
        card = await cards.report_card_lost(
            account_id=signed_in(info.context).account_id,
            reason=reason,
            rules=info.context.rules,
            revocations=info.context.sessions,
        )
        return CardBlocked(card=ServiceCard.from_model(card), reason=reason)

    @mutation(
        description="Give or withdraw advertising consent (a profile change: needs AUTHENTICATED). A base "
        "member gets a new number, 9920 with consent and 9999 without; status cards keep theirs.",
        permission_classes=[StepUp],
    )
    async def set_advertising_consent(
        self,
        info: Info,
        input: SetAdvertisingConsentInput | None = None,
        given: Annotated[bool | None, old_argument(ADVERTISING_GIVEN, field="given")] = None,
    ) -> SetAdvertisingConsentResult:
        decision = from_arguments(SetAdvertisingConsentInput, input, given=given)
        changed = await cards.set_advertising_consent(
            account_id=signed_in(info.context).account_id, given=decision.given, rules=info.context.rules
        )
        return ConsentChanged(
            advertising_consent=changed.given,
            new_number_issued=changed.new_number_issued,
            card=ServiceCard.from_model(changed.card),
        )

    @mutation(
        description="Lost your service card number? No sign-in needed: send a certified copy of your ID "
        'through the contact form with the reference "Lost service card number"; checks may take a few '
        "weeks. Returns the case reference only, whether or not the details match a member."
    )
    async def report_lost_service_card_number(
        self, info: Info, input: LostServiceCardNumberInput
    ) -> ReportLostServiceCardNumberResult:
        case = await cards.report_lost_service_card_number(
            given_name=input.given_name,
            family_name=input.family_name,
            date_of_birth=input.date_of_birth,
            email=input.email,
            id_document_reference=input.id_document_reference,
        )
        return SupportCaseOpened.from_model(case)
