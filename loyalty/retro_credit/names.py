"""Is the ticket in the member's name? Names compared as airlines write them (DOMAIN.md 6, 6.1).

Tickets and boarding passes carry upper-case ASCII without accents, often without spaces or hyphens,
with a title after the given name (``HOPPER/GRACE MRS``), cut at 20 characters on a boarding pass.
Both sides are normalised the same way: upper case, accents folded (German umlauts may also be
written out, ``MÜLLER`` is ``MUELLER`` or ``MULLER``), hyphens, apostrophes, dots and spaces dropped,
titles left out. The surnames must then be equal; the ticket's given name must be the start of the
member's (tickets may hold only the first given name, passes cut it short).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015'\u2019`.,]+")
"""Spaces, hyphens and dashes of every kind, apostrophes, dots and commas."""
_LETTERS_NOT_DECOMPOSED = str.maketrans(
    {"ß": "SS", "Æ": "AE", "Ø": "O", "Œ": "OE", "Ł": "L", "Đ": "D", "Þ": "TH", "Ð": "D", "ẞ": "SS"}
)
_WRITTEN_OUT = str.maketrans({"Ä": "AE", "Ö": "OE", "Ü": "UE"})


def _fold(text: str) -> str:
    """Upper case, ASCII only: accents dropped, letters without a decomposition spelled out."""
    upper = text.upper().translate(_LETTERS_NOT_DECOMPOSED)
    decomposed = unicodedata.normalize("NFKD", upper)
    return "".join(char for char in decomposed if char.isascii() and not unicodedata.combining(char))


def name_tokens(text: str, *, titles: Iterable[str] = ()) -> list[str]:
    """The words of a name, folded, with titles left out (``Mrs. Anne-Marie`` -> ``ANNE MARIE``)."""
    skip = {title.upper() for title in titles}
    words = [folded for word in _SEPARATORS.split(text) if (folded := _fold(word))]
    return [word for word in words if word not in skip]


def spellings(text: str, *, titles: Iterable[str] = ()) -> set[str]:
    """The forms a name may take on a ticket: folded and joined, umlauts dropped or written out."""
    forms = {text, text.upper().translate(_WRITTEN_OUT)}
    return {"".join(name_tokens(form, titles=titles)) for form in forms}


def _given_matches(ticket_given: str, member_given: set[str], titles: frozenset[str]) -> bool:
    if not ticket_given:
        return True  # the partner named only the surname
    for given in member_given:
        if given.startswith(ticket_given):
            return True
        # A title glued to the given name without a space: GRACEMRS.
        if any(ticket_given == given + title for title in titles):
            return True
    return False


def names_match(
    *,
    member_given_name: str,
    member_family_name: str,
    ticket_surname: str,
    ticket_given_name: str,
    titles: Iterable[str],
    surname_may_be_cut: bool = False,
) -> bool:
    """Whether the ticket's passenger is the member (see the module text for the comparison).

    ``surname_may_be_cut``: the name came from a boarding pass whose 20 characters were all used, so the
    surname too may be cut short.
    """
    title_set = frozenset(title.upper() for title in titles)
    ticket_family = "".join(name_tokens(ticket_surname))
    if not ticket_family:
        return False
    family_forms = spellings(member_family_name)
    if surname_may_be_cut:
        family_ok = any(form.startswith(ticket_family) for form in family_forms)
    else:
        family_ok = ticket_family in family_forms
    if not family_ok:
        return False
    ticket_given = "".join(name_tokens(ticket_given_name, titles=title_set))
    return _given_matches(ticket_given, spellings(member_given_name, titles=title_set), title_set)
