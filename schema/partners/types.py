"""The partner registry as operators see it: partners, their capabilities and signing keys (admin schema)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from resolvers import partners
from resolvers.partners import PartnerView, SigningKeyView
from schema.errors import InputError
from schema.partners.arguments import PARTNER_CODE
from schema.partners.enums import PartnerCapability, PartnerKind, PartnerState, SigningKeyKind


@strawberry.type(
    description="A partner's signing secret or public key. Secrets themselves are never shown again."
)
class SigningKey:
    id: strawberry.ID = strawberry.field(description="Pass it to revokePartnerSigningKey.")
    kind: SigningKeyKind = strawberry.field(description="SECRET (v1) or PUBLIC_KEY (v1a).")
    fingerprint: str = strawberry.field(description="First 12 hex digits of its SHA-256: tells keys apart.")
    label: str = strawberry.field(description="The operator's note, e.g. 'rotation 2026-Q4'.")
    created_at: dt.datetime = strawberry.field(description="When it was added.")
    expires_at: dt.datetime | None = strawberry.field(description="When it stops verifying, if set.")
    revoked_at: dt.datetime | None = strawberry.field(description="When it was revoked, if it was.")
    usable: bool = strawberry.field(description="Whether deliveries signed with it are accepted now.")

    @classmethod
    def from_view(cls, item: SigningKeyView) -> SigningKey:
        return cls(
            id=strawberry.ID(str(item.id)),
            kind=item.kind,
            fingerprint=item.fingerprint,
            label=item.label,
            created_at=item.created_at,
            expires_at=item.expires_at,
            revoked_at=item.revoked_at,
            usable=item.usable,
        )


@strawberry.type(description="A partner: airline, shop, bank, hotel, rail, lounge, ... (admin only).")
class Partner:
    code: str = strawberry.field(description="Short code, used in the webhook URL /webhooks/partners/{code}.")
    name: str = strawberry.field(description="Display name.")
    kind: PartnerKind = strawberry.field(description="What kind of partner.")
    state: PartnerState = strawberry.field(description="ACTIVE or SUSPENDED.")
    capabilities: list[PartnerCapability] = strawberry.field(description="The event types it may send.")
    earning_config: str = strawberry.field(description="The earning chart or configuration its accruals use.")
    created_at: dt.datetime = strawberry.field(description="When it was registered.")
    signing_keys: list[SigningKey] = strawberry.field(
        description="Its secrets and public keys, oldest first."
    )

    @classmethod
    def from_view(cls, view: PartnerView) -> Partner:
        return cls(
            code=view.code,
            name=view.name,
            kind=view.kind,
            state=view.state,
            capabilities=list(view.capabilities),
            earning_config=view.earning_config,
            created_at=view.created_at,
            signing_keys=[SigningKey.from_view(item) for item in view.signing_keys],
        )


@strawberry.input(description="A new partner.")
class AddPartnerInput:
    code: str = strawberry.field(description="2-32 characters: lower-case letters, digits, '-' and '_'.")
    name: str = strawberry.field(description="Display name.")
    kind: PartnerKind = strawberry.field(description="What kind of partner.")
    capabilities: list[PartnerCapability] | None = strawberry.field(
        default=None, description="What it may send; default: the usual ones for its kind."
    )
    earning_config: str = strawberry.field(
        default="default", description="The earning configuration it uses."
    )


@strawberry.input(description="Changes to a partner; fields left out stay as they are.")
class UpdatePartnerInput:
    code: str = strawberry.field(description=PARTNER_CODE)
    name: str | None = strawberry.field(default=None, description="New display name.")
    capabilities: list[PartnerCapability] | None = strawberry.field(
        default=None, description="The complete new list of capabilities."
    )
    earning_config: str | None = strawberry.field(default=None, description="New earning configuration.")


@strawberry.input(description="A partner's new state.")
class SetPartnerStateInput:
    code: str = strawberry.field(description=PARTNER_CODE)
    state: PartnerState = strawberry.field(
        description="SUSPENDED refuses the partner's deliveries (403) from now on; ACTIVE accepts them again."
    )


@strawberry.input(description="A further signing secret for a partner.")
class AddPartnerSigningSecretInput:
    code: str = strawberry.field(description=PARTNER_CODE)
    label: str = strawberry.field(default="", description="A note, e.g. 'rotation 2026-Q4'.")


@strawberry.input(description="An ed25519 public key for a partner's v1a signatures.")
class AddPartnerPublicKeyInput:
    code: str = strawberry.field(description=PARTNER_CODE)
    public_key: str = strawberry.field(
        description="The ed25519 public key: whpk_ and the base64 of its 32 bytes."
    )
    label: str = strawberry.field(default="", description="A note.")


@strawberry.input(description="A signing secret or public key to revoke now or later.")
class RevokePartnerSigningKeyInput:
    code: str = strawberry.field(description=PARTNER_CODE)
    kind: SigningKeyKind = strawberry.field(description="SECRET or PUBLIC_KEY.")
    id: strawberry.ID = strawberry.field(description="The key's id (Partner.signingKeys).")
    expires_at: dt.datetime | None = strawberry.field(
        default=None, description="Keep it verifying until then; null or past: revoke now."
    )
    force: bool = strawberry.field(
        default=False, description="Also revoke the partner's last usable secret or key."
    )


@strawberry.type(
    description="A new signing secret. It is shown here once and never again: hand it to the partner."
)
class NewSigningSecret:
    partner: Partner = strawberry.field(description="The partner, with all its keys.")
    signing_secret: str = strawberry.field(description="The whsec_ secret, shown once.")
    signing_key: SigningKey = strawberry.field(description="How the secret is listed from now on.")

    @classmethod
    def from_view(cls, created: partners.NewSigningSecret) -> NewSigningSecret:
        return cls(
            partner=Partner.from_view(created.partner),
            signing_secret=created.signing_secret,
            signing_key=SigningKey.from_view(created.signing_key),
        )


PartnerResult = Annotated[
    Partner | InputError, strawberry.union("PartnerResult", description="The partner, or why not.")
]
NewSigningSecretResult = Annotated[
    NewSigningSecret | InputError,
    strawberry.union("NewSigningSecretResult", description="The new secret (shown once), or why not."),
]
SigningKeyResult = Annotated[
    SigningKey | InputError,
    strawberry.union("SigningKeyResult", description="The key as it is now, or why not."),
]
