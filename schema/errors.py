"""Typed errors shared by every domain's results (Saleor style: returned, not raised), and the one place
where a ``DomainError`` becomes one: the ``TypedErrors`` field extension every mutation carries.

A result type that stands for particular domain errors names them in ``domain_errors`` and builds itself
with ``from_domain``; ``TypedErrors`` answers the most specific one the field's union holds, else
``InputError`` when the union holds it, else lets the error through as a GraphQL error.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import FieldExtension
from strawberry.types.field import StrawberryField
from strawberry.types.union import StrawberryUnion
from strawberry.utils.str_converters import to_camel_case

from loyalty.errors import DomainError
from schema.enums import SessionLevel

STEP_UP_MESSAGE = "Sign in again (with your second factor) to do this."


@strawberry.type(description="Input that breaks a programme rule. Nothing was changed.")
class InputError:
    code: str = strawberry.field(description="Machine-readable reason, e.g. PIN_TOO_SIMPLE or EMAIL_TAKEN.")
    field: str | None = strawberry.field(description="The input field concerned, if one is.")
    message: str = strawberry.field(description="A sentence for people.")

    @classmethod
    def from_domain(cls, error: DomainError) -> InputError:
        return cls(code=error.code, field=error.field, message=error.message)


@strawberry.type(
    description="This needs a fresh sign-in (AUTHENTICATED): redeeming, profile changes, pooling, account linking."
)
class StepUpRequired:
    message: str = strawberry.field(description="A sentence for people.")
    required_level: SessionLevel = strawberry.field(description="The session level this needs.")

    @classmethod
    def authenticated(cls) -> StepUpRequired:
        return cls(message=STEP_UP_MESSAGE, required_level=SessionLevel.AUTHENTICATED)


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


def field_error(error: DomainError, field: str | None = None) -> GraphQLError:
    """A refused argument of a field that is not a mutation (a page size, a cursor): a GraphQL error whose
    ``extensions`` carry the code and the argument (camelCase)."""
    named = field or (to_camel_case(error.field) if error.field else None)
    return GraphQLError(error.message, extensions={"code": error.code, "field": named})


def _result_types(field: StrawberryField) -> tuple[type, ...]:
    kind = field.type
    if isinstance(kind, StrawberryUnion):
        return tuple(member for member in kind.types if isinstance(member, type))
    return ()


class TypedErrors(FieldExtension):
    """Every mutation's ``DomainError`` as the typed result its union offers for it."""

    def apply(self, field: StrawberryField) -> None:
        self.field = field
        self._types: tuple[type, ...] | None = None

    def _typed(self, error: DomainError) -> object:
        if self._types is None:
            self._types = _result_types(self.field)
        for cause in type(error).__mro__:
            for result in self._types:
                if cause in getattr(result, "domain_errors", ()):
                    return result.from_domain(error)  # type: ignore[attr-defined]
        if InputError in self._types:
            return InputError.from_domain(error)
        raise error

    def resolve(self, next_: Callable[..., Any], source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        try:
            return next_(source, info, **kwargs)
        except DomainError as error:
            return self._typed(error)

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        try:
            result = next_(source, info, **kwargs)
            return await result if inspect.isawaitable(result) else result
        except DomainError as error:
            return self._typed(error)
