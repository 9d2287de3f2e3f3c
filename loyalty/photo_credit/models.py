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


class ReceiptState(StrEnum):
    """SUBMITTED until the partner's verdict, then APPROVED (credited) or REJECTED (with the reason)."""

    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class ReceiptUpload(Model):
    """A receipt photo a member uploaded for a shopping partner with photo credit.

    receipt_id is the reference the partner answers with in receipt.verified. The picture itself is
    kept in image until the member's data is erased.
    """

    id = fields.BigIntField(primary_key=True)
    account_id = fields.BigIntField()
    partner_id = fields.BigIntField()
    partner_code = fields.CharField(max_length=32)
    receipt_id = fields.CharField(max_length=40, unique=True)
    state = fields.CharEnumField(ReceiptState, default=ReceiptState.SUBMITTED, max_length=16)
    content_type = fields.CharField(max_length=40)
    size_bytes = fields.IntField()
    sha256 = fields.CharField(max_length=64)
    image = fields.BinaryField()
    uploaded_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)
    miles = fields.BigIntField(default=0)
    reason = fields.CharField(max_length=200, default="")
    posting_id = fields.BigIntField(null=True)

    class Meta:
        table = "receipt_uploads"
        unique_together = (("account_id", "partner_id", "sha256"),)
        indexes = (("account_id", "uploaded_at"),)
