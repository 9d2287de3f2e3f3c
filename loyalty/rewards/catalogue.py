"""The rewards catalogue, loaded from a TOML file (defaults ship in ``catalogue.toml``).

The catalogue is data: an operator points ``MILESGATE_REWARDS_FILE`` at a copy. It is checked when it
is loaded, so a broken catalogue stops the process at start rather than at the first redemption: codes
are unique, kinds known, every reward costs at least the programme's minimum redemption
(``[redemption] minimum_miles`` in the rules), and only Cash & Miles rewards carry a cash part.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from loyalty.rules import RedemptionRules, current_rules

DEFAULT_CATALOGUE_FILE = Path(__file__).with_name("catalogue.toml")
CATALOGUE_FILE_ENV = "MILESGATE_REWARDS_FILE"
_KEYS = frozenset({"code", "kind", "title", "miles", "cash_eur"})


class RewardKind(StrEnum):
    """What a reward is (DOMAIN.md 3.5, 7)."""

    FLIGHT = "FLIGHT"
    UPGRADE = "UPGRADE"
    SHOP = "SHOP"
    CASH_AND_MILES = "CASH_AND_MILES"


class CatalogueInvalid(ValueError):
    """The catalogue file breaks a rule; the message names the reward and the rule."""


@dataclass(frozen=True, slots=True)
class Reward:
    code: str
    kind: RewardKind
    title: str
    miles: int
    cash_eur: Decimal | None = None
    """The cash part of a Cash & Miles reward, in euros; None for rewards paid in miles only."""


@dataclass(frozen=True, slots=True)
class Catalogue:
    rewards: tuple[Reward, ...]

    def get(self, code: str) -> Reward | None:
        return self._by_code.get(code)

    @property
    def _by_code(self) -> Mapping[str, Reward]:
        return {reward.code: reward for reward in self.rewards}

    def __iter__(self) -> Iterator[Reward]:
        return iter(self.rewards)

    def __len__(self) -> int:
        return len(self.rewards)


def parse_catalogue(data: Mapping[str, Any], *, rules: RedemptionRules) -> Catalogue:
    """Check every reward against the rules above; the first broken one raises CatalogueInvalid."""
    rows = data.get("rewards")
    if not isinstance(rows, list) or not rows:
        raise CatalogueInvalid("the catalogue lists no [[rewards]]")
    rewards: list[Reward] = []
    seen: set[str] = set()
    for row in rows:
        reward = _reward(row, rules=rules)
        if reward.code in seen:
            raise CatalogueInvalid(f"reward {reward.code}: code listed twice")
        seen.add(reward.code)
        rewards.append(reward)
    return Catalogue(rewards=tuple(rewards))


def _reward(row: Mapping[str, Any], *, rules: RedemptionRules) -> Reward:
    code = row.get("code")
    if not isinstance(code, str) or not code.strip():
        raise CatalogueInvalid(f"a reward has no code: {dict(row)!r}")
    unknown = set(row) - _KEYS
    if unknown:
        raise CatalogueInvalid(f"reward {code}: unknown keys {sorted(unknown)}")
    try:
        kind = RewardKind(str(row.get("kind")))
    except ValueError:
        raise CatalogueInvalid(
            f"reward {code}: kind must be one of {[k.value for k in RewardKind]}"
        ) from None
    title = row.get("title")
    if not isinstance(title, str) or not title.strip():
        raise CatalogueInvalid(f"reward {code}: title missing")
    miles = row.get("miles")
    if not isinstance(miles, int) or isinstance(miles, bool):
        raise CatalogueInvalid(f"reward {code}: miles must be a whole number")
    if miles < rules.minimum_miles:
        raise CatalogueInvalid(
            f"reward {code}: {miles} miles is below the minimum redemption of {rules.minimum_miles}"
        )
    return Reward(code=code, kind=kind, title=title, miles=miles, cash_eur=_cash(code, kind, row))


def _cash(code: str, kind: RewardKind, row: Mapping[str, Any]) -> Decimal | None:
    raw = row.get("cash_eur")
    if raw is None:
        if kind is RewardKind.CASH_AND_MILES:
            raise CatalogueInvalid(f"reward {code}: a Cash & Miles reward needs cash_eur")
        return None
    if kind is not RewardKind.CASH_AND_MILES:
        raise CatalogueInvalid(f"reward {code}: only Cash & Miles rewards have cash_eur")
    try:
        cash = Decimal(str(raw))
    except InvalidOperation:
        raise CatalogueInvalid(f"reward {code}: cash_eur {raw!r} is not an amount") from None
    if not cash.is_finite() or cash <= 0 or cash != cash.quantize(Decimal("0.01")):
        raise CatalogueInvalid(f"reward {code}: cash_eur must be positive with at most 2 decimals")
    return cash


def load_catalogue(path: Path | None = None, *, rules: RedemptionRules) -> Catalogue:
    """Parse and check a catalogue file (the environment's, else the shipped one)."""
    source = path or Path(os.environ.get(CATALOGUE_FILE_ENV) or DEFAULT_CATALOGUE_FILE)
    with source.open("rb") as handle:
        return parse_catalogue(tomllib.load(handle), rules=rules)


@cache
def current_catalogue() -> Catalogue:
    """The catalogue this process runs with (read once, checked against the current rules)."""
    return load_catalogue(rules=current_rules().redemption)
