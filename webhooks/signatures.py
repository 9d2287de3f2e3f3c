"""Standard Webhooks signatures: ``v1`` (HMAC-SHA256 with a ``whsec_`` secret, computed by svix) and
``v1a`` (ed25519 with a partner's registered public key), over ``{webhook-id}.{timestamp}.{body}``."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import time
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from svix.webhooks import Webhook

HEADER_ALIASES = {
    "svix-id": "webhook-id",
    "svix-timestamp": "webhook-timestamp",
    "svix-signature": "webhook-signature",
}
MAX_WEBHOOK_ID = 128
MAX_TIMESTAMP_DIGITS = 12
SIGNATURE_VERSIONS = ("v1", "v1a")


class DeliveryRefused(Exception):
    """A delivery we will not store; ``status`` is the HTTP answer, ``code`` the JSON error code and
    ``path`` the failing place in the payload, if there is one."""

    def __init__(self, status: int, code: str, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.path = path


def standard_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The three Standard Webhooks headers, ``webhook-*`` names first, ``svix-*`` accepted in their place.

    Only these are used from here on, for the signature check and for the inbox, so what is verified is
    exactly what is stored.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    return {name: lowered.get(name) or lowered.get(alias, "") for alias, name in HEADER_ALIASES.items()}


def _check_timestamp(raw: str, *, tolerance_s: int, now: float) -> int:
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_TIMESTAMP_DIGITS):
        raise DeliveryRefused(400, "TIMESTAMP_INVALID", "webhook-timestamp is not a Unix time in seconds")
    stamp = int(raw)
    if abs(now - stamp) > tolerance_s:
        raise DeliveryRefused(401, "TIMESTAMP_OUT_OF_TOLERANCE", "webhook-timestamp is too old or too new")
    return stamp


def _offered_signatures(header: str) -> dict[str, list[bytes]]:
    """The signatures of a webhook-signature header by version (``v1``, ``v1a``); others are skipped."""
    offered: dict[str, list[bytes]] = {version: [] for version in SIGNATURE_VERSIONS}
    for item in header.split():
        version, comma, value = item.partition(",")
        if not comma or not value:
            raise DeliveryRefused(400, "SIGNATURE_MALFORMED", "webhook-signature is malformed")
        if version not in offered:
            continue
        try:
            offered[version].append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):  # also non-ASCII text
            raise DeliveryRefused(400, "SIGNATURE_MALFORMED", "webhook-signature is malformed") from None
    return offered


def _hmac_matches(secret: str, webhook_id: str, stamp: int, text: str, offered: list[bytes]) -> bool:
    try:
        signed = Webhook(secret).sign(webhook_id, dt.datetime.fromtimestamp(stamp, dt.UTC), text)
    except ValueError:  # a stored secret svix cannot read: it signs nothing
        return False
    expected = base64.b64decode(signed.split(",", 1)[1])
    return any(hmac.compare_digest(expected, signature) for signature in offered)


def _ed25519_matches(key: bytes, content: bytes, offered: list[bytes]) -> bool:
    public_key = Ed25519PublicKey.from_public_bytes(key)
    for signature in offered:
        try:
            public_key.verify(signature, content)
        except InvalidSignature:
            continue
        return True
    return False


def verify_signature(
    body: bytes,
    headers: dict[str, str],
    secrets: Sequence[str],
    *,
    public_keys: Sequence[bytes] = (),
    tolerance_s: int,
    now: float | None = None,
) -> None:
    """Accept the delivery if any usable secret (``v1``) or public key (``v1a``) of the partner signed
    exactly these headers and body.

    The timestamp is checked against our own tolerance, then svix computes the expected HMAC of the
    normalised webhook-id and timestamp (the ones we store), compared in constant time: svix's own verify
    would check its fixed 5-minute window and could read different (svix-*) headers than the ones we keep.
    """
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        if not headers.get(name):
            raise DeliveryRefused(400, "HEADER_MISSING", f"{name} header is missing")
    webhook_id = headers["webhook-id"]
    if len(webhook_id) > MAX_WEBHOOK_ID:
        raise DeliveryRefused(
            400, "WEBHOOK_ID_INVALID", f"webhook-id is longer than {MAX_WEBHOOK_ID} characters"
        )
    stamp = _check_timestamp(
        headers["webhook-timestamp"], tolerance_s=tolerance_s, now=time.time() if now is None else now
    )
    offered = _offered_signatures(headers["webhook-signature"])
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise DeliveryRefused(400, "BODY_NOT_UTF8", "the body is not UTF-8") from None
    if offered["v1"] and any(_hmac_matches(s, webhook_id, stamp, text, offered["v1"]) for s in secrets):
        return
    content = f"{webhook_id}.{stamp}.".encode() + body
    if offered["v1a"] and any(_ed25519_matches(key, content, offered["v1a"]) for key in public_keys):
        return
    raise DeliveryRefused(
        401, "SIGNATURE_INVALID", "no usable secret or key of this partner signed the delivery"
    )
