"""Walking a document's selections through its fragments, each fragment once.

A fragment that spreads the next one twice, n times over, expands to 2^n paths in a few dozen bytes a
fragment. So nothing here follows a spread: a fragment is summarised once, after the fragments it spreads
(``FragmentGraph.order``), and its summary is added wherever it is spread. The work is linear in the
document's size, whatever it expands to; counts saturate at ``COUNT_CEILING`` rather than grow without end.
Every walk is a loop over a stack: a long chain of fragments cannot exhaust Python's recursion limit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
)

COUNT_CEILING = 2**53 - 1
"""Where counts stop growing: far past any limit, and still an exact number in every JSON reader."""

Summary = TypeVar("Summary")


def saturated(count: int) -> int:
    return min(count, COUNT_CEILING)


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def operations_of(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [
        definition for definition in document.definitions if isinstance(definition, OperationDefinitionNode)
    ]


def nested_selections(selections: SelectionSetNode) -> Iterator[SelectionNode]:
    """Every selection of a selection set, at any nesting, without following spreads."""
    stack = [selections]
    while stack:
        for selection in stack.pop().selections:
            yield selection
            inner = getattr(selection, "selection_set", None)
            if inner is not None:
                stack.append(inner)


class FragmentGraph:
    """A document's fragments, which spreads close a cycle, and an order in which each fragment comes
    after every fragment it spreads (but for the spread that closes a cycle)."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = fragments_of(document)
        self.spreads: dict[str, list[str]] = {
            name: list(
                dict.fromkeys(
                    selection.name.value
                    for selection in nested_selections(fragment.selection_set)
                    if isinstance(selection, FragmentSpreadNode) and selection.name.value in self.fragments
                )
            )
            for name, fragment in self.fragments.items()
        }
        self.order: list[str] = []
        self.cyclic: list[str] = []
        """The fragments spread within themselves (through other fragments or directly), in the order found."""
        self._sort()

    def _sort(self) -> None:
        """Depth first, without recursion: a fragment is placed once all it spreads are placed."""
        on_path: set[str] = set()
        placed: set[str] = set()
        cyclic: dict[str, None] = {}
        for root in self.fragments:
            if root in placed:
                continue
            path = [(root, iter(self.spreads[root]))]
            on_path.add(root)
            while path:
                name, pending = path[-1]
                for spread in pending:
                    if spread in on_path:
                        cyclic[spread] = None
                    elif spread not in placed:
                        path.append((spread, iter(self.spreads[spread])))
                        on_path.add(spread)
                        break
                else:
                    path.pop()
                    on_path.discard(name)
                    placed.add(name)
                    self.order.append(name)
        self.cyclic = list(cyclic)

    def summaries(
        self, summarise: Callable[[FragmentDefinitionNode, Mapping[str, Summary]], Summary]
    ) -> dict[str, Summary]:
        """Each fragment's summary, made from its own selections and the summaries of the fragments it
        spreads (a spread that closes a cycle finds none: such a document is refused anyway)."""
        done: dict[str, Summary] = {}
        for name in self.order:
            done[name] = summarise(self.fragments[name], done)
        return done


@dataclass(frozen=True, slots=True)
class Expansion:
    """What a selection set amounts to once every spread in it is replaced by its fragment."""

    selections: int = 0
    """Fields, spreads and inline fragments, each counted wherever it lands."""
    depth: int = 0
    """The most fields around one of its selections; what is inside an introspection field not counted."""
    aliases: int = 0


def expansion(selections: SelectionSetNode, expanded: Mapping[str, Expansion]) -> Expansion:
    """A selection set's expansion, its spreads' taken from ``expanded``."""
    count = aliases = depth = 0
    stack: list[tuple[SelectionSetNode, int, bool]] = [(selections, 0, True)]
    while stack:
        selection_set, nesting, counts_depth = stack.pop()
        for selection in selection_set.selections:
            count += 1
            if counts_depth:
                depth = max(depth, nesting)
            if isinstance(selection, FieldNode):
                aliases += selection.alias is not None
                if selection.selection_set is not None:
                    inner_depth = counts_depth and not selection.name.value.startswith("__")
                    stack.append((selection.selection_set, nesting + 1, inner_depth))
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, nesting, counts_depth))
            elif isinstance(selection, FragmentSpreadNode):
                inner = expanded.get(selection.name.value)
                if inner is not None:
                    count = saturated(count + inner.selections)
                    aliases = saturated(aliases + inner.aliases)
                    if counts_depth:
                        depth = max(depth, nesting + inner.depth)
    return Expansion(selections=count, depth=depth, aliases=aliases)


def fragment_expansions(graph: FragmentGraph) -> dict[str, Expansion]:
    return graph.summaries(lambda fragment, done: expansion(fragment.selection_set, done))


def _top_level(selections: SelectionSetNode) -> Iterator[FieldNode | FragmentSpreadNode]:
    """The fields and spreads of a selection set's top level, through its inline fragments."""
    stack = [selections]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, InlineFragmentNode):
                stack.append(selection.selection_set)
            elif isinstance(selection, FieldNode | FragmentSpreadNode):
                yield selection


def root_field_counts(graph: FragmentGraph, operation: OperationDefinitionNode) -> Counter[str]:
    """Root field name → how often the operation selects it, aliases and fragments included;
    introspection fields (``__typename``…) left out.

    Top down rather than bottom up: how many times each fragment is spread at the top (its multiplicity)
    is handed from a fragment to those it spreads, in the reverse of the graph's order; then each
    fragment's own top-level fields count that many times. Each fragment's top level is read once."""
    counts: Counter[str] = Counter()
    multiplicity: Counter[str] = Counter()

    def add(selections: SelectionSetNode, times: int) -> None:
        for selection in _top_level(selections):
            name = selection.name.value
            if isinstance(selection, FragmentSpreadNode):
                if name in graph.fragments:
                    multiplicity[name] = saturated(multiplicity[name] + times)
            elif not name.startswith("__"):
                counts[name] = saturated(counts[name] + times)

    add(operation.selection_set, 1)
    for name in reversed(graph.order):
        times = multiplicity[name]
        if times:
            add(graph.fragments[name].selection_set, times)
    return counts
