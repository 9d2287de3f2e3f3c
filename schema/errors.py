"""Typed errors shared by every domain's results (Saleor style: returned, not raised)."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from loyalty.errors import DomainError


@strawberry.type(description="Input that breaks a programme rule. Nothing was changed.")
class InputError:
    code: str = strawberry.field(description="Machine-readable reason, e.g. PIN_TOO_SIMPLE or EMAIL_TAKEN.")
    field: str | None = strawberry.field(description="The input field concerned, if one is.")
    message: str = strawberry.field(description="A sentence for people.")

    @classmethod
    def from_domain(cls, error: DomainError) -> InputError:
        return cls(code=error.code, field=error.field, message=error.message)


class NotAuthenticated(GraphQLError):
    """Raised where a field needs a signed-in member and the request has none."""

    def __init__(self) -> None:
        super().__init__("Sign in to see this.", extensions={"code": "UNAUTHENTICATED"})


class NotYours(GraphQLError):
    """Raised where a request names another member's data (a federation entity reference, say).

    The same answer whether the data exists or not, so it tells nothing about other members."""

    def __init__(self) -> None:
        super().__init__(
            "Only the signed-in member's own data can be read.", extensions={"code": "FORBIDDEN"}
        )
