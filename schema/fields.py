"""The field decorators of operations that answer typed results: ``mutation`` (every mutation) and
``result_field`` (a query whose answer is a union with typed errors). Both carry ``TypedErrors``, the one
place a domain error becomes its typed result. And ``at_hand``: a field's answer from memory, which the
engine may take without running the resolver."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any, Final

import strawberry
from strawberry.permission import BasePermission

from schema.errors import TypedErrors


def mutation(*, description: str, permission_classes: Sequence[type[BasePermission]] = ()) -> Any:
    return strawberry.mutation(
        description=description, permission_classes=list(permission_classes), extensions=[TypedErrors()]
    )


def result_field(*, description: str) -> Any:
    return strawberry.field(description=description, extensions=[TypedErrors()])


class Absent(Enum):
    """What an at-hand answer (``at_hand``) gives when the value is not in memory."""

    NOT_AT_HAND = "not at hand"


NOT_AT_HAND: Final = Absent.NOT_AT_HAND

AT_HAND = "milesgate.at_hand"
"""The metadata key of a field's at-hand answer (``at_hand``)."""


def at_hand(answer: Callable[..., object]) -> dict[str, object]:
    """A field's metadata: ``answer(source, **arguments)`` gives the field's value when it is already in
    memory (read ahead by a parent), else ``NOT_AT_HAND``.

    The engine (``gateway.graphql.engine.execution``) may call it instead of the field's resolver, without
    Strawberry's resolver wrappers, when the field has no permission classes and no field extensions and
    its arguments need no conversion (scalars, or null); with ``NOT_AT_HAND``, an exception or any other
    doubt, the resolver runs as usual. So ``answer`` must be a plain, synchronous read that changes
    nothing, and the resolver must answer the same value when ``answer`` has it (the resolver calls it).
    Its parameters are the field's arguments by their Python names, with the same defaults."""
    return {AT_HAND: answer}
