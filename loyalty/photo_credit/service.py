"""Record a partner's verdict on a photographed receipt; an approval credits the miles once.

A verdict on a receipt a member uploaded here (``loyalty.photo_credit.uploads``) also settles that
upload: APPROVED with the miles and the posting, or REJECTED with the partner's reason. The member the
partner names must be the one who uploaded it.
"""

from __future__ import annotations

import datetime as dt

from tortoise.transactions import in_transaction

from loyalty.crediting import post
from loyalty.errors import ValidationFailed
from loyalty.ledger.models import CounterAccount, Currency, PostingSource
from loyalty.photo_credit.models import ReceiptOutcome, ReceiptState, ReceiptUpload, ReceiptVerdict
from loyalty.rules import ProgrammeRules


async def record_verdict(
    *,
    partner_id: int,
    partner_code: str,
    account_id: int,
    receipt_id: str,
    outcome: ReceiptOutcome,
    rules: ProgrammeRules,
    miles: int = 0,
    activity_date: dt.date | None = None,
    reason: str = "",
) -> ReceiptVerdict:
    """The first verdict on a receipt counts; an approval posts ``miles`` (idempotent per receipt)."""
    existing = await ReceiptVerdict.get_or_none(partner_id=partner_id, receipt_id=receipt_id)
    if existing is not None:
        return existing
    upload = await ReceiptUpload.get_or_none(partner_id=partner_id, receipt_id=receipt_id).only(
        "id", "account_id"
    )
    if upload is not None and upload.account_id != account_id:
        raise ValidationFailed(
            "Another member uploaded this receipt.", field="data.member", code="MEMBER_MISMATCH"
        )
    async with in_transaction():
        posting_id: int | None = None
        if outcome is ReceiptOutcome.APPROVED:
            result = await post(
                account_id=account_id,
                amounts={Currency.AWARD_MILES: miles},
                source=PostingSource.PHOTO_CREDIT,
                idempotency_key=f"receipt:{partner_id}:{receipt_id}",
                activity_date=activity_date or dt.datetime.now(dt.UTC).date(),
                rule_version=rules.version,
                rules=rules,
                partner_reference=f"{partner_code}:{receipt_id}",
                description="Photo credit",
                counter_account=CounterAccount.PARTNER_LIABILITY,
            )
            posting_id = result.posting_id
        verdict = await ReceiptVerdict.create(
            partner_id=partner_id,
            account_id=account_id,
            receipt_id=receipt_id,
            outcome=outcome,
            miles=miles if outcome is ReceiptOutcome.APPROVED else 0,
            reason=reason[:200],
            posting_id=posting_id,
        )
        if upload is not None:
            await ReceiptUpload.filter(id=upload.id).update(
                state=ReceiptState.APPROVED if outcome is ReceiptOutcome.APPROVED else ReceiptState.REJECTED,
                decided_at=verdict.decided_at,
                miles=verdict.miles,
                reason=verdict.reason,
                posting_id=posting_id,
            )
        return verdict
