"""The partner-facing messages domain events make: the domain-event relay's outbound handler.

``fan_out_for_events`` takes a relay round's events together: it reads the partners and members they
name with one statement each and stores the messages and their deliveries with ``publish_many``, in the
events' order; ``fan_out_for_event`` does the same for one event. An accrual is told to the partner
that sent it only, an offer activation to the offer's partner, a retro credit to the airline whose
flown data decided it and a receipt to the partner it was sent for; status changes and redemptions go
to every partner subscribed to them.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loyalty.events.models import DomainEvent, EventType
from loyalty.flown.models import FlownSegment
from loyalty.ledger.models import PostingSource
from loyalty.members.models import Member
from loyalty.photo_credit.models import ReceiptUpload
from loyalty.retro_credit.models import RetroCreditRequest
from partners.models import Partner
from webhooks.outbound.service import NewMessage, publish_many


async def _account_number(account_id: int) -> str | None:
    member = await Member.get_or_none(id=account_id).only("id", "account_number")
    return None if member is None else str(member.account_number)


async def _flown_data_partner(request_id: object) -> str | None:
    """The code of the partner whose flown coupon a retro-credit request was checked against, if any."""
    if not isinstance(request_id, int):
        return None
    request = await RetroCreditRequest.get_or_none(id=request_id).only("id", "flown_segment_id")
    if request is None or request.flown_segment_id is None:
        return None
    segment = await FlownSegment.get_or_none(id=request.flown_segment_id).only("id", "partner_id")
    if segment is None:
        return None
    partner = await Partner.get_or_none(id=segment.partner_id).only("id", "code")
    return None if partner is None else str(partner.code)


@dataclass(frozen=True, slots=True)
class _Outgoing:
    event_type: str
    data: dict[str, Any]
    partner_code: str | None
    """Only this partner hears it; None or empty: every partner subscribed to the type."""


FANNED_OUT = frozenset(
    {
        EventType.STATUS_CHANGED,
        EventType.POSTING_CREATED,
        EventType.REDEMPTION_CREATED,
        EventType.OFFER_ACTIVATED,
        EventType.RETRO_CREDIT_DECIDED,
        EventType.RECEIPT_SUBMITTED,
    }
)
"""The domain event types that may make a partner-facing message."""


async def _outgoing_for(event: DomainEvent) -> _Outgoing | None:
    """The partner-facing message a domain event makes, if any (a statement or two only for retro credits
    and receipts)."""
    payload = event.payload
    if event.type is EventType.STATUS_CHANGED:
        return _Outgoing("member.status.changed", dict(payload), None)
    if event.type is EventType.POSTING_CREATED:
        if payload.get("source") != PostingSource.PARTNER_ACCRUAL:
            return None
        reference = str(payload.get("partnerReference") or "")
        partner_code, _, transaction_id = reference.partition(":")
        data = {
            "transactionId": transaction_id,
            "postingId": payload.get("postingId"),
            "amounts": payload.get("amounts", {}),
            "activityDate": payload.get("activityDate"),
        }
        return _Outgoing("accrual.credited", data, partner_code)
    if event.type is EventType.REDEMPTION_CREATED:
        data = {key: payload.get(key) for key in ("redemptionId", "rewardCode", "miles", "state")}
        return _Outgoing("redemption.created", data, None)
    if event.type is EventType.OFFER_ACTIVATED:
        data = {key: payload.get(key) for key in ("offerCode", "activatedAt")}
        return _Outgoing("offer.activated", data, str(payload.get("partnerCode") or ""))
    if event.type is EventType.RETRO_CREDIT_DECIDED:
        # Only the airline whose flown data decided it hears of it; a request no flown data matched
        # concerns no partner.
        airline = await _flown_data_partner(payload.get("requestId"))
        if airline is None:
            return None
        return _Outgoing("retro_credit.decided", dict(payload), airline)
    if event.type is EventType.RECEIPT_SUBMITTED:
        upload = await ReceiptUpload.get_or_none(receipt_id=str(payload.get("receiptId")))
        if upload is None:
            return None
        data = {
            "receiptId": upload.receipt_id,
            "member": {"accountNumber": await _account_number(event.account_id)},
            "uploadedAt": upload.uploaded_at.isoformat(),
            "contentType": upload.content_type,
            "sizeBytes": upload.size_bytes,
            "sha256": upload.sha256,
            "image": base64.b64encode(bytes(upload.image)).decode("ascii"),
        }
        return _Outgoing("receipt.submitted", data, upload.partner_code)
    return None


async def fan_out_for_event(event: DomainEvent) -> None:
    """The domain-event relay's handler: the partner-facing message a domain event makes, if any."""
    await fan_out_for_events([event])


async def fan_out_for_events(events: Sequence[DomainEvent]) -> int:
    """``fan_out_for_event`` for a batch of events, their messages stored in the events' order (the event
    relay's batched path): the partners and members they name are read with one statement each, the
    messages and deliveries written with ``publish_many``; nothing is read for events that make no
    message. Returns how many messages."""
    outgoing = [
        (event, message)
        for event in events
        if event.type in FANNED_OUT and (message := await _outgoing_for(event)) is not None
    ]
    if not outgoing:
        return 0
    codes = sorted({message.partner_code for _, message in outgoing if message.partner_code})
    partner_ids: dict[str, int] = (
        {str(code): int(id_) for code, id_ in await Partner.filter(code__in=codes).values_list("code", "id")}
        if codes
        else {}
    )
    account_numbers = {
        int(id_): str(number)
        for id_, number in await Member.filter(
            id__in=sorted({event.account_id for event, _ in outgoing})
        ).values_list("id", "account_number")
    }
    items: list[NewMessage] = []
    for event, message in outgoing:
        partner_id = partner_ids.get(message.partner_code) if message.partner_code else None
        if message.partner_code and partner_id is None:
            continue  # the partner is gone: nobody to tell
        message.data.setdefault("accountNumber", account_numbers.get(event.account_id))
        items.append(
            NewMessage(
                event_type=message.event_type,
                data=message.data,
                now=event.occurred_at,
                account_id=event.account_id,
                partner_id=partner_id,
                domain_event_id=event.id,
            )
        )
    return await publish_many(items)
