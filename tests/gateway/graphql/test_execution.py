"""The executor's short way through plain parts answers exactly what graphql-core's standard way answers."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from typing import Any

import pytest
import strawberry
from strawberry.extensions import FieldExtension, ParserCache
from strawberry.permission import BasePermission
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.graphql.engine import ShortcutExecutionContext
from gateway.graphql.serving import execution_context_class
from schema.fields import NOT_AT_HAND, Absent, at_hand

RESOLVED: list[str] = []
"""The at-hand fields whose resolver ran, in order (emptied by the tests that read it)."""


@strawberry.enum
class Shade(enum.Enum):
    LIGHT = "light"


class Deny(BasePermission):
    message = "denied"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


class Shout(FieldExtension):
    def resolve(self, next_: Callable[..., Any], source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        return str(next_(source, info, **kwargs)).upper()


@strawberry.type
class Part:
    label: str
    weight: int | None


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Item(Named):
    name: str
    count: int
    when: dt.date
    shade: Shade
    note: str | None
    # Lies about its type on purpose: a non-null field holding None, and an int field holding text.
    broken: str
    wrong: int
    parts: list[Part]
    # Fields without a resolver of their own, with a permission or an extension: never plain.
    secret: str = strawberry.field(default="s", permission_classes=[Deny])
    loud: str = strawberry.field(default="hi", extensions=[Shout()])
    # A list field holding something that is not a list, and a nested non-null field holding None.
    odd_parts: list[Part]

    @strawberry.field
    def shouted(self, times: int = 1) -> str:
        return self.name.upper() * times

    # Fields with an at-hand answer: the first parts, when there are that many (else the resolver gives all)
    def _first_parts_at_hand(self, first: int = 1, shade: Shade | None = None) -> list[Part] | Absent:
        return self.parts[:first] if first <= len(self.parts) and shade is None else NOT_AT_HAND

    @strawberry.field(metadata=at_hand(_first_parts_at_hand))
    def first_parts(self, first: int = 1, shade: Shade | None = None) -> list[Part]:
        RESOLVED.append("firstParts")
        found = self._first_parts_at_hand(first, shade)
        return self.parts if found is NOT_AT_HAND else found

    # ... and the same with a permission or an extension, which must still run
    @strawberry.field(metadata=at_hand(lambda item: item.name), permission_classes=[Deny])
    def guarded_name(self) -> str:
        RESOLVED.append("guardedName")
        return self.name

    @strawberry.field(metadata=at_hand(lambda item: item.name), extensions=[Shout()])
    def loud_name(self) -> str:
        RESOLVED.append("loudName")
        return self.name


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return _items()

    @strawberry.field
    def named(self) -> list[Named]:
        return list(_items())

    @strawberry.field
    def tuple_parts(self) -> list[Part]:
        return (Part(label="t", weight=None),)  # type: ignore[return-value]


def _items() -> list[Item]:
    return [
        Item(
            name="a",
            count=1,
            when=dt.date(2026, 1, 2),
            shade=Shade.LIGHT,
            note=None,
            broken="x",
            wrong=1,
            parts=[Part(label="p", weight=1), Part(label="q", weight=None)],
            # beyond GraphQL's 32-bit Int, and a bool where an int belongs (graphql-core answers 1)
            odd_parts=[
                Part(label="r", weight=2),
                Part(label="big", weight=2**31),
                Part(label="yes", weight=True),
            ],
        ),
        Item(
            name="b",
            count=2,
            when=dt.date(2026, 3, 4),
            shade=Shade.LIGHT,
            note="n",
            broken=None,  # type: ignore[arg-type]
            wrong="many",  # type: ignore[arg-type]
            parts=[],
            odd_parts=[Part(label=None, weight=3)],  # type: ignore[arg-type]
        ),
    ]


@pytest.fixture
def executor(graphql_fast_path: bool) -> type | None:
    """The executor the service runs with: the engine's, or (fast path off) Strawberry's stock one."""
    return execution_context_class(graphql_fast_path)


def _run(executor: type | None, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    schema = strawberry.Schema(query=Query, execution_context_class=executor)
    result = schema.execute_sync(document, variable_values=variables)
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
        "{ items { __typename name parts { __typename label weight w: weight } } }",
        "{ items { parts { ...P } } } fragment P on Part { label ... on Part { weight } }",
        "{ items { oddParts { label weight } } }",
        "{ named { __typename name ... on Item { count parts { label } } } }",
        "{ tupleParts { label weight } }",
        "{ items { name secret } }",
        "{ items { name loud } }",
        "query Q($on: Boolean!) { items { parts { label weight @include(if: $on) } } }",
        "query Q($on: Boolean!) { items { parts { ...P @skip(if: $on) } } } fragment P on Part { weight }",
        "{ items { firstParts { label } two: firstParts(first: 2) { label weight } } }",
        "{ items { name firstParts(first: 5) { label } } }",
        "{ items { firstParts(first: 1, shade: LIGHT) { label } } }",
        "{ items { firstParts(first: 1, shade: null) { __typename label } } }",
        "query Q($on: Boolean!) { items { firstParts(first: 2) { label weight @include(if: $on) } } }",
        "{ items { name guardedName } }",
        "{ items { name loudName } }",
    ],
)
@pytest.mark.parametrize("on", [True, False])
def test_the_shortcut_answers_like_the_standard_executor(
    document: str, on: bool, executor: type | None
) -> None:
    variables = {"on": on} if "$on" in document else None
    shortcut = _run(executor, document, variables)
    standard = _run(StrawberryGraphQLCoreExecutionContext, document, variables)
    assert shortcut == standard
    assert shortcut["data"] is not None or shortcut["errors"]


def test_a_plan_is_made_once_per_document_and_serves_the_next_requests() -> None:
    parser_cache = ParserCache()  # one for every request: the same text gives the same document
    schema = strawberry.Schema(
        query=Query, execution_context_class=ShortcutExecutionContext, extensions=[lambda: parser_cache]
    )
    document = "query Q($on: Boolean!) { items { name parts { label weight @include(if: $on) } } }"

    def parts(on: bool) -> Any:
        result = schema.execute_sync(document, variable_values={"on": on})
        assert result.errors is None
        return result.data["items"][0]["parts"]  # type: ignore[index]

    def plans() -> int:
        return len(schema._schema._milesgate_planner._plans)  # type: ignore[attr-defined]

    assert parts(True) == [{"label": "p", "weight": 1}, {"label": "q", "weight": None}]
    kept = plans()
    made = schema._schema._milesgate_planner._plans.values()  # type: ignore[attr-defined]
    assert any(plan is not None for _nodes, plan in made)  # the name, at least, is planned
    assert parts(False) == [{"label": "p"}, {"label": "q"}]  # the variable still decides
    assert parts(True)[0] == {"label": "p", "weight": 1}
    assert plans() == kept  # the same document: nothing new to plan


def test_a_non_null_leaf_holding_null_is_still_an_error_at_its_path(executor: type | None) -> None:
    answer = _run(executor, "{ items { name broken } }")
    assert answer["data"] is None  # the null bubbles up to the nullable root
    [(message, path)] = answer["errors"]
    assert "Cannot return null for non-nullable field Item.broken" in message
    assert path == ["items", 1, "broken"]


async def test_a_streamed_list_is_left_to_the_standard_way(executor: type | None) -> None:
    async def run(execution_context_class: type | None) -> Any:
        schema = strawberry.Schema(
            query=Query,
            execution_context_class=execution_context_class,
            config=StrawberryConfig(enable_experimental_incremental_execution=True),
        )
        return await schema.execute("{ items { name parts @stream(initialCount: 1) { label } } }")

    shortcut = await run(executor)
    standard = await run(StrawberryGraphQLCoreExecutionContext)
    assert type(shortcut) is type(standard)
    assert shortcut.initial_result.data == standard.initial_result.data
    assert shortcut.initial_result.data["items"][0]["parts"] == [{"label": "p"}]  # the rest comes later


@pytest.mark.parametrize(
    ("document", "variables", "resolved"),
    [
        # item a's answer is at hand; item b has no parts, so its answer is not and its resolver runs
        ("{ items { firstParts { label } } }", None, ["firstParts"]),
        ("query Q($n: Int!) { items { firstParts(first: $n) { label } } }", {"n": 2}, ["firstParts"]),
        (
            "{ items { a: firstParts(first: 1) { label } b: firstParts(first: 2) { label } } }",
            None,
            ["firstParts"] * 2,
        ),
        ("{ items { firstParts(first: 3) { label } } }", None, ["firstParts", "firstParts"]),
        # an enum argument is converted by Strawberry: the resolver takes it
        ("{ items { firstParts(shade: LIGHT) { label } } }", None, ["firstParts", "firstParts"]),
        # a directive on the field: the standard way
        ("{ items { firstParts @include(if: true) { label } } }", None, ["firstParts", "firstParts"]),
        ("{ items { guardedName } }", None, []),  # denied before its resolver runs, as without the shortcut
        ("{ items { loudName } }", None, ["loudName", "loudName"]),
    ],
)
def test_an_at_hand_answer_stands_in_for_the_resolver_only_where_nothing_else_must_run(
    document: str, variables: dict[str, Any] | None, resolved: list[str]
) -> None:
    RESOLVED.clear()
    shortcut = _run(ShortcutExecutionContext, document, variables)
    taken = list(RESOLVED)
    standard = _run(StrawberryGraphQLCoreExecutionContext, document, variables)
    assert shortcut == standard
    assert taken == resolved


def test_an_object_whose_fields_are_all_at_hand_is_completed_by_one_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With its arguments written in the document, an at-hand field is part of its parent's plan: the
    items complete without a field-by-field pass; with a variable, each field is answered on its own."""
    answered: list[str] = []
    real = ShortcutExecutionContext._answer

    def recording(self: ShortcutExecutionContext, parent_type: Any, source: Any, details: Any) -> Any:
        answered.append(details[0].node.name.value)
        return real(self, parent_type, source, details)

    monkeypatch.setattr(ShortcutExecutionContext, "_answer", recording)
    RESOLVED.clear()
    planned = _run(ShortcutExecutionContext, "{ items { name firstParts(first: 0) { label } } }")
    assert planned["data"] == {"items": [{"name": "a", "firstParts": []}, {"name": "b", "firstParts": []}]}
    assert answered == ["items"] and RESOLVED == []

    answered.clear()
    document = "query Q($n: Int!) { items { name firstParts(first: $n) { label } } }"
    assert _run(ShortcutExecutionContext, document, {"n": 0}) == planned
    assert answered.count("firstParts") == 2 and RESOLVED == []


@strawberry.type
class RootQuery:
    """Root fields for the engine's root path (``ShortcutExecutionContext.execute_root``)."""

    @strawberry.field
    async def item(self) -> Item:
        return _items()[0]

    @strawberry.field
    async def broken_item(self) -> Item:
        return _items()[1]  # its ``broken`` holds None: the plan refuses it, the standard way reports it

    @strawberry.field
    async def failing(self) -> Item:
        raise ValueError("no item today")

    @strawberry.field
    async def maybe_failing(self) -> Item | None:
        raise ValueError("no item either")

    @strawberry.field
    async def nothing(self) -> Item | None:
        return None

    @strawberry.field
    async def field_name(self, info: strawberry.Info) -> str:
        return f"{info.field_name} at {info.path.key}"

    @strawberry.field(permission_classes=[Deny])
    async def guarded(self) -> Item:
        return _items()[0]

    @strawberry.field
    async def counted(self, times: int = 1) -> str:
        return "x" * times

    @strawberry.field
    def plain(self) -> str:
        return "sync"


def _root_schema(executor: type | None) -> strawberry.Schema:
    return strawberry.Schema(query=RootQuery, execution_context_class=executor)


async def _by_root_path(document: str) -> tuple[dict[str, Any], bool]:
    """The document's answer through ``execute_root`` where its root allows it (else graphql-core's
    ``execute``), and whether it did."""
    from graphql import parse

    schema = _root_schema(ShortcutExecutionContext)
    parsed = parse(document)
    built = ShortcutExecutionContext.build(schema._schema, parsed)
    assert isinstance(built, ShortcutExecutionContext)
    root = built.root_field(schema)
    result = await built.execute_root(root) if root is not None else await schema.execute(document)
    answer = {"data": result.data, "errors": [(error.message, error.path) for error in result.errors or []]}
    return answer, root is not None


@pytest.mark.parametrize(
    ("document", "taken"),
    [
        ("{ item { name count when shade note parts { label weight } } }", True),
        ("query Named { renamed: item { name } }", True),
        ("{ item { ...F } } fragment F on Item { name ... on Item { count } }", True),
        ("{ brokenItem { name broken } }", True),  # a non-null leaf holding null: the error at its path
        ("{ failing { name } }", True),  # a non-null root field failing: data null
        ("{ maybeFailing { name } }", True),  # a nullable one: data with null, the error at its path
        ("{ nothing { name } }", True),
        ("{ fieldName }", True),  # the resolver gets Strawberry's info, as through graphql-core
        ("{ a: fieldName }", True),
        ("{ guarded { name } }", False),  # a permission class: graphql-core and Strawberry's wrappers
        ("{ counted }", False),  # a field with arguments
        ("{ counted(times: 2) }", False),
        ("{ plain }", False),  # a resolver that is not async
        ("{ item { name } plain }", False),  # two root fields
        ("{ item @include(if: true) { name } }", False),  # a directive
        ("query Q($on: Boolean!) { item { name @include(if: $on) } }", False),  # variables
        ("{ __typename }", False),
    ],
)
async def test_a_query_s_one_root_field_is_run_by_the_engine_and_answers_as_graphql_core_does(
    document: str, taken: bool
) -> None:
    variables = {"on": True} if "$on" in document else None
    standard = await _root_schema(StrawberryGraphQLCoreExecutionContext).execute(
        document, variable_values=variables
    )
    expected = {
        "data": standard.data,
        "errors": [(error.message, error.path) for error in standard.errors or []],
    }
    if variables is None:
        answer, took = await _by_root_path(document)
        assert took is taken
        assert answer == expected
    else:
        assert not taken
    assert expected["data"] is not None or expected["errors"]
