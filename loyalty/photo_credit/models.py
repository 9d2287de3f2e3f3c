"""Photo credit (DOMAIN.md 6): the partner's verdict on a receipt a member photographed."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class ReceiptOutcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


class ReceiptVerdict(Model):
    """A shopping partner's verdict on one photographed receipt: approved or rejected.

    An approval credited its miles by posting_id, a rejection keeps the partner's reason.
    """

    id = fields.BigIntField(primary_key=True)
    partner_id = fields.BigIntField()
    account_id = fields.BigIntField()
    receipt_id = fields.CharField(max_length=100)
    outcome = fields.CharEnumField(ReceiptOutcome, max_length=16)
    miles = fields.BigIntField(default=0)
    reason = fields.CharField(max_length=200, default="")
    posting_id = fields.BigIntField(null=True)
    decided_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "receipt_verdicts"
        unique_together = (("partner_id", "receipt_id"),)
        indexes = (("account_id", "decided_at"),)
