"""Photo credit from the member's side: upload a receipt picture for a partner, then see its state.

The picture passes the ``[photo_credit]`` limits (bytes, format sniffed from the content, pixels)
before it is stored; the same picture twice for the same partner is refused (DUPLICATE_RECEIPT). The
upload and its ``photo_credit.receipt_submitted`` event, which tells the partner, are written in one
transaction. The partner's ``receipt.verified`` (``loyalty.photo_credit.service.record_verdict``)
then approves it (credited once) or rejects it with the reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.errors import Conflict
from loyalty.events.models import EventType
from loyalty.events.service import record
from loyalty.images import CONTENT_TYPES, open_limited_image
from loyalty.paging import Page, PageRequest, newest_first
from loyalty.photo_credit.models import ReceiptUpload
from loyalty.rules import PhotoCreditRules

LISTED_FIELDS = (
    "id",
    "account_id",
    "partner_id",
    "partner_code",
    "receipt_id",
    "state",
    "content_type",
    "size_bytes",
    "sha256",
    "uploaded_at",
    "decided_at",
    "miles",
    "reason",
    "posting_id",
)
"""Everything but the picture: lists never load it."""


def new_receipt_id() -> str:
    return "PC" + secrets.token_hex(8).upper()


async def upload_receipt(
    *,
    account_id: int,
    partner_id: int,
    partner_code: str,
    image: bytes,
    content_type: str | None,
    rules: PhotoCreditRules,
    now: dt.datetime,
) -> ReceiptUpload:
    """Store a receipt picture for the partner (who must offer photo credit: the caller checks) and
    announce it; ImageRejected or DUPLICATE_RECEIPT otherwise, with nothing stored."""
    picture = open_limited_image(image, limits=rules, content_type=content_type)
    stored_type = CONTENT_TYPES[str(picture.format)]
    digest = hashlib.sha256(image).hexdigest()
    try:
        async with in_transaction():
            upload = await ReceiptUpload.create(
                account_id=account_id,
                partner_id=partner_id,
                partner_code=partner_code,
                receipt_id=new_receipt_id(),
                content_type=stored_type,
                size_bytes=len(image),
                sha256=digest,
                image=image,
                uploaded_at=now,
            )
            await record(
                account_id=account_id,
                type=EventType.RECEIPT_SUBMITTED,
                payload={
                    "receiptId": upload.receipt_id,
                    "partner": partner_code,
                    "contentType": stored_type,
                    "sizeBytes": len(image),
                    "sha256": digest,
                },
            )
    except IntegrityError:
        raise Conflict(
            "This receipt was sent to this partner already.", field="image", code="DUPLICATE_RECEIPT"
        ) from None
    return upload


async def receipts_of(*, account_id: int, limit: int = 100) -> list[ReceiptUpload]:
    """The member's receipts, newest first, without their pictures."""
    return (
        await ReceiptUpload.filter(account_id=account_id)
        .order_by("-uploaded_at", "-id")
        .limit(limit)
        .only(*LISTED_FIELDS)
    )


async def receipt_page(*, account_id: int, request: PageRequest) -> Page[ReceiptUpload]:
    """One keyset page of ``receipts_of`` (newest first, by upload time), without the pictures."""
    query = ReceiptUpload.filter(account_id=account_id).only(*LISTED_FIELDS)
    return await newest_first(query, request, time_field="uploaded_at")
