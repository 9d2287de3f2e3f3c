"""What a document asks ``me`` for that can be read together with the member, read through Strawberry's
public selection API (``info.selected_fields``).

The answer depends only on the operation, where ``me`` stands in it and the variables, and the edge's
document cache hands every request for one document the same parsed operation: so it is worked out once
per operation, place and variables, and kept (with the operation, so an identity is never reused while
its answer lives)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from schema.context import Info
from schema.members.types import OFFER_COUNT, STATEMENT_PAGE_SIZE

READ_AHEAD = frozenset({"statement", "offers", "milesExpiring"})
"""``Member`` fields ``me`` reads together with the member when the document asks for them."""
DEFAULT_FIRST = {"statement": STATEMENT_PAGE_SIZE, "offers": OFFER_COUNT}


WANTED_KEPT = 1024
"""Answers kept before the memo starts over: far more than the documents the edge's cache holds."""


@dataclass(slots=True)
class Wanted:
    statement_pages: set[int] = field(default_factory=set)
    offer_counts: set[int] = field(default_factory=set)
    miles_expiring: bool = False


_known: dict[tuple[int, str, tuple[tuple[str, object], ...]], tuple[object, Wanted]] = {}


def _fields(selections: list[Selection]) -> Iterator[SelectedField]:
    """The fields of a selection set, through inline fragments and fragment spreads."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, InlineFragment | FragmentSpread):
            yield from _fields(selection.selections)


def _first(value: object) -> int | None:
    """A literal reaches the selection API as its text, a variable as its coerced value."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def wanted(info: Info) -> Wanted:
    """Which first statement pages and offer lists (by the page sizes and counts the arguments or
    variables give) and whether the miles expiring are asked of ``me``. A page with a cursor or a filter
    is left to its field, which reads it itself. The answer is shared: callers only read it."""
    operation = info.operation
    try:
        key = (id(operation), str(info.path.key), tuple(sorted(info.variable_values.items())))
        hash(key)
    except TypeError:  # a list or input object among the variables: not worth a key of its own
        return _walk(info)
    known = _known.get(key)
    if known is not None and known[0] is operation:
        return known[1]
    found = _walk(info)
    if len(_known) >= WANTED_KEPT:
        _known.clear()
    _known[key] = (operation, found)
    return found


def _walk(info: Info) -> Wanted:
    found = Wanted()
    for me in info.selected_fields:
        for selected in _fields(me.selections):
            if selected.name not in READ_AHEAD:
                continue
            if selected.name == "milesExpiring":
                found.miles_expiring = True
                continue
            arguments = dict(selected.arguments)
            first = _first(arguments.pop("first", DEFAULT_FIRST[selected.name]))
            if first is None or any(value is not None for value in arguments.values()):
                continue
            if selected.name == "statement":
                found.statement_pages.add(first)
            else:
                found.offer_counts.add(first)
    return found
