"""Countries and languages checked against the ISO lists (pycountry's ISO 3166-1 and ISO 639): pure, no I/O.

A country is an ISO 3166-1 alpha-2 code (``DE``); a language is an ISO 639-1 code (``de``), optionally with
an ISO 3166-1 region (``de-CH``), the shape e-mail templates and notices are chosen by. Only the shape was
checked before, so ``XX`` and ``xx`` were enrolled.
"""

from __future__ import annotations

from functools import cache

import pycountry


@cache
def _countries() -> frozenset[str]:
    return frozenset(country.alpha_2 for country in pycountry.countries)


@cache
def _languages() -> frozenset[str]:
    return frozenset(language.alpha_2 for language in pycountry.languages if hasattr(language, "alpha_2"))


def iso_country(code: str) -> str | None:
    """The upper-case ISO 3166-1 alpha-2 code, or None when no country has it."""
    country = code.strip().upper()
    return country if country in _countries() else None


def iso_language(tag: str) -> str | None:
    """The lower-case language tag (``de``, ``de-ch``) whose language is ISO 639-1 and whose region, if
    any, is ISO 3166-1; None otherwise."""
    language, separator, region = tag.strip().lower().replace("_", "-").partition("-")
    if language not in _languages():
        return None
    if separator and iso_country(region) is None:
        return None
    return f"{language}-{region}" if separator else language
