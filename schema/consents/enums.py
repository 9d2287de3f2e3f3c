"""The consent enums as GraphQL sees them."""

from __future__ import annotations

import strawberry

from loyalty.consents.models import ConsentPurpose

__all__ = ["ConsentPurpose"]

strawberry.enum(
    ConsentPurpose,
    description="ADVERTISING (also decides a base member's card prefix), PERSONALISATION (personalised "
    "offers), PUSH and EMAIL (messages beyond the ones a service needs).",
)
