"""Operating the partner registry: partners, their state and their signing keys (admin schema only)."""

from __future__ import annotations

import strawberry

from resolvers import partners
from resolvers.partners import directory_of
from schema.context import Info
from schema.fields import mutation
from schema.partners.types import (
    AddPartnerInput,
    AddPartnerPublicKeyInput,
    AddPartnerSigningSecretInput,
    NewSigningSecret,
    NewSigningSecretResult,
    Partner,
    PartnerResult,
    RevokePartnerSigningKeyInput,
    SetPartnerStateInput,
    SigningKey,
    SigningKeyResult,
    UpdatePartnerInput,
)
from schema.permissions import IsOperator


@strawberry.type
class PartnerMutations:
    @mutation(
        description="Register a partner; answers its first signing secret, shown once.",
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
        description="Change a partner's name, capabilities or earning configuration.",
        permission_classes=[IsOperator],
    )
    async def update_partner(self, info: Info, input: UpdatePartnerInput) -> PartnerResult:
        updated = await partners.update_partner(
            directory_of(info.context.partners),
            code=input.code,
            name=input.name,
            capabilities=input.capabilities,
            earning_config=input.earning_config,
        )
        return Partner.from_view(updated)

    @mutation(
        description="SUSPENDED refuses the partner's deliveries (403) from now on; ACTIVE accepts them again.",
        permission_classes=[IsOperator],
    )
    async def set_partner_state(self, info: Info, input: SetPartnerStateInput) -> PartnerResult:
        changed = await directory_of(info.context.partners).set_partner_state(
            code=input.code, state=input.state
        )
        return Partner.from_view(changed)

    @mutation(
        description="A further signing secret, usable at once next to the others (rotation); shown once.",
        permission_classes=[IsOperator],
    )
    async def add_partner_signing_secret(
        self, info: Info, input: AddPartnerSigningSecretInput
    ) -> NewSigningSecretResult:
        created = await partners.add_signing_secret(
            directory_of(info.context.partners), code=input.code, label=input.label
        )
        return NewSigningSecret.from_view(created)

    @mutation(
        description="Register an ed25519 public key (whpk_...) for v1a signatures.",
        permission_classes=[IsOperator],
    )
    async def add_partner_public_key(self, info: Info, input: AddPartnerPublicKeyInput) -> SigningKeyResult:
        added = await directory_of(info.context.partners).add_public_key(
            code=input.code, public_key=input.public_key, label=input.label
        )
        return SigningKey.from_view(added)

    @mutation(
        description="Revoke a secret or public key now, or let it expire at expiresAt (rotation without "
        "downtime). The last usable one is only revoked with force (LAST_SIGNING_KEY otherwise).",
        permission_classes=[IsOperator],
    )
    async def revoke_partner_signing_key(
        self, info: Info, input: RevokePartnerSigningKeyInput
    ) -> SigningKeyResult:
        retired = await partners.retire_signing_key(
            directory_of(info.context.partners),
            code=input.code,
            kind=input.kind,
            key_id=str(input.id),
            expires_at=input.expires_at,
            force=input.force,
        )
        return SigningKey.from_view(retired)
