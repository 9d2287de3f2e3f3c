"""Root types joined from the domain rooms' parts: what ``schema/root.py`` (the member schema) and
``schema/admin/root.py`` (the operators' schema) are made of."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import strawberry


def joined(name: str, description: str, parts: Sequence[type]) -> Any:
    """One root type with every part's fields (each part a ``strawberry.type``); a field name two parts
    share is a mistake, refused here rather than one silently winning."""
    seen: dict[str, str] = {}
    for part in parts:
        for field in part.__strawberry_definition__.fields:  # type: ignore[attr-defined]
            if field.name in seen:
                raise TypeError(f"{name}.{field.name} is defined by {seen[field.name]} and {part.__name__}")
            seen[field.name] = part.__name__
    return strawberry.type(type(name, tuple(parts), {}), description=description)
