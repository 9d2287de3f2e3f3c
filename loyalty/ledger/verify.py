"""``ledger verify``: recompute every balance from its entries and check the double entry.

Checks, member by member in batches: each balance equals the sum of the member's entries; the
award-miles lots hold exactly the award-miles balance; every posting balances per currency against
its counter entries; the calendar-year counters equal the entries of their year. Then, over the whole ledger: the sum of all entries per currency is zero.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tortoise.functions import Sum

from loyalty.ledger.models import STATUS_CURRENCIES, Balance, CounterEntry, Currency, Entry, Lot, YearCounter
from loyalty.members.models import Member


@dataclass(frozen=True, slots=True)
class Drift:
    """One disagreement: ``expected`` is what the entries say, ``found`` what is stored."""

    check: str
    currency: str
    expected: int
    found: int
    account_id: int | None = None
    posting_id: int | None = None


@dataclass
class VerifyReport:
    members: int = 0
    drifts: list[Drift] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.drifts


async def member_count() -> int:
    return await Member.all().count()


async def verify_ledger(*, batch: int = 500, progress: Callable[[int], None] | None = None) -> VerifyReport:
    """Check every member (keyset pages of ``batch``), then the per-currency zero sum."""
    report = VerifyReport()
    last_id = 0
    while True:
        ids = [
            int(row[0])
            for row in await Member.filter(id__gt=last_id).order_by("id").limit(batch).values_list("id")
        ]
        if not ids:
            break
        last_id = ids[-1]
        report.members += len(ids)
        report.drifts.extend(await _balance_drifts(ids))
        report.drifts.extend(await _lot_drifts(ids))
        report.drifts.extend(await _unbalanced_postings(ids))
        report.drifts.extend(await _year_counter_drifts(ids))
        if progress is not None:
            progress(len(ids))
    report.drifts.extend(await _zero_sum_drifts())
    return report


async def _sums(
    model: type[Entry] | type[CounterEntry], keys: tuple[str, str], ids: Sequence[int]
) -> dict[tuple[int, str], int]:
    rows = (
        await model.filter(account_id__in=list(ids))
        .annotate(total=Sum("amount"))
        .group_by(*keys)
        .values_list(*keys, "total")
    )
    return {(int(first), str(second)): int(total or 0) for first, second, total in rows}


async def _balance_drifts(ids: Sequence[int]) -> list[Drift]:
    """A balance row that is not the sum of the member's entries (a missing row counts as zero)."""
    entries = await _sums(Entry, ("account_id", "currency"), ids)
    stored = {
        (int(account), str(currency)): int(amount)
        for account, currency, amount in await Balance.filter(account_id__in=list(ids)).values_list(
            "account_id", "currency", "amount"
        )
    }
    return [
        Drift(
            check="balance",
            currency=key[1],
            expected=entries.get(key, 0),
            found=stored.get(key, 0),
            account_id=key[0],
        )
        for key in sorted(set(entries) | set(stored))
        if entries.get(key, 0) != stored.get(key, 0)
    ]


async def _lot_drifts(ids: Sequence[int]) -> list[Drift]:
    """Lots that do not hold the award-miles balance the entries give."""
    entries = await _sums(Entry, ("account_id", "currency"), ids)
    lots = {
        int(account): int(total or 0)
        for account, total in await Lot.filter(account_id__in=list(ids))
        .annotate(total=Sum("remaining"))
        .group_by("account_id")
        .values_list("account_id", "total")
    }
    miles = Currency.AWARD_MILES.value
    return [
        Drift(
            check="lots",
            currency=miles,
            expected=entries.get((account, miles), 0),
            found=lots.get(account, 0),
            account_id=account,
        )
        for account in ids
        if entries.get((account, miles), 0) != lots.get(account, 0)
    ]


async def _unbalanced_postings(ids: Sequence[int]) -> list[Drift]:
    """Postings whose member entries and counter entries do not add up to zero per currency."""
    member = await _sums(Entry, ("posting_id", "currency"), ids)
    counter = await _sums(CounterEntry, ("posting_id", "currency"), ids)
    totals: dict[tuple[int, str], int] = defaultdict(int)
    for key, amount in [*member.items(), *counter.items()]:
        totals[key] += amount
    return [
        Drift(
            check="posting",
            currency=key[1],
            expected=-counter.get(key, 0),
            found=member.get(key, 0),
            posting_id=key[0],
        )
        for key, total in sorted(totals.items())
        if total != 0
    ]


async def _year_counter_drifts(ids: Sequence[int]) -> list[Drift]:
    """Calendar-year counters that are not the sum of that year's entries (by activity date)."""
    expected: dict[tuple[int, int, str], int] = defaultdict(int)
    rows = await Entry.filter(account_id__in=list(ids), currency__in=sorted(STATUS_CURRENCIES)).values_list(
        "account_id", "currency", "amount", "posting__activity_date"
    )
    for account, currency, amount, day in rows:
        year = day.year if isinstance(day, dt.date) else dt.date.fromisoformat(str(day)[:10]).year
        expected[(int(account), year, str(currency))] += int(amount)
    stored = {
        (int(account), int(year), str(currency)): int(amount)
        for account, year, currency, amount in await YearCounter.filter(account_id__in=list(ids)).values_list(
            "account_id", "year", "currency", "amount"
        )
    }
    return [
        Drift(
            check=f"year-counter {key[1]}",
            currency=key[2],
            expected=expected.get(key, 0),
            found=stored.get(key, 0),
            account_id=key[0],
        )
        for key in sorted(set(expected) | set(stored))
        if expected.get(key, 0) != stored.get(key, 0)
    ]


async def _zero_sum_drifts() -> list[Drift]:
    """The sum of all entries, member and counter, per currency: zero in a double-entry ledger."""
    totals: dict[str, int] = defaultdict(int)
    for model in (Entry, CounterEntry):
        rows = (
            await model.all()
            .annotate(total=Sum("amount"))
            .group_by("currency")
            .values_list("currency", "total")
        )
        for currency, total in rows:
            totals[str(currency)] += int(total or 0)
    return [
        Drift(check="zero-sum", currency=currency, expected=0, found=total)
        for currency, total in sorted(totals.items())
        if total != 0
    ]
