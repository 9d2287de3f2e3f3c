"""Credit-card mileage protection (DOMAIN.md 5), from what a bank partner reports about a card.

- A STANDARD card protects all the holder's miles once it has been held 3 months, as long as it earns
  miles every month. When the bank reports a broken condition (or the card is cancelled), expiry
  resumes in the quarter after that notice: the protection ends at the notice's quarter end.
- An UNLIMITED card (DE Gold/Blue) protects from issue, whatever the spend; after cancellation it keeps
  protecting for a grace period of 3 months after the end of the quarter the cancellation takes
  effect in.
- Expired miles are never reactivated: protection that starts after a lot's expiry does not save it
  (see ``quarters.is_protected``). A card covers its holder's own miles only.

Every card has its own protection period, so a member with two cards loses protection only when
both have ended.

A card is known by the bank's own reference for it (a card token), never by its number (PAN): a reference
that is a card number is refused (CARD_REFERENCE_IS_PAN) and never stored, so the programme holds no
cardholder data. The reference also identifies the member in that bank's later events
(:func:`member_by_credit_card`, DOMAIN.md 9: the co-branded credit card identifies its holder).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from tortoise.transactions import in_transaction

from loyalty.errors import Conflict, NotFound, ValidationFailed
from loyalty.identifiers import luhn_valid, normalise_number
from loyalty.ledger.models import CardProduct, CreditCard, ExpiryProtection, ProtectionReason
from loyalty.ledger.quarters import add_months, quarter_end
from loyalty.rules import CreditCardProtectionRules


class CardReportKind(StrEnum):
    """What the bank tells us about a card."""

    ISSUED = "ISSUED"
    CONDITIONS_BROKEN = "CONDITIONS_BROKEN"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class CardReport:
    card_reference: str
    product: CardProduct
    kind: CardReportKind
    effective_on: dt.date
    """Issue date, the statement notice's date, or the day the cancellation takes effect."""
    miles_to_status: bool = False
    """An ISSUED card with the miles-to-status feature (DOMAIN.md 3.4)."""


PAN_LENGTHS = range(12, 20)


def check_card_reference(reference: str, *, field: str = "cardReference") -> str:
    """The bank's reference for a card, refused when it is a card number (12-19 digits passing Luhn)."""
    digits = normalise_number(reference)
    if len(digits) in PAN_LENGTHS and luhn_valid(digits):
        raise ValidationFailed(
            "Send the bank's reference (token) for the card, never its number.",
            field=field,
            code="CARD_REFERENCE_IS_PAN",
        )
    return reference


async def member_by_credit_card(
    *, partner_code: str, card_reference: str, field: str = "cardReference"
) -> int:
    """The account id of the holder of the co-branded credit card ``partner_code`` reported under
    ``card_reference`` (a reference is the bank's own: another bank's card with the same one is not it)."""
    check_card_reference(card_reference, field=field)
    card = await CreditCard.get_or_none(partner_code=partner_code, card_reference=card_reference).only(
        "account_id"
    )
    if card is None:
        raise NotFound(
            "No member holds a credit card this bank reported with this reference.",
            field=field,
            code="MEMBER_NOT_FOUND",
        )
    return int(card.account_id)


def protection_starts(product: CardProduct, issued_on: dt.date, rules: CreditCardProtectionRules) -> dt.date:
    if product is CardProduct.UNLIMITED:
        return issued_on
    return add_months(issued_on, rules.standard_holding_months)


def protection_ends(
    product: CardProduct, kind: CardReportKind, day: dt.date, rules: CreditCardProtectionRules
) -> dt.date | None:
    """The last protected day after a report of ``kind`` on ``day`` (None: the report changes nothing)."""
    if kind is CardReportKind.ISSUED:
        return None
    if product is CardProduct.UNLIMITED:
        if kind is CardReportKind.CONDITIONS_BROKEN:
            return None  # unlimited whatever the spend
        return quarter_end(add_months(quarter_end(day), rules.unlimited_grace_months))
    return quarter_end(day)


async def apply_card_report(
    *, account_id: int, partner_code: str, report: CardReport, rules: CreditCardProtectionRules
) -> CreditCard:
    """Record the bank's report and open or close the card's protection period; repeats change nothing."""
    check_card_reference(report.card_reference)
    async with in_transaction():
        card = (
            await CreditCard.filter(partner_code=partner_code, card_reference=report.card_reference)
            .select_for_update()
            .first()
        )
        if card is not None and card.account_id != account_id:
            raise Conflict(
                "This card is reported for another member.",
                field="cardReference",
                code="CARD_OF_ANOTHER_MEMBER",
            )
        if report.kind is CardReportKind.ISSUED:
            if card is not None:
                return card
            protection = await ExpiryProtection.create(
                account_id=account_id,
                reason=ProtectionReason.CREDIT_CARD,
                starts_on=protection_starts(report.product, report.effective_on, rules),
            )
            return await CreditCard.create(
                account_id=account_id,
                partner_code=partner_code,
                card_reference=report.card_reference,
                product=report.product,
                miles_to_status=report.miles_to_status,
                issued_on=report.effective_on,
                protection=protection,
            )
        if card is None:
            raise NotFound(
                "The bank has not reported this card as issued.",
                field="cardReference",
                code="CARD_NOT_REPORTED",
            )
        if report.kind is CardReportKind.CANCELLED:
            card.cancelled_on = card.cancelled_on or report.effective_on
        else:
            card.conditions_broken_on = card.conditions_broken_on or report.effective_on
        await card.save(update_fields=["cancelled_on", "conditions_broken_on", "updated_at"])
        ends = protection_ends(card.product, report.kind, report.effective_on, rules)
        if ends is not None:
            protection = await ExpiryProtection.filter(id=card.protection_id).select_for_update().get()
            if protection.ends_on is None or ends < protection.ends_on:
                protection.ends_on = ends
                await protection.save(update_fields=["ends_on"])
        return card


async def cards_of(*, account_id: int) -> list[CreditCard]:
    return await CreditCard.filter(account_id=account_id).order_by("id").select_related("protection")
