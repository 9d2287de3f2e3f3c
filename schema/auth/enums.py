"""The sign-in enums as GraphQL sees them (the domain's own classes, which keeps loyalty/ free of Strawberry)."""

from __future__ import annotations

import strawberry

from loyalty.auth.credentials import SignInMethod
from loyalty.auth.signin import Platform
from schema.enums import SecondFactor, SessionLevel

__all__ = ["Platform", "SecondFactor", "SessionLevel", "SignInMethod"]

strawberry.enum(
    SignInMethod,
    description="What identifies the member: service card number (with PIN), user ID or e-mail (with password). "
    "TRAVEL_ID sign-in goes through /auth/travel-id/login.",
)
strawberry.enum(
    Platform, description="The client: the first sign-in from an app (IOS, ANDROID) earns a bonus."
)
