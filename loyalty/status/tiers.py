"""Pure status rules (DOMAIN.md 4): which tier a year's counters reach, how long it lasts, what is missing.

No I/O: the engine feeds these with counters read under the member's lock.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from loyalty.ledger.models import Currency
from loyalty.members.models import Tier
from loyalty.rules import StatusRules


def rank(tier: Tier, rules: StatusRules) -> int:
    """A tier's place in the configured order (BASE lowest)."""
    return rules.tiers.index(tier.value)


def higher(first: Tier, second: Tier, rules: StatusRules) -> Tier:
    return first if rank(first, rules) >= rank(second, rules) else second


def one_lower(tier: Tier, rules: StatusRules) -> Tier:
    """The tier below (Senator → Frequent Traveller); BASE stays BASE."""
    return Tier(rules.tiers[max(rank(tier, rules) - 1, 0)])


def next_tier(tier: Tier, rules: StatusRules) -> Tier | None:
    position = rank(tier, rules) + 1
    return Tier(rules.tiers[position]) if position < len(rules.tiers) else None


def requirements(tier: Tier, rules: StatusRules) -> dict[Currency, int]:
    """What one calendar year's counters must reach for ``tier`` (empty for BASE)."""
    return {Currency(name): amount for name, amount in rules.thresholds.get(tier.value, {}).items()}


def missing(tier: Tier, counters: Mapping[Currency, int], rules: StatusRules) -> dict[Currency, int]:
    """Per required currency, how much the counters still lack for ``tier`` (0 when reached)."""
    return {
        currency: max(needed - counters.get(currency, 0), 0)
        for currency, needed in requirements(tier, rules).items()
    }


def qualified_tier(counters: Mapping[Currency, int], rules: StatusRules) -> Tier:
    """The highest tier whose every threshold the year's counters reach."""
    reached = Tier.BASE
    for name in rules.tiers:
        tier = Tier(name)
        if tier is not Tier.BASE and not any(missing(tier, counters, rules).values()):
            reached = tier
    return reached


def lifetime_tier(lifetime_qualifying_points: int, rules: StatusRules) -> Tier | None:
    """The lifetime tier the QP of all years give, if any (30,000 ⇒ FTL, 40,000 ⇒ Senator by default)."""
    earned: Tier | None = None
    for name, needed in rules.lifetime_qualifying_points.items():
        tier = Tier(name)
        if lifetime_qualifying_points >= needed and (
            earned is None or rank(tier, rules) > rank(earned, rules)
        ):
            earned = tier
    return earned


def valid_until_for(year: int, rules: StatusRules) -> dt.date:
    """A status reached in ``year`` lasts to the end of February of the year after next (by default)."""
    until_year = year + rules.valid_until_years_after
    month = rules.valid_until_month
    return dt.date(until_year, month, calendar.monthrange(until_year, month)[1])


def downgraded_until(expired_on: dt.date, rules: StatusRules) -> dt.date:
    """A status not requalified drops one tier for ``downgrade_years`` after it ran out."""
    until_year = expired_on.year + rules.downgrade_years
    month = rules.valid_until_month
    return dt.date(until_year, month, calendar.monthrange(until_year, month)[1])


@dataclass(frozen=True, slots=True)
class Decision:
    """What a year's counters mean for a member holding ``current`` until ``valid_until``."""

    tier: Tier
    valid_until: dt.date | None
    change: str | None
    """ACHIEVED, RENEWED, or None when nothing changes."""


def decide(
    *,
    current: Tier,
    valid_until: dt.date | None,
    counters: Mapping[Currency, int],
    year: int,
    today: dt.date,
    rules: StatusRules,
) -> Decision:
    """Upgrade at once when a higher tier is reached; renew when the held tier is reached again.

    A tier held for life (no ``valid_until``) needs no renewal. Counters of a year whose status would
    already have ended (a very late credit) change nothing.
    """
    unchanged = Decision(tier=current, valid_until=valid_until, change=None)
    until = valid_until_for(year, rules)
    reached = qualified_tier(counters, rules)
    if until < today or reached is Tier.BASE:
        return unchanged
    if rank(reached, rules) > rank(current, rules):
        return Decision(tier=reached, valid_until=until, change="ACHIEVED")
    if reached == current and valid_until is not None and until > valid_until:
        return Decision(tier=current, valid_until=until, change="RENEWED")
    return unchanged


def after_expiry(
    *,
    current: Tier,
    expired_on: dt.date,
    lifetime: Tier | None,
    best_qualified: tuple[Tier, dt.date] | None,
    rules: StatusRules,
) -> tuple[Tier, dt.date | None]:
    """The tier and validity after a status ran out on ``expired_on`` without being renewed.

    One tier lower for ``downgrade_years``; but never below a tier still earned by a recent year's
    counters (with that qualification's validity), nor below the lifetime tier (no end date).
    """
    tier: Tier = one_lower(current, rules)
    until: dt.date | None = None if tier is Tier.BASE else downgraded_until(expired_on, rules)
    if best_qualified is not None and rank(best_qualified[0], rules) >= rank(tier, rules):
        qualified, qualified_until = best_qualified
        if qualified_until > expired_on and (
            rank(qualified, rules) > rank(tier, rules) or until is None or qualified_until > until
        ):
            tier, until = qualified, qualified_until
    if lifetime is not None and rank(lifetime, rules) >= rank(tier, rules):
        return lifetime, None
    return tier, until
