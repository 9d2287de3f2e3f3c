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
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from tortoise.transactions import in_transaction

from loyalty.errors import Conflict, NotFound
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
