"""Who may ask: the signed-in member, a freshly signed-in one (step-up), an operator."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission

from loyalty.members.models import SessionLevel
from loyalty.members.sessions import Principal
from schema.context import Context
from schema.errors import NotAuthenticated, StepUpRequired


def signed_in(context: Context) -> Principal:
    """The signed-in member; a request without one gets NotAuthenticated (UNAUTHENTICATED)."""
    if context.principal is None:
        raise NotAuthenticated()
    return context.principal


class StepUp(BasePermission):
    """Redeeming, profile, card and pooling changes need an AUTHENTICATED session (fresh credentials).

    Signed out: NotAuthenticated, as for every member field. Signed in at IDENTIFIED (after a refresh):
    not an error but the typed ``StepUpRequired`` answer every such mutation's union holds."""

    message = "Sign in again (with your second factor) to do this."

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return signed_in(info.context).level is SessionLevel.AUTHENTICATED

    def on_unauthorized(self) -> Any:
        # Strawberry's permission extension answers the field with what this returns.
        return StepUpRequired.authenticated()


class IsOperator(BasePermission):
    """Admin operations need an operator token (``milesgate operators token``); a member's token never is one."""

    message = "Only operators may do this."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return getattr(info.context, "operator", None) is not None
