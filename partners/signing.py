"""A partner's signing material: Standard Webhooks secrets (``v1``, HMAC) and ed25519 public keys (``v1a``).

Several secrets and keys may be usable at once, so a partner rotates without downtime: add the new one,
switch the partner over, then expire the old one (at a set time) or revoke it (at once). Secrets are
stored encrypted with a ``SecretBox`` the caller hands in; the plain secret is returned once, when created.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from loyalty.errors import Conflict, NotFound, ValidationFailed
from partners.models import Partner, PartnerPublicKey, PartnerSecret
from partners.secret_box import SecretBox, SecretBoxError, fingerprint
from partners.verification import forget_in_this_process

log = logging.getLogger(__name__)
SECRET_BYTES = 24
SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
PUBLIC_KEY_PREFIX = "whpk_"
ED25519_KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class NewSecret:
    id: int
    secret: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class SigningMaterial:
    """One secret or public key as operators see it (never the secret itself)."""

    id: int
    kind: str
    """``secret`` or ``public_key``."""
    fingerprint: str
    label: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    usable: bool


def generate_signing_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _usable(now: dt.datetime) -> Q:
    return Q(active=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def _clean_label(label: str) -> str:
    if len(label.strip()) > 64:
        raise ValidationFailed("A label has at most 64 characters.", field="label", code="LABEL_TOO_LONG")
    return label.strip()


async def _partner_id(code: str) -> int:
    partner = await Partner.get_or_none(code=code.strip().lower()).only("id")
    if partner is None:
        raise NotFound(f"No partner {code!r}.", field="code", code="PARTNER_NOT_FOUND")
    return int(partner.id)


async def create_secret(*, partner_id: int, box: SecretBox, label: str = "") -> NewSecret:
    secret = generate_signing_secret()
    row = await PartnerSecret.create(
        partner_id=partner_id,
        ciphertext=box.seal(secret, partner_id=partner_id),
        fingerprint=fingerprint(secret),
        label=_clean_label(label),
    )
    return NewSecret(id=row.id, secret=secret, fingerprint=row.fingerprint)


async def add_secret(*, code: str, box: SecretBox, label: str = "") -> NewSecret:
    """A further signing secret, usable at once next to the others; returned in plain text only here."""
    created = await create_secret(partner_id=await _partner_id(code), box=box, label=label)
    forget_in_this_process(code)
    return created


def parse_public_key(value: str) -> str:
    """The raw ed25519 key as base64, from ``whpk_<base64>`` or plain base64 of the 32 key bytes."""
    text = value.strip().removeprefix(PUBLIC_KEY_PREFIX)
    try:
        raw = base64.b64decode(text, validate=True)
        Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise ValidationFailed(
            "A public key is an ed25519 key: 'whpk_' and the base64 of its 32 bytes.",
            field="publicKey",
            code="PUBLIC_KEY_INVALID",
        ) from None
    if len(raw) != ED25519_KEY_BYTES:  # pragma: no cover - from_public_bytes refuses other lengths
        raise ValidationFailed(
            "An ed25519 public key has 32 bytes.", field="publicKey", code="PUBLIC_KEY_INVALID"
        )
    return base64.b64encode(raw).decode("ascii")


async def add_public_key(*, code: str, public_key: str, label: str = "") -> SigningMaterial:
    """Register an ed25519 public key for ``v1a`` signatures; the same key twice is a conflict."""
    partner_id = await _partner_id(code)
    key = parse_public_key(public_key)
    if await PartnerPublicKey.filter(partner_id=partner_id, public_key=key).exists():
        raise Conflict("This public key is registered already.", field="publicKey", code="PUBLIC_KEY_EXISTS")
    row = await PartnerPublicKey.create(
        partner_id=partner_id, public_key=key, fingerprint=fingerprint(key), label=_clean_label(label)
    )
    forget_in_this_process(code)
    return _material(row, "public_key", _now())


def _material(row: PartnerSecret | PartnerPublicKey, kind: str, now: dt.datetime) -> SigningMaterial:
    usable = row.active and (row.expires_at is None or row.expires_at > now)
    return SigningMaterial(
        id=row.id,
        kind=kind,
        fingerprint=row.fingerprint,
        label=row.label,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        usable=usable,
    )


async def list_signing_material(*, code: str) -> list[SigningMaterial]:
    """Every secret and public key of the partner, usable or not, oldest first."""
    partner_id = await _partner_id(code)
    return (await signing_material_for([partner_id]))[partner_id]


async def signing_material_for(partner_ids: Sequence[int]) -> dict[int, list[SigningMaterial]]:
    """``list_signing_material`` for several partners in two queries (admin lists)."""
    now = _now()
    found: dict[int, list[SigningMaterial]] = {partner_id: [] for partner_id in partner_ids}
    for row in await PartnerSecret.filter(partner_id__in=list(partner_ids)):
        found[row.partner_id].append(_material(row, "secret", now))
    for key in await PartnerPublicKey.filter(partner_id__in=list(partner_ids)):
        found[key.partner_id].append(_material(key, "public_key", now))
    for items in found.values():
        items.sort(key=lambda item: (item.created_at, item.kind, item.id))
    return found


async def retire(
    *, code: str, kind: str, material_id: int, at: dt.datetime | None = None, force: bool = False
) -> SigningMaterial:
    """Revoke a secret or key now (``at`` None) or let it expire at ``at``.

    The partner's last usable secret or key is only revoked with ``force``: otherwise every delivery
    would be refused from then on (rotate first: add the new one, then retire the old).
    """
    partner_id = await _partner_id(code)
    model: type[PartnerSecret] | type[PartnerPublicKey] = (
        PartnerSecret if kind == "secret" else PartnerPublicKey
    )
    now = _now()
    async with in_transaction():
        await Partner.filter(id=partner_id).select_for_update().only("id").first()
        row = await model.filter(id=material_id, partner_id=partner_id).first()
        if row is None:
            raise NotFound(
                f"No such {kind.replace('_', ' ')} of this partner.", field="id", code="SIGNING_KEY_NOT_FOUND"
            )
        if at is not None and at <= now:
            at = None
        others = (
            await PartnerSecret.filter(_usable(now), partner_id=partner_id)
            .exclude(id=row.id if kind == "secret" else -1)
            .count()
            + await PartnerPublicKey.filter(_usable(now), partner_id=partner_id)
            .exclude(id=row.id if kind == "public_key" else -1)
            .count()
        )
        if at is None and others == 0 and not force:
            raise Conflict(
                "This is the partner's last usable signing secret or key; add a new one first.",
                field="id",
                code="LAST_SIGNING_KEY",
            )
        if at is None:
            row.active, row.revoked_at = False, now
        else:
            row.expires_at = at
        await row.save()
    forget_in_this_process(code)
    return _material(row, kind, now)


async def usable_secrets(partner_id: int, box: SecretBox) -> list[str]:
    """The partner's secrets that verify deliveries now, decrypted."""
    found: list[str] = []
    for row in await PartnerSecret.filter(_usable(_now()), partner_id=partner_id):
        if row.ciphertext is not None:
            try:
                found.append(box.open(row.ciphertext, partner_id=partner_id))
            except SecretBoxError:
                # Sealed under another service key (MILESGATE_SECRET_KEY changed): it verifies nothing.
                log.error(
                    "partner signing secret %s does not decrypt", row.id, extra={"partner_id": partner_id}
                )
        elif row.secret is not None:  # not yet encrypted by the start-up step (a rolling upgrade)
            found.append(row.secret)
    return found


async def usable_public_keys(partner_id: int) -> list[bytes]:
    rows = await PartnerPublicKey.filter(_usable(_now()), partner_id=partner_id).values_list(
        "public_key", flat=True
    )
    return [base64.b64decode(str(value)) for value in rows]


async def encrypt_plaintext_secrets(box: SecretBox) -> int:
    """Encrypt secrets stored in plain text before encryption at rest existed; returns how many.

    Runs at every start (``serve``, ``worker``, ``migrate``, CLI commands); each row is encrypted under a
    row lock and only if it is still plain, so concurrent starts do each row once.
    """
    done = 0
    for secret_id in await PartnerSecret.filter(secret__isnull=False).values_list("id", flat=True):
        async with in_transaction():
            row = await PartnerSecret.filter(id=secret_id).select_for_update().first()
            if row is None or row.secret is None:
                continue
            plain = row.secret
            row.ciphertext = box.seal(plain, partner_id=row.partner_id)
            row.fingerprint = fingerprint(plain)
            row.secret = None
            await row.save(update_fields=["ciphertext", "fingerprint", "secret"])
            done += 1
    return done
