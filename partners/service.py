"""Partner registry services: plain arguments in, plain data out."""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.errors import Conflict, NotFound, ValidationFailed
from partners.models import Partner, PartnerKind, PartnerSecret

_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,31}$")
SECRET_BYTES = 24


@dataclass(frozen=True, slots=True)
class NewPartner:
    code: str
    name: str
    kind: PartnerKind
    signing_secret: str


def generate_signing_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


async def add_partner(*, code: str, name: str, kind: PartnerKind) -> NewPartner:
    """Register a partner with one active signing secret, which is returned here and never again."""
    code = code.strip().lower()
    if not _CODE.match(code):
        raise ValidationFailed(
            "A partner code is 2-32 characters: lower-case letters, digits, '-' and '_'.",
            field="code",
            code="PARTNER_CODE_INVALID",
        )
    if not name.strip():
        raise ValidationFailed("A partner needs a name.", field="name", code="PARTNER_NAME_REQUIRED")
    secret = generate_signing_secret()
    try:
        async with in_transaction():
            partner = await Partner.create(code=code, name=name.strip(), kind=kind)
            await PartnerSecret.create(partner=partner, secret=secret)
    except IntegrityError as exc:
        raise Conflict(f"Partner {code!r} exists already.", field="code", code="PARTNER_EXISTS") from exc
    return NewPartner(code=code, name=partner.name, kind=kind, signing_secret=secret)


async def get_partner(code: str) -> Partner:
    partner = await Partner.get_or_none(code=code)
    if partner is None:
        raise NotFound(f"No partner {code!r}.", field="code", code="PARTNER_NOT_FOUND")
    return partner


async def active_secrets(partner_id: int) -> list[str]:
    rows = await PartnerSecret.filter(partner_id=partner_id, active=True).values_list("secret", flat=True)
    return [str(row) for row in rows]


async def list_partners() -> list[Partner]:
    return await Partner.all().order_by("code")
