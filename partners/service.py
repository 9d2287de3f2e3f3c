"""Partner registry services: plain arguments in, plain data out.

A partner has a code (used in its webhook URL), a kind, the capabilities that decide which event types
it may send, the earning configuration its accruals are computed with, and a state: a suspended
partner's deliveries are refused. Signing secrets and public keys are in ``partners.signing``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.errors import Conflict, NotFound, ValidationFailed
from partners.models import DEFAULT_CAPABILITIES, Partner, PartnerCapability, PartnerKind, PartnerState
from partners.secret_box import SecretBox
from partners.signing import NewSecret, create_secret
from partners.verification import forget_in_this_process

_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{1,31}")
_EARNING_CONFIG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
DEFAULT_EARNING_CONFIG = "default"


@dataclass(frozen=True, slots=True)
class NewPartner:
    code: str
    name: str
    kind: PartnerKind
    capabilities: frozenset[PartnerCapability]
    earning_config: str
    signing_secret: str
    """The first signing secret in plain text: shown once, stored only encrypted."""
    secret_id: int


def is_partner_code(code: str) -> bool:
    """A well-formed partner code (2-32 lower-case letters, digits, '-' and '_'), whether registered or not."""
    return _CODE.fullmatch(code) is not None


def _clean_name(name: str) -> str:
    if not name.strip() or len(name.strip()) > 120:
        raise ValidationFailed(
            "A partner needs a name of up to 120 characters.", field="name", code="PARTNER_NAME_REQUIRED"
        )
    return name.strip()


def _clean_earning_config(value: str) -> str:
    if not _EARNING_CONFIG.match(value):
        raise ValidationFailed(
            "An earning configuration is named by 1-64 letters, digits, '_', '.', ':' or '-'.",
            field="earningConfig",
            code="EARNING_CONFIG_INVALID",
        )
    return value


async def add_partner(
    *,
    code: str,
    name: str,
    kind: PartnerKind,
    box: SecretBox,
    capabilities: Iterable[PartnerCapability] | None = None,
    earning_config: str = DEFAULT_EARNING_CONFIG,
) -> NewPartner:
    """Register an active partner with one signing secret, which is returned here and never again.

    Without explicit capabilities the partner gets its kind's defaults (an airline: accruals and flown data).
    """
    code = code.strip().lower()
    if not is_partner_code(code):
        raise ValidationFailed(
            "A partner code is 2-32 characters: lower-case letters, digits, '-' and '_'.",
            field="code",
            code="PARTNER_CODE_INVALID",
        )
    chosen = frozenset(DEFAULT_CAPABILITIES[kind] if capabilities is None else capabilities)
    partner = Partner(
        code=code, name=_clean_name(name), kind=kind, earning_config=_clean_earning_config(earning_config)
    )
    partner.capabilities = chosen
    try:
        async with in_transaction():
            await partner.save()
            secret: NewSecret = await create_secret(partner_id=partner.id, box=box)
    except IntegrityError as exc:
        raise Conflict(f"Partner {code!r} exists already.", field="code", code="PARTNER_EXISTS") from exc
    return NewPartner(
        code=code,
        name=partner.name,
        kind=kind,
        capabilities=chosen,
        earning_config=partner.earning_config,
        signing_secret=secret.secret,
        secret_id=secret.id,
    )


async def get_partner(code: str) -> Partner:
    partner = await Partner.get_or_none(code=code.strip().lower())
    if partner is None:
        raise NotFound(f"No partner {code!r}.", field="code", code="PARTNER_NOT_FOUND")
    return partner


async def list_partners() -> list[Partner]:
    return await Partner.all().order_by("code")


async def active_partners_with(capability: PartnerCapability) -> list[Partner]:
    """Active partners that offer ``capability`` (e.g. the shops members may send receipt photos to)."""
    active = await Partner.filter(state=PartnerState.ACTIVE).order_by("code")
    return [partner for partner in active if capability in partner.capabilities]


async def active_partner_with(code: str, capability: PartnerCapability) -> Partner:
    """The partner, if it is active and offers ``capability``; NotFound (naming the capability) otherwise."""
    partner = await Partner.get_or_none(code=code.strip().lower())
    if partner is None or partner.state is not PartnerState.ACTIVE or capability not in partner.capabilities:
        raise NotFound(
            f"No active partner {code!r} offers {capability.value}.",
            field="partner",
            code="PARTNER_NOT_AVAILABLE",
        )
    return partner


async def update_partner(
    *,
    code: str,
    name: str | None = None,
    capabilities: Iterable[PartnerCapability] | None = None,
    earning_config: str | None = None,
) -> Partner:
    """Change a partner's name, capabilities or earning configuration (what is None stays)."""
    partner = await get_partner(code)
    if name is not None:
        partner.name = _clean_name(name)
    if capabilities is not None:
        partner.capabilities = frozenset(capabilities)
    if earning_config is not None:
        partner.earning_config = _clean_earning_config(earning_config)
    await partner.save()
    forget_in_this_process(partner.code)
    return partner


async def set_partner_state(*, code: str, state: PartnerState) -> Partner:
    """Suspend a partner (its deliveries get 403 from now on) or make it active again."""
    partner = await get_partner(code)
    if partner.state is not state:
        partner.state = state
        await partner.save(update_fields=["state"])
        forget_in_this_process(partner.code)
    return partner
