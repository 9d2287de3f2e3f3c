"""Countries and languages against the ISO lists (issue 21): worked examples."""

from __future__ import annotations

import pytest

from loyalty.iso_codes import iso_country, iso_language


@pytest.mark.parametrize(
    ("given", "expected"),
    [("DE", "DE"), ("de", "DE"), (" ch ", "CH"), ("XX", None), ("Germany", None), ("D", None), ("", None)],
)
def test_iso_country(given: str, expected: str | None) -> None:
    assert iso_country(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("en", "en"),
        ("DE", "de"),
        ("de-CH", "de-ch"),
        ("pt_BR", "pt-br"),
        ("xx", None),
        ("de-XX", None),
        ("de-", None),
        ("english", None),
        ("", None),
    ],
)
def test_iso_language(given: str, expected: str | None) -> None:
    assert iso_language(given) == expected
