"""Walking a document's selections: the fields a selection set holds, through its fragments."""

from __future__ import annotations

from collections.abc import Mapping

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def root_fields(
    fragments: Mapping[str, FragmentDefinitionNode],
    selections: SelectionSetNode,
    seen: frozenset[str] = frozenset(),
) -> list[FieldNode]:
    """Every field node of a selection set (an operation's: its root fields), through inline fragments
    and fragment spreads; introspection fields (``__typename``…) left out."""
    found: list[FieldNode] = []
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            if not selection.name.value.startswith("__"):
                found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            found.extend(root_fields(fragments, selection.selection_set, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                found.extend(root_fields(fragments, fragment.selection_set, seen | {name}))
    return found
