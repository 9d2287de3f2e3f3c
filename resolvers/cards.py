"""Card resolvers: the member's numbers and card orders, block a lost or stolen card, change advertising
consent, report a lost number."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from loyalty.auth import card_reports
from loyalty.members import cards, models, support
from loyalty.members.cards import CardBlockReason
from loyalty.members.service import active_card
from loyalty.paging import Page, PageRequest
from loyalty.rules import ProgrammeRules
from resolvers.sign_in import SessionRevocations


@dataclass(frozen=True, slots=True)
class AdvertisingConsentSet:
    given: bool
    new_number_issued: bool
    card: models.ServiceCard
    """The card active now."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def card_history(*, account_id: int) -> list[models.ServiceCard]:
    """``Member.cardHistory``: one query per member (``me`` returns one member)."""
    return await cards.card_history(account_id=account_id)


async def card_history_page(*, account_id: int, request: PageRequest) -> Page[models.ServiceCard]:
    """``Member.cardHistoryConnection``: one query per page, whatever its size."""
    return await cards.card_history_page(account_id=account_id, request=request)


async def card_order_page(*, account_id: int, request: PageRequest) -> Page[models.CardOrder]:
    """``Member.cardOrdersConnection``: one query per page, cards joined in."""
    return await cards.card_order_page(account_id=account_id, request=request)


async def card_orders(*, account_id: int) -> list[models.CardOrder]:
    """``Member.cardOrders``: one query per member, cards joined in."""
    return await cards.card_orders(account_id=account_id)


async def report_card_lost(
    *, account_id: int, reason: CardBlockReason, rules: ProgrammeRules, revocations: SessionRevocations
) -> models.ServiceCard:
    """The new active card. A stolen card also ends every session of the member, access tokens included."""
    card = await card_reports.report_card(account_id=account_id, reason=reason, rules=rules, now=_now())
    if reason == CardBlockReason.STOLEN:
        await revocations.revoked(account_id)
    return card


async def set_advertising_consent(
    *, account_id: int, given: bool, rules: ProgrammeRules
) -> AdvertisingConsentSet:
    new_card = await cards.set_advertising_consent(
        account_id=account_id, given=given, rules=rules, now=_now()
    )
    card = new_card or await active_card(account_id=account_id)
    return AdvertisingConsentSet(given=given, new_number_issued=new_card is not None, card=card)


async def report_lost_service_card_number(
    *, given_name: str, family_name: str, date_of_birth: dt.date, email: str, id_document_reference: str
) -> models.SupportCase:
    """No sign-in: the requester lost the number. Only the case comes back, match or not."""
    return await support.open_lost_card_number_case(
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        email=email,
        id_document_reference=id_document_reference,
        now=_now(),
    )
