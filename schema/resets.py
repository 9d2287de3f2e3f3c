"""Forgotten PIN, password or user ID: a one-time code by e-mail, then a new secret (DOMAIN.md §1-2)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.errors import InputError


@strawberry.type(
    description="The request is taken. The answer is the same whether or not the details belong to a member, "
    "so it tells nobody who is enrolled; a member whose details match gets an e-mail."
)
class ResetRequested:
    message: str = strawberry.field(
        description="The same sentence whether or not the details matched a member."
    )


@strawberry.type(
    description="The new PIN or password is set: the sign-in lockout is lifted and every session has ended. "
    "Sign in again with the new one (and the authenticator app, if it is on)."
)
class ResetCompleted:
    message: str = strawberry.field(description="A sentence for people.")


CompleteResetResult = Annotated[ResetCompleted | InputError, strawberry.union("CompleteResetResult")]
