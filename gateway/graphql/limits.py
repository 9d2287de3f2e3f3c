"""What one GraphQL document may ask for: cost, directives and mutations, as validation rules.

Depth, aliases and tokens are Strawberry's own extensions (wired in ``gateway/graphql/edge.py``); these
three rules do what none of them does. Each reports one error with a machine-readable code, and each
walks fragments itself, guarding against cycles (``NoFragmentCyclesRule`` reports those, in parallel).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    ASTValidationRule,
    DirectiveNode,
    DocumentNode,
    FieldNode,
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

from schema.selections import fragments_of, root_fields

PAGE_ARGUMENTS = ("first", "last")


def _field_def(parent: GraphQLNamedType | None, name: str) -> Any:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return parent.fields.get(name)
    return None


class _CostWalk:
    """Cost of a selection set: 1 a field, and what is below a field times its first/last."""

    def __init__(
        self, context: ValidationContext, operation: OperationDefinitionNode, variable_page_size: int
    ) -> None:
        self.context = context
        self.variable_page_size = variable_page_size
        self.variable_defaults: dict[str, int] = {
            definition.variable.name.value: int(definition.default_value.value)
            for definition in operation.variable_definitions or ()
            if isinstance(definition.default_value, IntValueNode)
        }

    def page_size(self, field: FieldNode, field_def: Any) -> int:
        sizes: list[int] = []
        given = {argument.name.value: argument.value for argument in field.arguments or ()}
        for name in PAGE_ARGUMENTS:
            value = given.get(name)
            if isinstance(value, IntValueNode):
                sizes.append(max(int(value.value), 0))
            elif isinstance(value, VariableNode):
                sizes.append(self.variable_defaults.get(value.name.value, self.variable_page_size))
            elif value is None and name in field_def.args:
                default = field_def.args[name].default_value
                if isinstance(default, int) and not isinstance(default, bool):
                    sizes.append(max(default, 0))
        return max(sizes) if sizes else 1

    def cost(
        self, selections: SelectionSetNode, parent: GraphQLNamedType | None, seen: frozenset[str]
    ) -> int:
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += self.field_cost(selection, parent, seen)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = type_from_ast(self.context.schema, condition) if condition else parent
                total += self.cost(selection.selection_set, get_named_type(inner) or parent, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.context.get_fragment(name)
                if fragment is None or name in seen:
                    continue
                inner = type_from_ast(self.context.schema, fragment.type_condition)
                total += self.cost(fragment.selection_set, get_named_type(inner), seen | {name})
        return total

    def field_cost(self, field: FieldNode, parent: GraphQLNamedType | None, seen: frozenset[str]) -> int:
        name = field.name.value
        if name.startswith("__"):  # __typename is free; introspection has rules of its own
            return 0
        field_def = _field_def(parent, name)
        if field_def is None:  # an unknown field: FieldsOnCorrectTypeRule reports it
            return 1
        below = 0
        if field.selection_set is not None:
            below = self.cost(field.selection_set, get_named_type(field_def.type), seen)
        return 1 + self.page_size(field, field_def) * below


def query_cost_rule(*, max_cost: int, variable_page_size: int) -> type[ASTValidationRule]:
    """Refuse an operation whose cost passes ``max_cost``; a first/last given by a variable without a
    default is costed at ``variable_page_size`` (validation is cached per document, not per variables)."""

    class QueryCostRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> None:
            root = self.context.schema.get_root_type(node.operation)
            walk = _CostWalk(self.context, node, variable_page_size)
            cost = walk.cost(node.selection_set, root, frozenset())
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"The operation costs {cost}; at most {max_cost} is allowed. Ask for fewer fields "
                        "or smaller pages (first/last).",
                        node,
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
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> None:
            if node.operation is not OperationType.MUTATION:
                return
            count = len(root_fields(fragments_of(self.context.document), node.selection_set))
            if count > max_mutations:
                self.report_error(
                    GraphQLError(
                        f"The operation has {count} mutations; at most {max_mutations} are allowed a request.",
                        node,
                        extensions={"code": "TOO_MANY_MUTATIONS", "maxMutations": max_mutations},
                    )
                )

    return MutationCountRule
