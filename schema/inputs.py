"""Mutations take one ``input:`` object. A mutation that took scalar arguments keeps them, optional and
deprecated, beside its new ``input`` argument, so clients built against the older schema go on working:
``input`` wins when both are given, and the old arguments are read only without it (``from_arguments``).
Neither: ``INPUT_REQUIRED``, a GraphQL error naming ``input`` (the call names no operation to answer a
typed result for)."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.types.arguments import StrawberryArgumentAnnotation
from strawberry.utils.str_converters import to_camel_case

InputT = TypeVar("InputT")


def old_argument(description: str, *, field: str) -> StrawberryArgumentAnnotation:
    """A scalar argument kept for older clients: its value now goes in ``input.<field>``."""
    return strawberry.argument(
        description=description, deprecation_reason=f"Pass input: {{{field}: …}} instead."
    )


def _required(kind: type[Any]) -> list[str]:
    return [
        field.name
        for field in dataclasses.fields(kind)
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    ]


def from_arguments(kind: type[InputT], given: InputT | None, /, **arguments: Any) -> InputT:
    """``given`` (the ``input`` argument), else the input object the deprecated scalar arguments spell
    (those left out keep the input's defaults); INPUT_REQUIRED when neither carries a required field."""
    if given is not None:
        return given
    missing = [name for name in _required(kind) if arguments.get(name) is None]
    if missing:
        names = ", ".join(to_camel_case(name) for name in missing)
        raise GraphQLError(
            f"Pass input: {{…}} (it lacks {names}).", extensions={"code": "INPUT_REQUIRED", "field": "input"}
        )
    return kind(**{name: value for name, value in arguments.items() if value is not None})
