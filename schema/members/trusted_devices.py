"""The devices a member trusts (DOMAIN.md 2), as ``Member.trustedDevices`` shows them."""

from __future__ import annotations

import datetime as dt

import strawberry

from loyalty.auth.models import TrustedDevice as TrustedDeviceRow


@strawberry.type(
    description="A device the member trusts: signing in on it skips the second factor until expiresAt."
)
class TrustedDevice:
    id: strawberry.ID = strawberry.field(description="Pass it to revokeTrustedDevice.")
    name: str = strawberry.field(description="The name given when it was trusted.")
    trusted_at: dt.datetime = strawberry.field(description="When it was trusted.")
    expires_at: dt.datetime = strawberry.field(description="When the trust ends by itself.")
    last_used_at: dt.datetime | None = strawberry.field(description="The last sign-in it skipped a code for.")

    @classmethod
    def from_model(cls, row: TrustedDeviceRow) -> TrustedDevice:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            trusted_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
        )
