"""Record a partner's verdict on a photographed receipt; an approval credits the miles once."""

from __future__ import annotations

import datetime as dt

from tortoise.transactions import in_transaction

from loyalty.ledger.models import CounterAccount, Currency
from loyalty.ledger.service import post
from loyalty.photo_credit.models import ReceiptOutcome, ReceiptVerdict

PHOTO_CREDIT_SOURCE = "PHOTO_CREDIT"


async def record_verdict(
    *,
    partner_id: int,
    partner_code: str,
    account_id: int,
    receipt_id: str,
    outcome: ReceiptOutcome,
    rule_version: str,
    miles: int = 0,
    activity_date: dt.date | None = None,
    reason: str = "",
) -> ReceiptVerdict:
    """The first verdict on a receipt counts; an approval posts ``miles`` (idempotent per receipt)."""
    existing = await ReceiptVerdict.get_or_none(partner_id=partner_id, receipt_id=receipt_id)
    if existing is not None:
        return existing
    async with in_transaction():
        posting_id: int | None = None
        if outcome is ReceiptOutcome.APPROVED:
            result = await post(
                account_id=account_id,
                amounts={Currency.AWARD_MILES: miles},
                source=PHOTO_CREDIT_SOURCE,
                idempotency_key=f"receipt:{partner_id}:{receipt_id}",
                activity_date=activity_date or dt.datetime.now(dt.UTC).date(),
                rule_version=rule_version,
                partner_reference=f"{partner_code}:{receipt_id}",
                description="Photo credit",
                counter_account=CounterAccount.PARTNER_LIABILITY,
            )
            posting_id = result.posting_id
        return await ReceiptVerdict.create(
            partner_id=partner_id,
            account_id=account_id,
            receipt_id=receipt_id,
            outcome=outcome,
            miles=miles if outcome is ReceiptOutcome.APPROVED else 0,
            reason=reason[:200],
            posting_id=posting_id,
        )
