"""Operating the partner registry: partners, their state and their signing keys (admin only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from resolvers import partners
from resolvers.partners import directory_of
from schema.context import Info
from schema.fields import mutation
from schema.partners.arguments import PARTNER_CODE
from schema.partners.enums import PartnerState, SigningKeyKind
from schema.partners.types import (
    AddPartnerInput,
    NewSigningSecret,
    NewSigningSecretResult,
    Partner,
    PartnerResult,
    SigningKey,
    SigningKeyResult,
    UpdatePartnerInput,
)
from schema.permissions import IsOperator

PartnerCode = Annotated[str, strawberry.argument(description=PARTNER_CODE)]


@strawberry.type
class PartnerMutations:
    @mutation(
        description="Admin only: register a partner; answers its first signing secret, shown once.",
        permission_classes=[IsOperator],
    )
    async def add_partner(self, info: Info, input: AddPartnerInput) -> NewSigningSecretResult:
        created = await partners.add_partner(
            directory_of(info.context.partners),
            code=input.code,
            name=input.name,
            kind=input.kind,
            capabilities=input.capabilities,
            earning_config=input.earning_config,
        )
        return NewSigningSecret.from_view(created)

    @mutation(
        description="Admin only: change a partner's name, capabilities or earning configuration.",
        permission_classes=[IsOperator],
    )
    async def update_partner(self, info: Info, code: PartnerCode, input: UpdatePartnerInput) -> PartnerResult:
        updated = await partners.update_partner(
            directory_of(info.context.partners),
            code=code,
            name=input.name,
            capabilities=input.capabilities,
            earning_config=input.earning_config,
        )
        return Partner.from_view(updated)

    @mutation(
        description="Admin only: SUSPENDED refuses the partner's deliveries (403) from now on; ACTIVE accepts "
        "them again.",
        permission_classes=[IsOperator],
    )
    async def set_partner_state(
        self,
        info: Info,
        code: PartnerCode,
        state: Annotated[PartnerState, strawberry.argument(description="ACTIVE or SUSPENDED.")],
    ) -> PartnerResult:
        changed = await directory_of(info.context.partners).set_partner_state(code=code, state=state)
        return Partner.from_view(changed)

    @mutation(
        description="Admin only: a further signing secret, usable at once next to the others (rotation); "
        "shown once.",
        permission_classes=[IsOperator],
    )
    async def add_partner_signing_secret(
        self,
        info: Info,
        code: PartnerCode,
        label: Annotated[str, strawberry.argument(description="A note, e.g. 'rotation 2026-Q4'.")] = "",
    ) -> NewSigningSecretResult:
        created = await partners.add_signing_secret(
            directory_of(info.context.partners), code=code, label=label
        )
        return NewSigningSecret.from_view(created)

    @mutation(
        description="Admin only: register an ed25519 public key (whpk_...) for v1a signatures.",
        permission_classes=[IsOperator],
    )
    async def add_partner_public_key(
        self,
        info: Info,
        code: PartnerCode,
        public_key: Annotated[
            str,
            strawberry.argument(description="The ed25519 public key: whpk_ and the base64 of its 32 bytes."),
        ],
        label: Annotated[str, strawberry.argument(description="A note.")] = "",
    ) -> SigningKeyResult:
        added = await directory_of(info.context.partners).add_public_key(
            code=code, public_key=public_key, label=label
        )
        return SigningKey.from_view(added)

    @mutation(
        description="Admin only: revoke a secret or public key now, or let it expire at expiresAt (rotation "
        "without downtime). The last usable one is only revoked with force (LAST_SIGNING_KEY otherwise).",
        permission_classes=[IsOperator],
    )
    async def revoke_partner_signing_key(
        self,
        info: Info,
        code: PartnerCode,
        kind: Annotated[SigningKeyKind, strawberry.argument(description="SECRET or PUBLIC_KEY.")],
        id: Annotated[strawberry.ID, strawberry.argument(description="The key's id (Partner.signingKeys).")],
        expires_at: Annotated[
            dt.datetime | None,
            strawberry.argument(description="Keep it verifying until then; null or past: revoke now."),
        ] = None,
        force: Annotated[
            bool, strawberry.argument(description="Also revoke the partner's last usable secret or key.")
        ] = False,
    ) -> SigningKeyResult:
        retired = await partners.retire_signing_key(
            directory_of(info.context.partners),
            code=code,
            kind=kind,
            key_id=str(id),
            expires_at=expires_at,
            force=force,
        )
        return SigningKey.from_view(retired)
