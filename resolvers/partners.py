"""Partner-registry resolvers (admin only: the fields carry the IsOperator permission), the partners a
receipt can be sent to, and the earning chart partners' data files hold.

The registry lives in ``partners/``, which resolvers do not import; the gateway hands an implementation of
``PartnerDirectory`` to the GraphQL context (``gateway.partner_directory``), and these views are all the
schema sees. The partner enums are ``loyalty.partner_vocabulary``'s, the same classes the registry stores.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from loyalty.earning.chart import EarningChart
from loyalty.errors import DomainError, NotFound
from loyalty.partner_vocabulary import PartnerCapability, PartnerKind, PartnerState


class SigningKeyKind(StrEnum):
    SECRET = "secret"  # noqa: S105 - a kind of key, not a secret
    PUBLIC_KEY = "public_key"


@dataclass(frozen=True, slots=True)
class SigningKeyView:
    """One secret or public key as operators see it (never the secret itself)."""

    id: int
    kind: SigningKeyKind
    fingerprint: str
    label: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    usable: bool


@dataclass(frozen=True, slots=True)
class PartnerView:
    code: str
    name: str
    kind: PartnerKind
    state: PartnerState
    capabilities: tuple[PartnerCapability, ...]
    earning_config: str
    created_at: dt.datetime
    signing_keys: tuple[SigningKeyView, ...]


@dataclass(frozen=True, slots=True)
class PartnerName:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class CreatedSecret:
    """A signing secret just made: its id and the secret in plain text (shown once)."""

    id: int
    secret: str


@dataclass(frozen=True, slots=True)
class NewSigningSecret:
    partner: PartnerView
    signing_secret: str
    signing_key: SigningKeyView


class PartnerDirectory(Protocol):
    """What the GraphQL operations need of the partner registry; errors are ``DomainError``s."""

    def earning_chart(self) -> EarningChart: ...

    async def partners_with(self, capability: PartnerCapability) -> list[PartnerName]: ...

    async def list_partners(self) -> list[PartnerView]: ...

    async def get_partner(self, code: str) -> PartnerView: ...

    async def add_partner(
        self,
        *,
        code: str,
        name: str,
        kind: PartnerKind,
        capabilities: set[PartnerCapability] | None,
        earning_config: str,
    ) -> CreatedSecret: ...

    async def update_partner(
        self,
        *,
        code: str,
        name: str | None,
        capabilities: set[PartnerCapability] | None,
        earning_config: str | None,
    ) -> PartnerView: ...

    async def set_partner_state(self, *, code: str, state: PartnerState) -> PartnerView: ...

    async def add_signing_secret(self, *, code: str, label: str) -> CreatedSecret: ...

    async def add_public_key(self, *, code: str, public_key: str, label: str) -> SigningKeyView: ...

    async def retire_signing_key(
        self, *, code: str, kind: SigningKeyKind, key_id: int, at: dt.datetime | None, force: bool
    ) -> SigningKeyView: ...


def directory_of(directory: PartnerDirectory | None) -> PartnerDirectory:
    if directory is None:  # pragma: no cover - the gateway always sets it
        raise RuntimeError("no partner directory in the GraphQL context")
    return directory


async def partner(directory: PartnerDirectory, code: str) -> PartnerView | None:
    try:
        return await directory.get_partner(code)
    except DomainError:
        return None


async def _shown(directory: PartnerDirectory, code: str, created: CreatedSecret) -> NewSigningSecret:
    shown = await directory.get_partner(code)
    key = next(
        item for item in shown.signing_keys if item.id == created.id and item.kind is SigningKeyKind.SECRET
    )
    return NewSigningSecret(partner=shown, signing_secret=created.secret, signing_key=key)


async def add_partner(
    directory: PartnerDirectory,
    *,
    code: str,
    name: str,
    kind: PartnerKind,
    capabilities: list[PartnerCapability] | None,
    earning_config: str,
) -> NewSigningSecret:
    created = await directory.add_partner(
        code=code,
        name=name,
        kind=kind,
        capabilities=None if capabilities is None else set(capabilities),
        earning_config=earning_config,
    )
    return await _shown(directory, code, created)


async def update_partner(
    directory: PartnerDirectory,
    *,
    code: str,
    name: str | None,
    capabilities: list[PartnerCapability] | None,
    earning_config: str | None,
) -> PartnerView:
    return await directory.update_partner(
        code=code,
        name=name,
        capabilities=None if capabilities is None else set(capabilities),
        earning_config=earning_config,
    )


async def add_signing_secret(directory: PartnerDirectory, *, code: str, label: str) -> NewSigningSecret:
    return await _shown(directory, code, await directory.add_signing_secret(code=code, label=label))


async def retire_signing_key(
    directory: PartnerDirectory,
    *,
    code: str,
    kind: SigningKeyKind,
    key_id: str,
    expires_at: dt.datetime | None,
    force: bool,
) -> SigningKeyView:
    if not key_id.isdigit():
        raise NotFound("No such signing key.", field="id", code="SIGNING_KEY_NOT_FOUND")
    return await directory.retire_signing_key(
        code=code, kind=kind, key_id=int(key_id), at=expires_at, force=force
    )
