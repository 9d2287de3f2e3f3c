"""Who controls members' data and on what legal basis each kind of it is processed (DOMAIN.md 8), from
``processing.toml``: the data export names the joint controllers (Art. 26 GDPR) and, per section, the legal
bases (consent Art. 6(1)(a), contract (b), legitimate interest (f)) and the purpose."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

PROCESSING_FILE = Path(__file__).with_name("processing.toml")


@dataclass(frozen=True, slots=True)
class Processing:
    statement: str
    controllers: tuple[dict[str, str], ...]
    bases: dict[str, dict[str, str]]
    sections: dict[str, dict[str, Any]]

    def describe(self, section_names: Iterable[str]) -> dict[str, Any]:
        """The export's ``controllers`` and ``legalBases`` parts for these sections; a section without an
        entry is a programming error (every kind of data needs its legal basis)."""
        names = list(section_names)
        missing = [name for name in names if name not in self.sections]
        if missing:
            raise LookupError(f"processing.toml has no [sections.{missing[0]}]")
        return {
            "controllers": {"jointControllers": list(self.controllers), "privacyStatement": self.statement},
            "legalBases": {
                name: {
                    "purpose": self.sections[name]["purpose"],
                    "bases": [
                        {"basis": basis, **self.bases[basis]} for basis in self.sections[name]["bases"]
                    ],
                }
                for name in names
            },
        }


def parse_processing(data: dict[str, Any]) -> Processing:
    bases = {
        str(name): {"article": str(b["article"]), "text": str(b["text"])} for name, b in data["bases"].items()
    }
    sections: dict[str, dict[str, Any]] = {}
    for name, entry in data["sections"].items():
        unknown = [basis for basis in entry["bases"] if basis not in bases]
        if unknown or not entry["bases"]:
            raise ValueError(f"processing.toml: sections.{name} names unknown or no legal bases: {unknown}")
        sections[str(name)] = {"bases": [str(b) for b in entry["bases"]], "purpose": str(entry["purpose"])}
    controllers = tuple({"name": str(c["name"]), "role": str(c["role"])} for c in data["controllers"])
    if len(controllers) < 1:
        raise ValueError("processing.toml names the controllers")
    return Processing(
        statement=str(data["statement"]), controllers=controllers, bases=bases, sections=sections
    )


@cache
def processing() -> Processing:
    with PROCESSING_FILE.open("rb") as handle:
        return parse_processing(tomllib.load(handle))
