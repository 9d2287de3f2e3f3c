"""Inbound partner deliveries: verify the Standard Webhooks signature, check the event, store it in the inbox.

The delivery is in the database before the partner hears 2xx; queueing it for the worker happens after
and may fail (the sweeper finds rows still pending). Every refusal is a ``DeliveryRefused`` with an HTTP
status and a code, so the HTTP layer never has to guess and never answers 500 for bad input.

Two duplicates answer 2xx and store nothing: the same webhook id again (unique on partner and webhook id),
and the same business event under a new webhook id (unique on partner and business key, e.g. the
partner's transaction id of an accrual).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from loyalty.identifiers import CardNumberError, luhn_valid, normalise_number
from loyalty.rules import current_rules
from partners.models import Partner, PartnerState
from partners.secret_box import SecretBox
from partners.service import is_partner_code
from partners.verification import PartnerVerification, VerificationCache, load_verification
from webhooks.catalogue import CATALOGUE, EventRejected, business_key, validate_event
from webhooks.inbox_store import store_delivery, stored_duplicate
from webhooks.signatures import DeliveryRefused, standard_headers, verify_signature

__all__ = [
    "DeliveryRefused",
    "StoredDelivery",
    "account_hint",
    "check_card_number",
    "check_partner_code",
    "parse_event",
    "receive",
    "standard_headers",
    "verified_partner",
    "verify_signature",
]


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    inbox_id: int
    duplicate: bool
    account_hint: str


def check_partner_code(partner_code: str) -> None:
    """Refuse a code no partner can have (too long, a NUL byte, upper case) before the database sees it:
    PostgreSQL refuses NUL in text, and the column is shorter than a URL path part may be."""
    if not is_partner_code(partner_code):
        raise DeliveryRefused(
            404,
            "PARTNER_CODE_INVALID",
            "no partner has such a code (2-32 lower-case letters, digits, '-' and '_')",
        )


def parse_event(body: bytes) -> tuple[str, dict[str, Any]]:
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DeliveryRefused(400, "BODY_NOT_JSON", "the body is not JSON") from exc
    if not isinstance(event, dict):
        raise DeliveryRefused(400, "BODY_INVALID", "the body is a JSON object with 'type' and 'data'")
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 64:
        raise DeliveryRefused(400, "EVENT_TYPE_MISSING", "the body has no event 'type'")
    if not isinstance(event.get("data"), dict):
        raise DeliveryRefused(400, "EVENT_DATA_MISSING", "the body has no 'data' object")
    if b"\\u0000" in body and _holds_nul(event):
        # PostgreSQL stores no NUL in text or jsonb; no field of any event has a use for one.
        raise DeliveryRefused(400, "BODY_NUL_CHARACTER", "a string in the body holds a NUL character")
    return event_type, event


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def check_event(partner: Partner, event_type: str, event: dict[str, Any]) -> str:
    """The event's business key, once the type is known, allowed for this partner and valid.

    The partner's capability is checked before the payload: a partner that may not send a type hears
    ``403 EVENT_TYPE_NOT_ALLOWED`` whatever its payload holds."""
    entry = CATALOGUE.get(event_type)
    if entry is not None and entry.capability not in partner.capabilities:
        raise DeliveryRefused(
            403,
            "EVENT_TYPE_NOT_ALLOWED",
            f"this partner may not send {event_type!r} (needs the {entry.capability.value!r} capability)",
            path="type",
        )
    try:
        checked = validate_event(event_type, event)
    except EventRejected as rejected:
        raise DeliveryRefused(400, rejected.code, rejected.message, path=rejected.path) from None
    check_card_number(event)
    return business_key(checked, event)


def check_card_number(event: dict[str, Any]) -> None:
    """A service card number of the programme's length whose Luhn check digit is wrong names nobody: it is
    refused now (``400 CARD_NUMBER_CHECK_DIGIT``) rather than stored and parked as a dead letter."""
    member = event["data"].get("member")
    raw = member.get("serviceCardNumber") if isinstance(member, dict) else None
    if not isinstance(raw, str):
        return
    number = normalise_number(raw)
    if len(number) == current_rules().identifiers.service_card_number_length and not luhn_valid(number):
        raise DeliveryRefused(
            400,
            CardNumberError.CHECK_DIGIT.value,
            "the service card number's check digit does not match: a digit is wrong",
            path="data.member.serviceCardNumber",
        )


async def verified_partner(
    *,
    partner_code: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance_s: int,
    box: SecretBox,
    verifications: VerificationCache | None = None,
) -> tuple[Partner, dict[str, str]]:
    """The active partner that signed this request, with its Standard Webhooks headers; every partner
    request (events and the synchronous lounge checks) passes here first.

    ``verifications`` keeps partners' signing material per process (without it, it is read each time)."""
    check_partner_code(partner_code)
    verification = await _verification(partner_code, box, verifications)
    partner = verification.partner
    normalised = standard_headers(headers)
    now = dt.datetime.now(dt.UTC)
    verify_signature(
        body,
        normalised,
        verification.usable_secrets(now),
        public_keys=verification.usable_public_keys(now),
        tolerance_s=tolerance_s,
    )
    return partner, normalised


async def receive(
    *,
    partner_code: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance_s: int,
    box: SecretBox,
    verifications: VerificationCache | None = None,
) -> StoredDelivery:
    """Verify one delivery and store it; a repeated webhook id or business event answers with the stored row.

    With ``verifications`` (partners' signing material kept per process) a delivery costs one statement,
    its insert."""
    partner, normalised = await verified_partner(
        partner_code=partner_code,
        headers=headers,
        body=body,
        tolerance_s=tolerance_s,
        box=box,
        verifications=verifications,
    )
    event_type, event = parse_event(body)
    key = check_event(partner, event_type, event)
    webhook_id = normalised["webhook-id"]
    hint = account_hint(event)
    inbox_id = await store_delivery(
        partner_id=partner.id, webhook_id=webhook_id, event_type=event_type, event=event, business_key=key
    )
    if inbox_id is None:
        # A unique index said no: this delivery, or this business event, is stored already (perhaps by a
        # request running at this very moment). Inserting first keeps the common case to one statement.
        stored = await stored_duplicate(partner_id=partner.id, webhook_id=webhook_id, business_key=key)
        return StoredDelivery(inbox_id=stored, duplicate=True, account_hint=hint)
    return StoredDelivery(inbox_id=inbox_id, duplicate=False, account_hint=hint)


async def _verification(
    partner_code: str, box: SecretBox, verifications: VerificationCache | None
) -> PartnerVerification:
    """The partner's signing material, if it is a partner and active."""
    if verifications is None:
        verification = await load_verification(partner_code, box)
    else:
        verification = await verifications.get(partner_code)
    if verification is None:
        raise DeliveryRefused(404, "PARTNER_UNKNOWN", f"no partner {partner_code!r}")
    if verification.partner.state is not PartnerState.ACTIVE:
        raise DeliveryRefused(403, "PARTNER_SUSPENDED", "this partner is suspended")
    return verification


def account_hint(event: dict[str, Any]) -> str:
    """The member identifier in the payload, used to keep one member's events in order."""
    member = event.get("data", {}).get("member")
    if isinstance(member, dict):
        return str(
            member.get("accountNumber")
            or member.get("serviceCardNumber")
            or member.get("creditCardReference")
            or ""
        )
    return ""
