"""``resolvers.partners.PartnerDirectory`` on top of ``partners``: what the GraphQL operations call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from loyalty.earning.chart import EarningChart
from loyalty.partner_vocabulary import PartnerCapability, PartnerKind, PartnerState
from partners import service, signing
from partners.charts import current_earning_chart
from partners.models import Partner
from partners.models import PartnerCapability as Capability
from partners.models import PartnerKind as Kind
from partners.models import PartnerState as State
from partners.secret_box import SecretBox
from resolvers.partners import (
    CreatedSecret,
    PartnerName,
    PartnerView,
    SigningKeyKind,
    SigningKeyView,
)


def key_view(item: signing.SigningMaterial) -> SigningKeyView:
    return SigningKeyView(
        id=item.id,
        kind=SigningKeyKind(item.kind),
        fingerprint=item.fingerprint,
        label=item.label,
        created_at=item.created_at,
        expires_at=item.expires_at,
        revoked_at=item.revoked_at,
        usable=item.usable,
    )


def partner_view(row: Partner, keys: list[signing.SigningMaterial]) -> PartnerView:
    return PartnerView(
        code=row.code,
        name=row.name,
        kind=PartnerKind(row.kind.value),
        state=PartnerState(row.state.value),
        capabilities=tuple(PartnerCapability(item.value) for item in sorted(row.capabilities)),
        earning_config=row.earning_config,
        created_at=row.created_at,
        signing_keys=tuple(key_view(item) for item in keys),
    )


def _capabilities(values: set[PartnerCapability] | None) -> set[Capability] | None:
    return None if values is None else {Capability(value.value) for value in values}


async def _nobody_told(code: str) -> None:
    """No process keeps partners' signing material: a change needs no announcement."""


@dataclass
class RegistryDirectory:
    box: SecretBox
    """Encrypts partners' signing secrets (admin operations create them)."""
    changed: Callable[[str], Awaitable[None]] = _nobody_told
    """Called with the partner's code after a change that checking its deliveries depends on (state,
    capabilities, signing material): ``gateway.partner_changes.partner_changed``."""

    def earning_chart(self) -> EarningChart:
        return current_earning_chart()

    async def partners_with(self, capability: PartnerCapability) -> list[PartnerName]:
        rows = await service.active_partners_with(Capability(capability.value))
        return [PartnerName(code=row.code, name=row.name) for row in rows]

    async def _view(self, row: Partner) -> PartnerView:
        keys = await signing.signing_material_for([row.id])
        return partner_view(row, keys[row.id])

    async def list_partners(self) -> list[PartnerView]:
        rows = await service.list_partners()
        keys = await signing.signing_material_for([row.id for row in rows])
        return [partner_view(row, keys[row.id]) for row in rows]

    async def get_partner(self, code: str) -> PartnerView:
        return await self._view(await service.get_partner(code))

    async def add_partner(
        self,
        *,
        code: str,
        name: str,
        kind: PartnerKind,
        capabilities: set[PartnerCapability] | None,
        earning_config: str,
    ) -> CreatedSecret:
        created = await service.add_partner(
            code=code,
            name=name,
            kind=Kind(kind.value),
            box=self.box,
            capabilities=_capabilities(capabilities),
            earning_config=earning_config,
        )
        return CreatedSecret(id=created.secret_id, secret=created.signing_secret)

    async def update_partner(
        self,
        *,
        code: str,
        name: str | None,
        capabilities: set[PartnerCapability] | None,
        earning_config: str | None,
    ) -> PartnerView:
        row = await service.update_partner(
            code=code, name=name, capabilities=_capabilities(capabilities), earning_config=earning_config
        )
        await self.changed(row.code)
        return await self._view(row)

    async def set_partner_state(self, *, code: str, state: PartnerState) -> PartnerView:
        row = await service.set_partner_state(code=code, state=State(state.value))
        await self.changed(row.code)
        return await self._view(row)

    async def add_signing_secret(self, *, code: str, label: str) -> CreatedSecret:
        created = await signing.add_secret(code=code, box=self.box, label=label)
        await self.changed(code)
        return CreatedSecret(id=created.id, secret=created.secret)

    async def add_public_key(self, *, code: str, public_key: str, label: str) -> SigningKeyView:
        added = await signing.add_public_key(code=code, public_key=public_key, label=label)
        await self.changed(code)
        return key_view(added)

    async def retire_signing_key(
        self, *, code: str, kind: SigningKeyKind, key_id: int, at: dt.datetime | None, force: bool
    ) -> SigningKeyView:
        retired = await signing.retire(code=code, kind=kind.value, material_id=key_id, at=at, force=force)
        await self.changed(code)
        return key_view(retired)
