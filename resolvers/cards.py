"""Card resolvers: block a lost or stolen card, change advertising consent, report a lost number."""

from __future__ import annotations

import datetime as dt

from loyalty.errors import DomainError
from loyalty.members import cards, support
from loyalty.members.cards import CardBlockReason
from loyalty.members.service import active_card
from resolvers.auth import require_member, step_up_needed
from schema.cards import (
    CardBlocked,
    CardOrder,
    ConsentChanged,
    LostServiceCardNumberInput,
    ReportCardLostResult,
    ReportLostServiceCardNumberResult,
    SetAdvertisingConsentResult,
    SupportCaseOpened,
)
from schema.context import Info
from schema.errors import InputError
from schema.members import ServiceCard

LOST_NUMBER_ANSWER = (
    "Thank you. If the details belong to a membership, the Service Team will write to you at this "
    "e-mail address once your certified ID copy has been checked; this may take a few weeks. "
    "Quote the reference in every message about it."
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def member_card_history(*, account_id: int) -> list[ServiceCard]:
    """``Member.cardHistory``: one query per member (``me`` returns one member)."""
    return [ServiceCard.from_model(card) for card in await cards.card_history(account_id=account_id)]


async def member_card_orders(*, account_id: int) -> list[CardOrder]:
    """``Member.cardOrders``: one query per member, cards joined in."""
    return [CardOrder.from_model(order) for order in await cards.card_orders(account_id=account_id)]


async def report_card_lost(info: Info, *, stolen: bool) -> ReportCardLostResult:
    principal = require_member(info)
    if (refused := step_up_needed(info)) is not None:
        return refused
    reason = CardBlockReason.STOLEN if stolen else CardBlockReason.LOST
    try:
        card = await cards.block_card(
            account_id=principal.account_id, reason=reason, rules=info.context.rules, now=_now()
        )
    except DomainError as error:
        return InputError.from_domain(error)
    return CardBlocked(card=ServiceCard.from_model(card), reason=reason)


async def set_advertising_consent(info: Info, *, given: bool) -> SetAdvertisingConsentResult:
    principal = require_member(info)
    if (refused := step_up_needed(info)) is not None:
        return refused
    try:
        new_card = await cards.set_advertising_consent(
            account_id=principal.account_id, given=given, rules=info.context.rules, now=_now()
        )
        card = new_card or await active_card(account_id=principal.account_id)
    except DomainError as error:
        return InputError.from_domain(error)
    return ConsentChanged(
        advertising_consent=given, new_number_issued=new_card is not None, card=ServiceCard.from_model(card)
    )


async def report_lost_service_card_number(
    info: Info, data: LostServiceCardNumberInput
) -> ReportLostServiceCardNumberResult:
    """No sign-in: the requester lost the number. Only the reference comes back, match or not."""
    try:
        case = await support.open_lost_card_number_case(
            given_name=data.given_name,
            family_name=data.family_name,
            date_of_birth=data.date_of_birth,
            email=data.email,
            id_document_reference=data.id_document_reference,
            now=_now(),
        )
    except DomainError as error:
        return InputError.from_domain(error)
    return SupportCaseOpened(reference=case.reference, message=LOST_NUMBER_ANSWER)
