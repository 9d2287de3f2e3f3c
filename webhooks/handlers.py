"""What each event type does once the worker takes its inbox row: event type -> async handler.

A handler runs inside the worker's transaction with the inbox row locked; it returns the account id the
event concerned (or None) and raises a ``DomainError`` for an event that cannot be applied: the row is
then parked (unmatched) or failed, the handler's writes are undone, and for the event types in
``REFUSALS`` the partner is told, in the transaction that refuses the row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.awards.config import current_awards
from loyalty.awards.milespay import CardTransaction, apply_card_transaction
from loyalty.awards.models import MilesPayDebit
from loyalty.earning.model import Money
from loyalty.errors import DomainError
from loyalty.flown.accrual import accrue_flown
from loyalty.flown.models import Cabin
from loyalty.flown.service import FlownCoupon, record_flown
from loyalty.ledger.card_protection import CardReport, CardReportKind, apply_card_report
from loyalty.ledger.models import CardProduct, Posting
from loyalty.offers.service import apply_offer_bonus
from loyalty.photo_credit.models import ReceiptOutcome
from loyalty.photo_credit.service import record_verdict
from loyalty.retro_credit.decision import decide_for_flown
from loyalty.rules import ProgrammeRules
from partners.charts import current_earning_chart
from partners.models import Partner
from webhooks.accruals import credit_accrual, resolve_member, reverse_accrual
from webhooks.models import InboxState, PartnerInbox
from webhooks.outbound.service import answer_webhook_id, answered, publish

Handler = Callable[[PartnerInbox, Partner, ProgrammeRules], Awaitable[int | None]]


async def accrual_created(row: PartnerInbox, partner: Partner, rules: ProgrammeRules) -> int | None:
    """Credit the accrual; the first time, an activated offer of this partner adds its bonus."""
    account_id, result = await credit_accrual(
        partner_id=partner.id, partner_code=partner.code, event=row.payload, rules=rules
    )
    if result.created:
        posting = await Posting.get(id=result.posting_id)
        await apply_offer_bonus(
            account_id=account_id,
            partner_code=partner.code,
            activity_on=posting.activity_date,
            transaction_id=str(row.payload["data"]["transactionId"]),
            rules=rules,
        )
    return account_id


async def accrual_reversed(row: PartnerInbox, partner: Partner, rules: ProgrammeRules) -> int | None:
    account_id, _ = await reverse_accrual(
        partner_id=partner.id, partner_code=partner.code, event=row.payload, rules=rules
    )
    return account_id


async def flight_flown(row: PartnerInbox, partner: Partner, rules: ProgrammeRules) -> int | None:
    """Store the flown coupon; a member the programme does not know leaves it unassigned, not failed.

    Then, in the same transaction: open retro-credit requests for this coupon are decided, and the
    flight is credited to the member the partner named. Both credit under the flight's one key, so a
    flight is credited once whichever comes first (``loyalty.flown.accrual``).
    """
    data: dict[str, Any] = row.payload["data"]
    account_id: int | None = None
    member = data.get("member")
    flight_date = dt.date.fromisoformat(data["flightDate"])
    if isinstance(member, dict):
        try:
            account_id = await resolve_member(
                member, rules, activity_on=flight_date, partner_code=partner.code
            )
        except DomainError:
            account_id = None  # unknown, or a number blocked before the flight: stored unassigned
    passenger = data["passenger"]
    segment, _ = await record_flown(
        FlownCoupon(
            partner_id=partner.id,
            account_id=account_id,
            ticket_number=data["ticketNumber"],
            coupon_number=data.get("couponNumber"),
            carrier=data["carrier"],
            flight_number=data["flightNumber"],
            flight_date=flight_date,
            origin=data["origin"],
            destination=data["destination"],
            cabin=Cabin(data["cabin"]) if data.get("cabin") else None,
            booking_class=data.get("bookingClass"),
            passenger_surname=passenger["surname"],
            passenger_given_name=passenger.get("givenName", ""),
            member_reference=str(
                (member or {}).get("serviceCardNumber") or (member or {}).get("accountNumber") or ""
            ),
            details={key: data[key] for key in ("fare",) if key in data},
        )
    )
    chart = current_earning_chart()
    await decide_for_flown(segment, rules=rules, chart=chart, now=dt.datetime.now(dt.UTC))
    await accrue_flown(segment, chart=chart, rules=rules)
    return account_id


async def receipt_verified(row: PartnerInbox, partner: Partner, rules: ProgrammeRules) -> int | None:
    data: dict[str, Any] = row.payload["data"]
    activity_on = dt.date.fromisoformat(data["activityDate"]) if data.get("activityDate") else None
    account_id = await resolve_member(
        data["member"], rules, activity_on=activity_on, partner_code=partner.code
    )
    outcome = ReceiptOutcome(data["outcome"])
    await record_verdict(
        partner_id=partner.id,
        partner_code=partner.code,
        account_id=account_id,
        receipt_id=data["receiptId"],
        outcome=outcome,
        rules=rules,
        miles=int(data.get("miles", 0)),
        activity_date=activity_on,
        reason=str(data.get("reason", "")),
    )
    return account_id


async def card_protection_changed(row: PartnerInbox, partner: Partner, rules: ProgrammeRules) -> int | None:
    """A bank's report on a member's co-branded credit card (DOMAIN.md 5), applied with the programme's
    protection rules (``loyalty.ledger.card_protection``): issued, a broken condition, or cancelled."""
    data: dict[str, Any] = row.payload["data"]
    account_id = await resolve_member(data["member"], rules, activity_on=None, partner_code=partner.code)
    await apply_card_report(
        account_id=account_id,
        partner_code=partner.code,
        report=CardReport(
            card_reference=str(data["cardReference"]),
            product=CardProduct(data["product"]),
            kind=CardReportKind(data["change"]),
            effective_on=dt.date.fromisoformat(data["effectiveDate"]),
            miles_to_status=data.get("milesToStatus") is True,
        ),
        rules=rules.credit_card_protection,
    )
    return account_id


async def card_transaction(row: PartnerInbox, partner: Partner, rules: ProgrammeRules) -> int | None:
    """A bank's card purchase of a member (DOMAIN.md 7): paid with miles under the member's MilesPay
    opt-in, up to the cap (``loyalty.awards.milespay``); without an opt-in, or below the minimum, it is
    paid in cash. Either way the bank hears the outcome (``milespay.decided``), in this transaction."""
    data: dict[str, Any] = row.payload["data"]
    day = dt.date.fromisoformat(data["transactionDate"])
    account_id = await resolve_member(data["member"], rules, activity_on=day, partner_code=partner.code)
    amount = data["amount"]
    eur, _ = current_earning_chart().rates.to_eur(
        Money(amount=Decimal(str(amount["amount"])), currency=str(amount["currency"])), field="amount"
    )
    now = dt.datetime.now(dt.UTC)
    outcome = await apply_card_transaction(
        account_id=account_id,
        transaction=CardTransaction(
            partner_code=partner.code,
            transaction_id=str(data["transactionId"]),
            eur_amount=eur,
            transaction_date=day,
        ),
        milespay=current_awards().milespay,
        rules=rules,
        now=now,
        # One answer per purchase, even when the inbox holds it twice (a parked row reprocessed after
        # the bank sent it again, or after it was answered as refused): a purchase the bank has its
        # answer for is not decided again, neither in cash nor, should the member have opted in
        # meanwhile, with miles. Asked with the member's row locked.
        answered=partial(answered, MILESPAY_DECIDED, partner.id, str(data["transactionId"])),
    )
    if not outcome.decided_before:
        reason = None if outcome.cash_reason is None else outcome.cash_reason.value
        answer = milespay_decided(data, debit=outcome.debit, reason=reason)
        await _answer_purchase(data, partner, answer, now, account_id=account_id)
    return account_id


MILESPAY_DECIDED = "milespay.decided"
REFUSED = "REFUSED"
"""``milespay.decided``'s reason for a purchase the hub refused (``code`` says why): paid in cash."""


def milespay_decided(
    data: dict[str, Any], *, debit: MilesPayDebit | None, reason: str | None, code: str | None = None
) -> dict[str, Any]:
    """The bank's answer to its ``card.transaction`` (``milespay.decided``): paid with miles (``debit``:
    how many, worth how many EUR, to credit the card with), or in cash and why (``reason``, and for a
    purchase the hub refused the refusal's ``code``)."""
    return {
        "transactionId": data.get("transactionId"),
        "member": data.get("member"),
        "paidWithMiles": debit is not None,
        "miles": debit.miles if debit is not None else 0,
        "eurValue": str(debit.eur_value) if debit is not None else "0.00",
        "reason": reason,
        "code": code,
    }


async def _answer_purchase(
    data: dict[str, Any],
    partner: Partner,
    answer: dict[str, Any],
    now: dt.datetime,
    *,
    account_id: int | None,
) -> None:
    """Publish the bank's one ``milespay.decided`` for this purchase, under its fixed webhook id. Should
    another row of the purchase have answered meanwhile (its commit came between our look and this
    insert), the fixed id refuses the second answer, and the first stands."""
    try:
        async with in_transaction():
            await publish(
                event_type=MILESPAY_DECIDED,
                data=answer,
                now=now,
                account_id=account_id,
                partner_id=partner.id,
                webhook_id=answer_webhook_id(MILESPAY_DECIDED, partner.id, str(data["transactionId"])),
            )
    except IntegrityError:
        if not await answered(MILESPAY_DECIDED, partner.id, str(data["transactionId"])):
            raise


async def card_transaction_refused(row: PartnerInbox, partner: Partner) -> None:
    """A purchase that could not be applied (its member or card unknown or blocked, its amount
    unreadable) is paid in cash, and the bank hears so (reason ``REFUSED``, with the refusal's code), once:
    it bills the card now, and a later reprocess of the parked row decides nothing more."""
    data: dict[str, Any] = row.payload.get("data", {})
    if await answered(MILESPAY_DECIDED, partner.id, str(data.get("transactionId"))):
        return
    answer = milespay_decided(data, debit=None, reason=REFUSED, code=row.error_code)
    await _answer_purchase(data, partner, answer, dt.datetime.now(dt.UTC), account_id=None)


async def accrual_refused(row: PartnerInbox, partner: Partner) -> None:
    """Tell the partner its accrual was refused (``accrual.rejected``), in the transaction that refuses it."""
    data = row.payload.get("data", {})
    await publish(
        event_type="accrual.rejected",
        data={
            "transactionId": data.get("transactionId"),
            "member": data.get("member"),
            "webhookId": row.webhook_id,
            "code": row.error_code,
            "reason": row.error_message,
            "unmatched": row.state is InboxState.UNMATCHED,
        },
        now=dt.datetime.now(dt.UTC),
        partner_id=partner.id,
    )


@dataclass(frozen=True, slots=True)
class Refusal:
    """What the partner hears when the worker refuses a row of an event type (parks it as unmatched,
    fails it, or gives up on it), in the transaction that refuses it (the row carries the state and
    code)."""

    announce: Callable[[PartnerInbox, Partner], Awaitable[None]]
    final: bool
    """The answer closes the matter (a purchase the bank bills in cash now): the row keeps its business key,
    so a resend is a duplicate, and a dead letter is answered too. Otherwise a corrected resend may come,
    and only the handler's own refusals are announced."""


REFUSALS: dict[str, Refusal] = {
    "accrual.created": Refusal(accrual_refused, final=False),
    "card.transaction": Refusal(card_transaction_refused, final=True),
}

HANDLERS: dict[str, Handler] = {
    "accrual.created": accrual_created,
    "accrual.reversed": accrual_reversed,
    "flight.flown": flight_flown,
    "receipt.verified": receipt_verified,
    "card.protection.changed": card_protection_changed,
    "card.transaction": card_transaction,
}
