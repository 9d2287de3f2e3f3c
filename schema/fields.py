"""The field decorators of operations that answer typed results: ``mutation`` (every mutation) and
``result_field`` (a query whose answer is a union with typed errors). Both carry ``TypedErrors``, the one
place a domain error becomes its typed result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import strawberry
from strawberry.permission import BasePermission

from schema.errors import TypedErrors


def mutation(*, description: str, permission_classes: Sequence[type[BasePermission]] = ()) -> Any:
    return strawberry.mutation(
        description=description, permission_classes=list(permission_classes), extensions=[TypedErrors()]
    )


def result_field(*, description: str) -> Any:
    return strawberry.field(description=description, extensions=[TypedErrors()])
