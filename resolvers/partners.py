"""Partner-registry resolvers (admin only: the fields carry the IsOperator permission)."""

from __future__ import annotations

import datetime as dt

from loyalty.errors import DomainError
from partners import service, signing
from partners.models import Partner as PartnerRow
from partners.models import PartnerCapability, PartnerState
from partners.secret_box import SecretBox
from schema.context import Info
from schema.errors import InputError
from schema.partners import (
    AddPartnerInput,
    NewSigningSecret,
    NewSigningSecretResult,
    Partner,
    PartnerResult,
    SigningKey,
    SigningKeyKind,
    SigningKeyResult,
    UpdatePartnerInput,
)


def _box(info: Info) -> SecretBox:
    box = info.context.partner_box
    if box is None:  # pragma: no cover - the gateway always sets it
        raise RuntimeError("no partner secret box in the GraphQL context")
    return box


async def _partner(row: PartnerRow) -> Partner:
    keys = await signing.signing_material_for([row.id])
    return Partner.from_model(row, keys[row.id])


async def partners() -> list[Partner]:
    rows = await service.list_partners()
    keys = await signing.signing_material_for([row.id for row in rows])
    return [Partner.from_model(row, keys[row.id]) for row in rows]


async def partner(code: str) -> Partner | None:
    try:
        return await _partner(await service.get_partner(code))
    except DomainError:
        return None


async def add_partner(info: Info, data: AddPartnerInput) -> NewSigningSecretResult:
    try:
        created = await service.add_partner(
            code=data.code,
            name=data.name,
            kind=data.kind,
            box=_box(info),
            capabilities=None if data.capabilities is None else set(data.capabilities),
            earning_config=data.earning_config,
        )
        return await _new_secret(created.code, created.secret_id, created.signing_secret)
    except DomainError as error:
        return InputError.from_domain(error)


async def _new_secret(code: str, secret_id: int, secret: str) -> NewSigningSecret:
    shown = await _partner(await service.get_partner(code))
    key = next(
        item
        for item in shown.signing_keys
        if item.id == str(secret_id) and item.kind is SigningKeyKind.SECRET
    )
    return NewSigningSecret(partner=shown, signing_secret=secret, signing_key=key)


async def update_partner(code: str, data: UpdatePartnerInput) -> PartnerResult:
    capabilities: set[PartnerCapability] | None = (
        None if data.capabilities is None else set(data.capabilities)
    )
    try:
        row = await service.update_partner(
            code=code, name=data.name, capabilities=capabilities, earning_config=data.earning_config
        )
    except DomainError as error:
        return InputError.from_domain(error)
    return await _partner(row)


async def set_partner_state(code: str, state: PartnerState) -> PartnerResult:
    try:
        return await _partner(await service.set_partner_state(code=code, state=state))
    except DomainError as error:
        return InputError.from_domain(error)


async def add_signing_secret(info: Info, code: str, label: str) -> NewSigningSecretResult:
    try:
        created = await signing.add_secret(code=code, box=_box(info), label=label)
        return await _new_secret(code, created.id, created.secret)
    except DomainError as error:
        return InputError.from_domain(error)


async def add_public_key(code: str, public_key: str, label: str) -> SigningKeyResult:
    try:
        return SigningKey.from_domain(
            await signing.add_public_key(code=code, public_key=public_key, label=label)
        )
    except DomainError as error:
        return InputError.from_domain(error)


async def retire_signing_key(
    code: str, kind: SigningKeyKind, key_id: str, expires_at: dt.datetime | None, force: bool
) -> SigningKeyResult:
    if not key_id.isdigit():
        return InputError(code="SIGNING_KEY_NOT_FOUND", field="id", message="No such signing key.")
    try:
        retired = await signing.retire(
            code=code, kind=kind.value, material_id=int(key_id), at=expires_at, force=force
        )
    except DomainError as error:
        return InputError.from_domain(error)
    return SigningKey.from_domain(retired)
