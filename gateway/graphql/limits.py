"""What one GraphQL document may ask for, as validation rules: its size once its fragments are spread,
its depth and aliases, its cost, directives and mutations; and no fragment spread within itself.

Each rule reports one error per kind with a machine-readable code. None of them follows a spread: each
fragment is summarised once, after those it spreads (``schema.selections.FragmentGraph``), so validating a
document costs time linear in its size even when it expands to 2^n paths (issue 18).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    ASTValidationRule,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from graphql.utilities import type_from_ast

from schema.selections import (
    Expansion,
    FragmentGraph,
    expansion,
    fragment_expansions,
    operations_of,
    root_field_counts,
    saturated,
)

PAGE_ARGUMENTS = ("first", "last")


def operation_label(operation: OperationDefinitionNode) -> str:
    return operation.name.value if operation.name else "anonymous"


def expansion_rule(*, max_selections: int, max_depth: int, max_aliases: int) -> type[ASTValidationRule]:
    """Refuse a fragment spread within itself (``FRAGMENT_CYCLE``; graphql-core's ``NoFragmentCyclesRule``
    says the same without a code), an operation that expands to more than ``max_selections`` selections
    (``QUERY_TOO_LARGE``) or nests fields deeper than ``max_depth`` (``QUERY_TOO_DEEP``; introspection
    fields' insides not counted), and a document with more than ``max_aliases`` aliases once its fragments
    are spread (``TOO_MANY_ALIASES``)."""

    class ExpansionRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: object) -> None:
            graph = FragmentGraph(node)
            for name in graph.cyclic:
                self.report_error(
                    GraphQLError(
                        f"Cannot spread fragment '{name}' within itself.",
                        graph.fragments[name],
                        extensions={"code": "FRAGMENT_CYCLE"},
                    )
                )
            if graph.cyclic:
                return
            expanded = fragment_expansions(graph)
            aliases = 0
            for operation in operations_of(node):
                shape = expansion(operation.selection_set, expanded)
                aliases = saturated(aliases + shape.aliases)
                self.check_operation(operation, shape)
            if aliases > max_aliases:
                self.report_error(
                    GraphQLError(
                        f"{aliases} aliases found. Allowed: {max_aliases}",
                        extensions={"code": "TOO_MANY_ALIASES", "maxAliases": max_aliases},
                    )
                )

        def check_operation(self, operation: OperationDefinitionNode, shape: Expansion) -> None:
            if shape.selections > max_selections:
                self.report_error(
                    GraphQLError(
                        f"The operation expands to {shape.selections} selections once its fragments are "
                        f"spread; at most {max_selections} are allowed.",
                        operation,
                        extensions={"code": "QUERY_TOO_LARGE", "maxSelections": max_selections},
                    )
                )
            if shape.depth > max_depth:
                self.report_error(
                    GraphQLError(
                        f"'{operation_label(operation)}' exceeds maximum operation depth of {max_depth}",
                        operation,
                        extensions={"code": "QUERY_TOO_DEEP", "maxDepth": max_depth},
                    )
                )

    return ExpansionRule


def _field_def(parent: GraphQLNamedType | None, name: str) -> Any:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return parent.fields.get(name)
    return None


def _page_size_variables(operation: OperationDefinitionNode, variable_page_size: int) -> dict[str, int]:
    """Variable → the page size it is costed at: its default, or ``variable_page_size`` without one."""
    return {
        definition.variable.name.value: (
            int(definition.default_value.value)
            if isinstance(definition.default_value, IntValueNode)
            else variable_page_size
        )
        for definition in operation.variable_definitions or ()
    }


class _CostWalk:
    """Cost of a selection set: 1 a field, and what is below a field times its first/last; a spread
    costs what its fragment was costed at (``fragment_costs``)."""

    def __init__(
        self,
        context: ValidationContext,
        variables: Mapping[str, int],
        variable_page_size: int,
        fragment_costs: Mapping[str, int],
    ) -> None:
        self.context = context
        self.variables = variables
        self.variable_page_size = variable_page_size
        self.fragment_costs = fragment_costs

    def page_size(self, field: FieldNode, field_def: Any) -> int:
        sizes: list[int] = []
        given = {argument.name.value: argument.value for argument in field.arguments or ()}
        for name in PAGE_ARGUMENTS:
            value = given.get(name)
            if isinstance(value, IntValueNode):
                sizes.append(max(int(value.value), 0))
            elif isinstance(value, VariableNode):
                sizes.append(self.variables.get(value.name.value, self.variable_page_size))
            elif value is None and name in field_def.args:
                default = field_def.args[name].default_value
                if isinstance(default, int) and not isinstance(default, bool):
                    sizes.append(max(default, 0))
        return max(sizes) if sizes else 1

    def cost(self, selections: SelectionSetNode, parent: GraphQLNamedType | None) -> int:
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += self.field_cost(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = type_from_ast(self.context.schema, condition) if condition else parent
                total += self.cost(selection.selection_set, get_named_type(inner) or parent)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment_costs.get(selection.name.value, 0)
        return saturated(total)

    def fragment_cost(self, fragment: FragmentDefinitionNode) -> int:
        inner = type_from_ast(self.context.schema, fragment.type_condition)
        return self.cost(fragment.selection_set, get_named_type(inner))

    def field_cost(self, field: FieldNode, parent: GraphQLNamedType | None) -> int:
        name = field.name.value
        if name.startswith("__"):  # __typename is free; introspection has rules of its own
            return 0
        field_def = _field_def(parent, name)
        if field_def is None:  # an unknown field: FieldsOnCorrectTypeRule reports it
            return 1
        below = 0
        if field.selection_set is not None:
            below = self.cost(field.selection_set, get_named_type(field_def.type))
        return saturated(1 + self.page_size(field, field_def) * below)


def query_cost_rule(*, max_cost: int, variable_page_size: int) -> type[ASTValidationRule]:
    """Refuse an operation whose cost passes ``max_cost``; a first/last given by a variable without a
    default is costed at ``variable_page_size`` (validation is cached per document, not per variables).

    Each fragment is costed once for the whole document: a variable in it at the largest page size any
    operation that declares the variable gives it (in a document of one operation, that operation's)."""

    class QueryCostRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: object) -> None:
            operations = operations_of(node)
            everywhere: dict[str, int] = {}
            for operation in operations:
                for name, size in _page_size_variables(operation, variable_page_size).items():
                    everywhere[name] = max(size, everywhere.get(name, 0))
            fragment_costs = FragmentGraph(node).summaries(
                lambda fragment, done: _CostWalk(
                    self.context, everywhere, variable_page_size, done
                ).fragment_cost(fragment)
            )
            for operation in operations:
                variables = _page_size_variables(operation, variable_page_size)
                walk = _CostWalk(self.context, variables, variable_page_size, fragment_costs)
                root = self.context.schema.get_root_type(operation.operation)
                self.check(operation, walk.cost(operation.selection_set, root))

        def check(self, operation: OperationDefinitionNode, cost: int) -> None:
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"The operation costs {cost}; at most {max_cost} is allowed. Ask for fewer fields "
                        "or smaller pages (first/last).",
                        operation,
                        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": max_cost},
                    )
                )

    return QueryCostRule


def directive_count_rule(*, max_directives: int) -> type[ASTValidationRule]:
    """Refuse a document with more than ``max_directives`` directive uses (directive overloading)."""

    class DirectiveCountRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.count = 0

        def enter_directive(self, node: DirectiveNode, *_: object) -> None:
            self.count += 1

        def leave_document(self, node: DocumentNode, *_: object) -> None:
            if self.count > max_directives:
                self.report_error(
                    GraphQLError(
                        f"The document uses {self.count} directives; at most {max_directives} are allowed.",
                        extensions={"code": "TOO_MANY_DIRECTIVES", "maxDirectives": max_directives},
                    )
                )

    return DirectiveCountRule


def mutation_count_rule(*, max_mutations: int) -> type[ASTValidationRule]:
    """Refuse a mutation operation with more than ``max_mutations`` fields (aliases and fragments count)."""

    class MutationCountRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: object) -> None:
            mutations = [op for op in operations_of(node) if op.operation is OperationType.MUTATION]
            if not mutations:
                return
            graph = FragmentGraph(node)
            for operation in mutations:
                count = sum(root_field_counts(graph, operation).values())
                if count > max_mutations:
                    self.report_error(
                        GraphQLError(
                            f"The operation has {count} mutations; at most {max_mutations} are allowed a "
                            "request.",
                            operation,
                            extensions={"code": "TOO_MANY_MUTATIONS", "maxMutations": max_mutations},
                        )
                    )

    return MutationCountRule
