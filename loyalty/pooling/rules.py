"""Pure pooling rules (DOMAIN.md 7): ages and roles, places left, and which lots a pooled debit takes.

No I/O: the service feeds them rows it has locked. Every number comes from ``PoolingRules``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from loyalty.pooling.models import PoolRole
from loyalty.rules import PoolingRules


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    """Completed years on ``day`` (someone born on 29 February turns a year older on 1 March)."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday


def role_on(date_of_birth: dt.date, day: dt.date, rules: PoolingRules) -> PoolRole | None:
    """ADULT from the adult age, CHILD from the minimum child age, None below it (cannot pool)."""
    age = age_on(date_of_birth, day)
    if age >= rules.adult_age_years:
        return PoolRole.ADULT
    if age >= rules.child_min_age_years:
        return PoolRole.CHILD
    return None


def places(role: PoolRole, rules: PoolingRules) -> int:
    """How many members of ``role`` a pool holds."""
    return rules.max_adults if role is PoolRole.ADULT else rules.max_children


def is_working(roles: Iterable[PoolRole], rules: PoolingRules) -> bool:
    """A pool works with at least ``minimum_members`` combined members, ``minimum_adults`` of them adults."""
    listed = list(roles)
    adults = sum(1 for role in listed if role is PoolRole.ADULT)
    return len(listed) >= rules.minimum_members and adults >= rules.minimum_adults


@dataclass(frozen=True, slots=True)
class LotView:
    """What the allocation needs to know of one lot of one member."""

    lot_id: int
    account_id: int
    remaining: int
    expires_on: dt.date
    protected: bool


def allocation_order(lots: Iterable[LotView]) -> list[LotView]:
    """Unprotected lots before protected ones; within each, the lot expiring first first (then the oldest)."""
    return sorted(lots, key=lambda lot: (lot.protected, lot.expires_on, lot.lot_id))


def allocate(lots: Iterable[LotView], amount: int) -> list[tuple[LotView, int]]:
    """Take ``amount`` miles across the members' lots in allocation order: (lot, miles taken) pairs.

    Protected miles (status or credit-card protection of their owner) are used only if the unprotected
    ones are not enough. Returns fewer miles than ``amount`` when the lots hold less; the caller checks.
    """
    taken: list[tuple[LotView, int]] = []
    left = amount
    for lot in allocation_order(lots):
        if left <= 0:
            break
        if lot.remaining <= 0:
            continue
        take = min(left, lot.remaining)
        taken.append((lot, take))
        left -= take
    return taken
