"""The status-progress view: tier, validity, and what is still missing to reach or to keep a tier."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from loyalty.ledger.models import Currency
from loyalty.ledger.service import balances_of, year_counters
from loyalty.members.models import Member, Tier
from loyalty.rules import ProgrammeRules
from loyalty.status import tiers
from loyalty.status.models import MemberStatus


@dataclass(frozen=True, slots=True)
class TierTarget:
    """A tier to reach (or to reach again) with this year's counters, and its validity if reached now."""

    tier: Tier
    missing: dict[Currency, int]
    valid_until_if_reached: dt.date

    @property
    def reached(self) -> bool:
        return not any(self.missing.values())


@dataclass(frozen=True, slots=True)
class StatusProgress:
    tier: Tier
    valid_until: dt.date | None
    lifetime_tier: Tier | None
    year: int
    counters: dict[Currency, int]
    lifetime_qualifying_points: int
    next_tier: TierTarget | None
    """The tier above, with what is missing this year; None at the top tier."""
    keep_tier: TierTarget | None
    """Requalifying for the held tier this year; None for base members and a tier held for life."""


async def status_progress(*, account_id: int, today: dt.date, rules: ProgrammeRules) -> StatusProgress:
    status = await MemberStatus.get_or_none(account_id=account_id)
    if status is not None:
        tier, valid_until, lifetime = status.tier, status.valid_until, status.lifetime_tier
    else:  # no status change yet: what enrolment gave
        tier, valid_until, lifetime = (await Member.get(id=account_id)).tier, None, None
    counters = await year_counters(account_id=account_id, year=today.year)
    until = tiers.valid_until_for(today.year, rules.status)
    above = tiers.next_tier(tier, rules.status)
    held_for_life = lifetime is not None and tiers.rank(lifetime, rules.status) >= tiers.rank(
        tier, rules.status
    )
    return StatusProgress(
        tier=tier,
        valid_until=valid_until,
        lifetime_tier=lifetime,
        year=today.year,
        counters=counters,
        lifetime_qualifying_points=(await balances_of(account_id=account_id))[
            Currency.LIFETIME_QUALIFYING_POINTS
        ],
        next_tier=None
        if above is None
        else TierTarget(above, tiers.missing(above, counters, rules.status), until),
        keep_tier=None
        if tier is Tier.BASE or held_for_life
        else TierTarget(tier, tiers.missing(tier, counters, rules.status), until),
    )
