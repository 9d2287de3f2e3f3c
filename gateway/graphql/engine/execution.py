"""graphql-core's executor, with a short way through the plain parts of a result.

Most of a read is plain: objects whose selected fields only read attributes (an account number, a date,
an amount, an enum, a list of statement entries each holding a list of amounts). For each such field
graphql-core builds a resolve-info object (Strawberry's, with sixteen members), reads the arguments,
calls the resolver through two wrappers, walks ``complete_value``'s type checks and collects the
sub-selection again for each item of a list; those steps cost most of a dashboard's CPU, more than its
SQL.

Strawberry marks a field without a resolver, permission or field extension
(``StrawberryField.is_basic_field``) with a resolver that never looks at the info. A *plan* is the
completion of one type under one selection, compiled once per document: for a scalar or enum, coerce the
value for output; for a list, complete each item; for an object whose selected fields are all basic,
without arguments and without directives anywhere in its selection, build the dict by reading each
attribute and completing it by its own plan. A plan has no errors: any value it does not simply complete
(``None`` where null is not allowed, an exception, an awaitable, something that is not a list where a
list belongs, an object its type refuses, a value the scalar refuses) throws the plan away for that
value, and graphql-core's standard way completes it again from the start and reports the error exactly
as it would have, with its path. Doing a plain part twice is safe: it only reads attributes.

A field whose value a parent read ahead (``schema.fields.at_hand``: ``Member``'s card, balances, first
statement page, offers and miles expiring, which ``me`` reads in one statement) has a resolver all the
same, so it would pass Strawberry's resolver wrappers (argument conversion, extensions, ``await_maybe``)
to hand back a value already in memory. When such a field has no permission classes and no field
extensions and its arguments are scalars or null, the at-hand answer is called with the coerced
arguments instead and its value completed by its plan; ``NOT_AT_HAND``, an exception or an argument
Strawberry would convert leaves the field to its resolver.

Plans are kept per schema, keyed by the return type and the identity of the selection's field nodes
(held with the plan, so an identity is never reused while its plan lives); cached documents make every
request after the first one a hit. Nothing is planned while field middleware (a schema extension's
``resolve``) runs, since the middleware must see every field.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import GeneratorType
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    VariableNode,
    get_nullable_type,
)
from graphql.execution.collect_fields import FieldDetailsList, collect_fields, collect_subfields
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path
from graphql.type.scalars import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    serialize_boolean,
    serialize_int,
    serialize_string,
)
from strawberry import Schema
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.base import StrawberryMaybe
from strawberry.types.field import StrawberryField

from schema.fields import AT_HAND, NOT_AT_HAND

Complete = Callable[[Any], Any]
"""A plan: a resolved value → its completed (JSON-ready) value; raises ``_NotPlain`` or anything else to
hand the value to the standard way."""

PLANS_KEPT = 4096
"""Plans kept per schema before the cache starts over: far more than the selections of the documents
the edge's document cache holds."""


class _NotPlain(Exception):
    """The value is not simply completed: the standard way completes it."""


class ShortcutExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        middleware = self.middleware_manager
        self._shortcut = middleware is None or not middleware.middlewares
        self._planner = _planner(self.schema)
        self._plans: dict[tuple[int, int], tuple[FieldDetailsList, Complete | None]] = {}

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        if self._shortcut:
            answer = self._answer(parent_type, source, field_details_list)
            if answer is not _UNANSWERED:
                return answer
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def _answer(
        self, parent_type: GraphQLObjectType, source: Any, field_details_list: FieldDetailsList
    ) -> Any:
        """The field completed by its plan from a basic field's attribute or an at-hand answer, or
        ``_UNANSWERED`` (then the standard way resolves and completes it, and reports any error)."""
        details = field_details_list[0]
        name = details.node.name.value
        if not details.node.arguments:
            basic = self._planner.basic_field(parent_type, name)
            if basic is not None:
                read, return_type = basic
                plan = self._plan(return_type, field_details_list)
                if plan is None:
                    return _UNANSWERED
                try:
                    return plan(read(source))
                except Exception:
                    return _UNANSWERED
        held = self._planner.at_hand_field(parent_type, name)
        if held is None:
            return _UNANSWERED
        plan = self._plan(held.field_def.type, field_details_list)
        if plan is None:
            return _UNANSWERED
        try:
            arguments = get_argument_values(
                held.field_def,
                details.node,
                self.variable_values,
                details.fragment_variable_values,
                self.hide_suggestions,
            )
            value = held.answer(source, **held.python_arguments(arguments))
            return _UNANSWERED if value is NOT_AT_HAND else plan(value)
        except Exception:
            return _UNANSWERED

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if self._shortcut:
            plan = self._plan(return_type, field_details_list)
            if plan is not None:
                try:
                    return plan(result)
                except Exception:  # noqa: S110 - the standard way reports it, with its path
                    pass
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def _plan(self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList) -> Complete | None:
        key = (id(return_type), id(field_details_list))
        known = self._plans.get(key)
        if known is None:
            plan = self._planner.plan(return_type, field_details_list, self._collect)
            # The list is kept with its plan so that its identity is not reused during this request.
            known = self._plans[key] = (field_details_list, plan)
        return known[1]

    def _collect(self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList) -> Any:
        """The selection's fields grouped by response key, or None when it holds a directive or a
        fragment argument (then which fields are selected depends on the variables)."""
        if not all(self._static(details.node.selection_set) for details in field_details_list):
            return None
        collected = collect_subfields(
            self.schema,
            self.fragments,
            self.variable_values,
            self.operation,
            return_type,
            field_details_list,
        )
        return collected.grouped_field_set

    def _static(self, selection_set: SelectionSetNode | None, seen: frozenset[str] = frozenset()) -> bool:
        for selection in selection_set.selections if selection_set is not None else ():
            if selection.directives:
                return False
            if isinstance(selection, InlineFragmentNode):
                if not self._static(selection.selection_set, seen):
                    return False
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or getattr(selection, "arguments", None) or fragment.variable_signatures:
                    return False
                if name not in seen and not self._static(fragment.definition.selection_set, seen | {name}):
                    return False
        return True

    def root_field(self, schema: Schema) -> RootField | None:
        """The operation's one root field when the engine may call its resolver itself
        (``execute_root``), or None: see ``RootField``. Worked out once per document (the caller keeps
        it): it depends on the document and the schema only."""
        operation = self.operation
        query_type = self.schema.query_type
        if (
            operation.operation is not OperationType.QUERY
            or operation.variable_definitions
            or operation.directives
            or query_type is None
            or not self._shortcut
            or not self._static(operation.selection_set)
            or getattr(schema.schema_converter, "_exception_handler_specs", None) != ()
        ):
            return None
        collected = collect_fields(self.schema, self.fragments, self.variable_values, query_type, operation)
        if collected.new_defer_usages or len(collected.grouped_field_set) != 1:
            return None
        [(response_key, details)] = collected.grouped_field_set.items()
        nodes = [detail.node for detail in details]
        field_def = self.schema.get_field(query_type, nodes[0].name.value)
        field = (
            None if field_def is None else field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        )
        if (
            field_def is None
            or not isinstance(field, StrawberryField)
            or field.base_resolver is None
            or not field.is_async
            or field.extensions
            or field.arguments
            or field_def.args
            or any(node.arguments or node.directives for node in nodes)
            or self._plan(field_def.type, details) is None
        ):
            return None
        resolver = field.base_resolver
        return RootField(
            response_key=response_key,
            field_def=field_def,
            field=field,
            details=details,
            nodes=nodes,
            parent_type=query_type,
            info_class=schema.config.info_class,
            passes_self=resolver.self_parameter is not None,
            source_names=tuple(
                parameter.name
                for parameter in (resolver.parent_parameter, resolver.root_parameter)
                if parameter is not None
            ),
            info_name=None if resolver.info_parameter is None else resolver.info_parameter.name,
        )

    async def execute_root(self, root: RootField) -> ExecutionResult:
        """The operation's result, its one root field's resolver called as Strawberry calls it (no
        arguments, no extensions) and its value completed as graphql-core's ``execute_field`` does:
        by its plan, or the standard way, an error located and propagated as graphql-core does."""
        path = Path(None, root.response_key, root.parent_type.name)
        return_type = root.field_def.type
        info = self.build_resolve_info(root.field_def, root.nodes, root.parent_type, path)
        data: dict[str, Any] | None
        try:
            try:
                value = root.call(self.root_value, info)
                if self.is_awaitable(value):
                    value = await value
                completed = self.complete_value(return_type, root.details, info, path, value, None)
                if self.is_awaitable(completed):
                    completed = await completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, root.details, path)  # raises when non-null
                completed = None
            data = {root.response_key: completed}
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            data = None
        result = self.build_response(data)
        assert isinstance(result, ExecutionResult)  # an executor without incremental delivery
        return result


@dataclass(frozen=True, slots=True)
class RootField:
    """A query's only root field, when graphql-core's ``execute`` would do no more than call its
    resolver through Strawberry's wrappers and complete its value: the operation has no variables and no
    directives, its selection holds no directive and no fragment argument, and the field is Strawberry's
    with an async resolver of its own, no arguments, no field extensions (permission classes are
    extensions) and no exception handler, and its completion is planned. ``execute_root`` then runs it
    without graphql-core's operation, root collection and field execution or Strawberry's resolver
    wrappers, each of which costs more than the work it does for such a field."""

    response_key: str
    field_def: GraphQLField
    field: StrawberryField
    details: FieldDetailsList
    nodes: list[FieldNode]
    parent_type: GraphQLObjectType
    info_class: type[Any]
    passes_self: bool
    """The resolver takes ``self`` (the root value), as Strawberry's ``get_arguments`` passes it."""
    source_names: tuple[str, ...]
    """The resolver's ``parent`` and ``root`` parameters, which get the root value."""
    info_name: str | None

    def call(self, source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        kwargs: dict[str, Any] = dict.fromkeys(self.source_names, source)
        if self.info_name is not None:
            kwargs[self.info_name] = self.info_class(_raw_info=info, _field=self.field)
        args = [source] if self.passes_self else []
        return self.field.get_result(source, info=None, args=args, kwargs=kwargs)


Collect = Callable[[GraphQLObjectType, FieldDetailsList], Any]
BasicField = tuple[Callable[[Any], Any], GraphQLOutputType]
"""A basic field's attribute read and its return type."""

_UNANSWERED: Any = object()
"""``_answer``'s word for "the standard way answers this field"."""


@dataclass(frozen=True, slots=True)
class AtHandField:
    """A field with an at-hand answer (``schema.fields.at_hand``) the engine may call instead of its
    resolver: no permission classes, no field extensions."""

    field_def: GraphQLField
    answer: Callable[..., Any]
    python_names: dict[str, str]
    """Each argument's GraphQL name → its Python name."""
    plain: frozenset[str]
    """The arguments (GraphQL names) whose values Strawberry hands over unconverted: scalars."""

    def python_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The coerced arguments by Python name; ``_NotPlain`` for a value Strawberry would convert
        (an enum, a list or an input object that is not null)."""
        converted = {}
        for name, value in arguments.items():
            if value is not None and name not in self.plain:
                raise _NotPlain
            converted[self.python_names[name]] = value
        return converted


class _Planner:
    """The plans of one schema, and which of its fields are basic."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self._fields: dict[tuple[str, str], tuple[BasicField | None, AtHandField | None]] = {}
        self._plans: dict[tuple[int, tuple[int, ...]], tuple[tuple[FieldNode, ...], Complete | None]] = {}
        self._settled: dict[type, bool] = {}

    def basic_field(self, parent_type: GraphQLObjectType, field_name: str) -> BasicField | None:
        return self._field(parent_type, field_name)[0]

    def at_hand_field(self, parent_type: GraphQLObjectType, field_name: str) -> AtHandField | None:
        return self._field(parent_type, field_name)[1]

    def _field(
        self, parent_type: GraphQLObjectType, field_name: str
    ) -> tuple[BasicField | None, AtHandField | None]:
        """What the short way may do with a field: read its attribute (a basic field), or take its at-hand
        answer; worked out once per field."""
        key = (parent_type.name, field_name)
        known = self._fields.get(key)
        if known is None:
            field_def = self.schema.get_field(parent_type, field_name)
            known = (None, None) if field_def is None else (_basic(field_def), _at_hand(field_def))
            self._fields[key] = known
        return known

    def plan(
        self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList, collect: Collect
    ) -> Complete | None:
        nodes = tuple(details.node for details in field_details_list)
        key = (id(return_type), tuple(id(node) for node in nodes))
        known = self._plans.get(key)
        if known is not None and all(a is b for a, b in zip(known[0], nodes, strict=True)):
            return known[1]
        # A directive on the field itself may change how its value completes (``@stream`` on a list).
        directed = any(node.directives for node in nodes)
        plan = None if directed else self._compile(return_type, field_details_list, collect)
        if len(self._plans) >= PLANS_KEPT:
            self._plans.clear()
        self._plans[key] = (nodes, plan)
        return plan

    def _compile(
        self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList, collect: Collect
    ) -> Complete | None:
        if isinstance(return_type, GraphQLNonNull):
            inner = self._compile(return_type.of_type, field_details_list, collect)
            return None if inner is None else self._non_null(inner)
        if isinstance(return_type, GraphQLList):
            item = self._compile(return_type.of_type, field_details_list, collect)
            return None if item is None else self._list(item)
        if isinstance(return_type, GraphQLScalarType | GraphQLEnumType):
            return self._leaf(return_type)
        if isinstance(return_type, GraphQLObjectType):
            return self._object(return_type, field_details_list, collect)
        return None  # an interface or a union: the standard way finds the object type

    def _settle(self, value: Any) -> None:
        """Refuse an exception or an awaitable: the standard way raises or awaits it."""
        kind = type(value)
        settled = self._settled.get(kind)
        if settled is None:
            settled = self._settled[kind] = not issubclass(kind, BaseException | Awaitable | GeneratorType)
        if not settled:
            raise _NotPlain

    def _non_null(self, inner: Complete) -> Complete:
        def complete(value: Any) -> Any:
            if value is None:
                raise _NotPlain
            return inner(value)

        return complete

    def _list(self, item: Complete) -> Complete:
        def complete(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is not list and type(value) is not tuple:
                raise _NotPlain
            return [item(entry) for entry in value]

        return complete

    def _leaf(self, leaf_type: GraphQLScalarType | GraphQLEnumType) -> Complete:
        coerce = leaf_type.coerce_output_value
        settle = self._settle
        # The values graphql-core's own String, Int and Boolean hand back as they are
        same = _SERIALIZED_AS_IS.get(getattr(leaf_type, "serialize", None), _never)

        def complete(value: Any) -> Any:
            if value is None:
                return None
            if same(value):
                return value
            settle(value)
            coerced = coerce(value)
            if coerced is None or coerced is Undefined:
                raise _NotPlain
            return coerced

        return complete

    def _read(
        self, object_type: GraphQLObjectType, field_name: str, sub_details: FieldDetailsList
    ) -> BasicField | None:
        """How a plan reads one selected field from its parent value: a basic field's attribute, or an
        at-hand answer called with the field's arguments when they are all written in the document (no
        variable: the plan is kept for every request of the document); None: not planned."""
        nodes = [details.node for details in sub_details]
        if not any(node.arguments for node in nodes):
            basic = self.basic_field(object_type, field_name)
            if basic is not None:
                return basic
        held = self.at_hand_field(object_type, field_name)
        if held is None or any(_has_variable(node) for node in nodes):
            return None
        try:
            arguments = held.python_arguments(get_argument_values(held.field_def, nodes[0]))
        except Exception:
            return None  # an argument the resolver takes, or one graphql-core reports at execution
        answer = held.answer

        def read(source: Any) -> Any:
            value = answer(source, **arguments)
            if value is NOT_AT_HAND:
                raise _NotPlain
            return value

        return read, held.field_def.type

    def _object(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList, collect: Collect
    ) -> Complete | None:
        definition = object_type.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if object_type.is_type_of is not None and getattr(definition, "is_type_of", None) is not None:
            return None  # a hand-written is_type_of may read the info a plan does not have
        grouped = collect(object_type, field_details_list)
        if grouped is None:
            return None
        fields: list[tuple[str, Callable[[Any], Any], Complete]] = []
        for response_key, sub_details in grouped.items():
            field_name = sub_details[0].node.name.value
            if field_name == "__typename":
                fields.append((response_key, _constant(object_type.name), _same))
                continue
            found = self._read(object_type, field_name, sub_details)
            if found is None:
                return None
            read, field_type = found
            plan = self.plan(field_type, sub_details, collect)
            if plan is None:
                return None
            fields.append((response_key, read, plan))
        is_type_of = object_type.is_type_of
        settle = self._settle

        def complete(value: Any) -> Any:
            if value is None:
                return None
            settle(value)
            # Strawberry's own is_type_of (the only kind planned) never reads the info
            if is_type_of is not None and is_type_of(value, None) is not True:  # type: ignore[arg-type]
                raise _NotPlain
            return {key: plan(read(value)) for key, read, plan in fields}

        return complete


def _basic(field_def: GraphQLField) -> BasicField | None:
    """A field that only reads an attribute (Strawberry's basic field), or None."""
    resolve = field_def.resolve
    field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    # Strawberry marks its resolver ``_is_default`` for any field without a resolver of its own, even
    # one with permission classes or field extensions; only a basic field has neither.
    if resolve is None or not isinstance(field, StrawberryField) or not field.is_basic_field:
        return None
    if not getattr(resolve, "_is_default", False):
        return None
    if field.default_resolver is getattr:
        return operator.attrgetter(field.python_name), field_def.type

    def read(source: Any) -> Any:
        value = resolve(source, None)  # a basic field never reads the info
        if inspect.iscoroutine(value):
            value.close()  # the standard way calls the resolver again and awaits that
            raise _NotPlain
        return value

    return read, field_def.type


def _at_hand(field_def: GraphQLField) -> AtHandField | None:
    """The field's at-hand answer, when it has one and nothing else must run around its resolver."""
    field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(field, StrawberryField) or field.permission_classes or field.extensions:
        return None
    answer = field.metadata.get(AT_HAND)
    if not callable(answer):
        return None
    python_names: dict[str, str] = {}
    plain = set()
    for name, argument in field_def.args.items():
        declared = argument.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if not isinstance(declared, StrawberryArgument):
            return None  # an argument Strawberry did not declare: the resolver takes them
        python_names[name] = declared.python_name
        # Strawberry hands a scalar's coerced value over as it is, but for a ``Maybe`` (wrapped in
        # ``Some``) and an ``ID`` (a relay ``GlobalID`` is decoded)
        scalar = get_nullable_type(argument.type)
        if (
            isinstance(scalar, GraphQLScalarType)
            and scalar.name != "ID"
            and not isinstance(declared.type, StrawberryMaybe)
        ):
            plain.add(name)
    return AtHandField(field_def=field_def, answer=answer, python_names=python_names, plain=frozenset(plain))


def _never(_value: Any) -> bool:
    return False


_SERIALIZED_AS_IS: dict[Any, Callable[[Any], bool]] = {
    serialize_string: lambda value: type(value) is str,
    serialize_int: lambda value: type(value) is int and GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT,
    serialize_boolean: lambda value: type(value) is bool,
}
"""graphql-core's serializers of its String, Int and Boolean, and the values each returns unchanged."""


def _has_variable(node: FieldNode) -> bool:
    """Whether any argument of the field refers to a variable, at any depth."""
    stack: list[Any] = [argument.value for argument in node.arguments or ()]
    while stack:
        value = stack.pop()
        if isinstance(value, VariableNode):
            return True
        stack.extend(getattr(value, "values", None) or ())  # a list
        stack.extend(field.value for field in getattr(value, "fields", None) or ())  # an input object
    return False


def _constant(value: str) -> Callable[[Any], str]:
    return lambda _source: value


def _same(value: Any) -> Any:
    return value


def _planner(schema: GraphQLSchema) -> _Planner:
    """The schema's planner, made on first use."""
    planner: _Planner | None = getattr(schema, _PLANNER_ATTRIBUTE, None)
    if planner is None:
        planner = _Planner(schema)
        setattr(schema, _PLANNER_ATTRIBUTE, planner)
    return planner


_PLANNER_ATTRIBUTE = "_milesgate_planner"
