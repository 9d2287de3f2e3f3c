"""The leaf shortcut in the executor answers exactly what graphql-core's standard way answers."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.execution import LeafShortcutExecutionContext


@strawberry.enum
class Shade(enum.Enum):
    LIGHT = "light"


@strawberry.type
class Item:
    name: str
    count: int
    when: dt.date
    shade: Shade
    note: str | None
    # Lies about its type on purpose: a non-null field holding None, and an int field holding text.
    broken: str
    wrong: int

    @strawberry.field
    def shouted(self, times: int = 1) -> str:
        return self.name.upper() * times


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [
            Item(
                name="a", count=1, when=dt.date(2026, 1, 2), shade=Shade.LIGHT, note=None, broken="x", wrong=1
            ),
            Item(
                name="b",
                count=2,
                when=dt.date(2026, 3, 4),
                shade=Shade.LIGHT,
                note="n",
                broken=None,  # type: ignore[arg-type]
                wrong="many",  # type: ignore[arg-type]
            ),
        ]


def _run(execution_context_class: type, document: str) -> dict[str, Any]:
    schema = strawberry.Schema(query=Query, execution_context_class=execution_context_class)
    result = schema.execute_sync(document)
    return {
        "data": result.data,
        "errors": [(error.message, error.path) for error in result.errors or []],
    }


@pytest.mark.parametrize(
    "document",
    [
        "{ items { name count when shade note shouted(times: 2) } }",
        "{ items { name broken } }",
        "{ items { count wrong } }",
        "{ items { ... on Item { n: name, name } note @include(if: false) } }",
    ],
)
def test_the_shortcut_answers_like_the_standard_executor(document: str) -> None:
    shortcut = _run(LeafShortcutExecutionContext, document)
    standard = _run(StrawberryGraphQLCoreExecutionContext, document)
    assert shortcut == standard


def test_a_non_null_leaf_holding_null_is_still_an_error_at_its_path() -> None:
    answer = _run(LeafShortcutExecutionContext, "{ items { name broken } }")
    assert answer["data"] is None  # the null bubbles up to the nullable root
    [(message, path)] = answer["errors"]
    assert "Cannot return null for non-nullable field Item.broken" in message
    assert path == ["items", 1, "broken"]
