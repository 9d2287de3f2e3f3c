"""Argument values no field can use, refused at the edge with ``ARGUMENT_INVALID`` before any resolver runs.

Two kinds, whatever the field: a string holding a NUL character (PostgreSQL stores none in text) and an
``ID`` made of digits beyond a 64-bit integer (every id is a database key; PostgreSQL's bigint and SQLite's
integer overflow). Literals are checked by a validation rule, once per document; variables per request,
walked along their declared types, because the same document comes with other variables next time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLInputType,
    GraphQLSchema,
    IntValueNode,
    StringValueNode,
    ValidationContext,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_input_object_type,
    is_list_type,
    type_from_ast,
)

ARGUMENT_INVALID = "ARGUMENT_INVALID"
NUL_MESSAGE = "A string argument holds a NUL character, which no field accepts."
ID_MESSAGE = "An ID argument is out of range: no id is larger than 9223372036854775807."
_LARGEST_ID = 2**63 - 1


def argument_refusal(message: str, name: str | None = None) -> GraphQLError:
    extensions: dict[str, Any] = {"code": ARGUMENT_INVALID}
    if name is not None:
        extensions["variable"] = name
    return GraphQLError(message, extensions=extensions)


def _id_out_of_range(value: str | int) -> bool:
    text = str(value)
    return text.isdigit() and (not text.isascii() or int(text) > _LARGEST_ID)


def _is_id(type_: GraphQLInputType | None) -> bool:
    return type_ is not None and get_named_type(type_).name == "ID"


def value_refusal(value: object, type_: GraphQLInputType | None) -> str | None:
    """Why ``value`` (a variable's JSON, of ``type_`` where known) is refused, or None."""
    if isinstance(value, str):
        if "\x00" in value:
            return NUL_MESSAGE
        return ID_MESSAGE if _is_id(type_) and _id_out_of_range(value) else None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON decoders read integers past 64 bits as floats; an ID takes them whole
    if isinstance(value, int) and not isinstance(value, bool):
        return ID_MESSAGE if _is_id(type_) and _id_out_of_range(value) else None
    nullable = get_nullable_type(type_) if type_ is not None else None
    if isinstance(value, list):
        item_type = nullable.of_type if is_list_type(nullable) else type_
        return next((why for item in value if (why := value_refusal(item, item_type))), None)
    if isinstance(value, Mapping):
        fields = nullable.fields if is_input_object_type(nullable) else {}
        for key, item in value.items():
            field = fields.get(key)
            why = value_refusal(key, None) or value_refusal(item, field.type if field else None)
            if why:
                return why
    return None


def variables_refusal(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, object] | None,
) -> GraphQLError | None:
    """The error for the first refused variable of the operation, or None."""
    if not variables:
        return None
    operation = get_operation_ast(document, operation_name)
    definitions = (operation.variable_definitions if operation is not None else None) or ()
    declared = {definition.variable.name.value: definition for definition in definitions}
    for name, value in variables.items():
        definition = declared.get(name)
        type_ = type_from_ast(schema, definition.type) if definition is not None else None
        why = value_refusal(value, type_)  # type: ignore[arg-type]
        if why:
            return argument_refusal(why, name)
    return None


class ArgumentValuesRule(ASTValidationRule):
    """The same checks on the literals written in the document."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.validation = context

    def enter_string_value(self, node: StringValueNode, *_args: object) -> None:
        if "\x00" in node.value:
            self._refuse(NUL_MESSAGE, node)
        elif _is_id(self.validation.get_input_type()) and _id_out_of_range(node.value):
            self._refuse(ID_MESSAGE, node)

    def enter_int_value(self, node: IntValueNode, *_args: object) -> None:
        if _is_id(self.validation.get_input_type()) and _id_out_of_range(node.value):
            self._refuse(ID_MESSAGE, node)

    def _refuse(self, message: str, node: StringValueNode | IntValueNode) -> None:
        self.report_error(GraphQLError(message, node, extensions={"code": ARGUMENT_INVALID}))
