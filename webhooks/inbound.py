"""Inbound partner deliveries: verify the Standard Webhooks signature, then store in the inbox.

The delivery is in the database before the partner hears 2xx; queueing it for the worker happens after
and may fail (the sweeper finds rows still pending). Every refusal is a ``DeliveryRefused`` with an HTTP
status and a code, so the HTTP layer never has to guess and never answers 500 for bad input.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from svix.webhooks import Webhook
from tortoise.exceptions import IntegrityError

from partners.models import Partner, PartnerState
from partners.service import active_secrets
from webhooks.models import PartnerInbox

HEADER_ALIASES = {
    "svix-id": "webhook-id",
    "svix-timestamp": "webhook-timestamp",
    "svix-signature": "webhook-signature",
}


class DeliveryRefused(Exception):
    """A delivery we will not store; ``status`` is the HTTP answer, ``code`` the JSON error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    inbox_id: int
    duplicate: bool
    account_hint: str


def standard_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The three Standard Webhooks headers, ``webhook-*`` names first, ``svix-*`` accepted in their place.

    Only these are used from here on, for the signature check and for the inbox, so what is verified is
    exactly what is stored.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    return {name: lowered.get(name) or lowered.get(alias, "") for alias, name in HEADER_ALIASES.items()}


def _check_timestamp(raw: str, *, tolerance_s: int, now: float) -> int:
    try:
        stamp = int(raw)
    except ValueError as exc:
        raise DeliveryRefused(
            400, "TIMESTAMP_INVALID", "webhook-timestamp is not a Unix time in seconds"
        ) from exc
    if abs(now - stamp) > tolerance_s:
        raise DeliveryRefused(401, "TIMESTAMP_OUT_OF_TOLERANCE", "webhook-timestamp is too old or too new")
    return stamp


def _offered_signatures(header: str) -> list[bytes]:
    """The ``v1`` (HMAC-SHA256) signatures of a webhook-signature header; other versions are skipped."""
    offered: list[bytes] = []
    for item in header.split():
        version, comma, value = item.partition(",")
        if not comma or not value:
            raise DeliveryRefused(400, "SIGNATURE_MALFORMED", "webhook-signature is malformed")
        if version != "v1":
            continue
        try:
            offered.append(base64.b64decode(value, validate=True))
        except ValueError:  # binascii.Error, or non-ASCII text
            raise DeliveryRefused(400, "SIGNATURE_MALFORMED", "webhook-signature is malformed") from None
    return offered


def verify_signature(body: bytes, headers: dict[str, str], secrets: list[str], *, tolerance_s: int) -> None:
    """Accept the delivery if any active secret of the partner signed exactly these headers and body.

    The timestamp is checked against our own tolerance, then svix computes the expected signature of the
    normalised webhook-id and timestamp (the ones we store), compared in constant time: svix's own verify
    would check its fixed 5-minute window and could read different (svix-*) headers than the ones we keep.
    """
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        if not headers.get(name):
            raise DeliveryRefused(400, "HEADER_MISSING", f"{name} header is missing")
    if len(headers["webhook-id"]) > 128:
        raise DeliveryRefused(400, "WEBHOOK_ID_INVALID", "webhook-id is longer than 128 characters")
    stamp = _check_timestamp(headers["webhook-timestamp"], tolerance_s=tolerance_s, now=time.time())
    offered = _offered_signatures(headers["webhook-signature"])
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise DeliveryRefused(400, "BODY_NOT_UTF8", "the body is not UTF-8") from None
    signed_at = dt.datetime.fromtimestamp(stamp, dt.UTC)
    for secret in secrets:
        expected = base64.b64decode(
            Webhook(secret).sign(headers["webhook-id"], signed_at, text).split(",", 1)[1]
        )
        if any(hmac.compare_digest(expected, signature) for signature in offered):
            return
    raise DeliveryRefused(401, "SIGNATURE_INVALID", "no active secret of this partner signed the delivery")


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
    return event_type, event


async def receive(
    *, partner_code: str, headers: Mapping[str, str], body: bytes, tolerance_s: int
) -> StoredDelivery:
    """Verify one delivery and store it; a repeated webhook id answers with the stored row."""
    partner = await Partner.get_or_none(code=partner_code)
    if partner is None:
        raise DeliveryRefused(404, "PARTNER_UNKNOWN", f"no partner {partner_code!r}")
    if partner.state is not PartnerState.ACTIVE:
        raise DeliveryRefused(403, "PARTNER_SUSPENDED", "this partner is suspended")
    normalised = standard_headers(headers)
    verify_signature(body, normalised, await active_secrets(partner.id), tolerance_s=tolerance_s)
    event_type, event = parse_event(body)
    webhook_id = normalised["webhook-id"]
    existing = await PartnerInbox.get_or_none(partner_id=partner.id, webhook_id=webhook_id)
    if existing is not None:
        return StoredDelivery(inbox_id=existing.id, duplicate=True, account_hint=_account_hint(event))
    try:
        row = await PartnerInbox.create(
            partner_id=partner.id, webhook_id=webhook_id, event_type=event_type, payload=event
        )
    except IntegrityError:
        # The same delivery arrived twice at once; the other request stored it.
        row = await PartnerInbox.get(partner_id=partner.id, webhook_id=webhook_id)
        return StoredDelivery(inbox_id=row.id, duplicate=True, account_hint=_account_hint(event))
    return StoredDelivery(inbox_id=row.id, duplicate=False, account_hint=_account_hint(event))


def _account_hint(event: dict[str, Any]) -> str:
    """The member identifier in the payload, used to keep one member's events in order."""
    member = event.get("data", {}).get("member")
    if isinstance(member, dict):
        return str(member.get("accountNumber") or member.get("serviceCardNumber") or "")
    return ""
