"""Miles expiry (DOMAIN.md 5): the expiry run, protection periods and what a member sees expiring.

A lot whose quarter-end expiry date has passed expires in full, as a posting against the EXPIRY
counter account with the idempotency key ``expiry:{lot_id}`` (running again expires nothing more).
Status holders and protecting credit cards stop expiry while they hold; when a status ends, every
remaining lot gets a fresh 36 months from that day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from loyalty.errors import ValidationFailed
from loyalty.fixed_sql import as_date, as_optional_date, fetch
from loyalty.ledger.lots import take_from_lot
from loyalty.ledger.models import (
    CounterAccount,
    Currency,
    ExpiryProtection,
    Lot,
    LotAllocation,
    Posting,
    PostingSource,
    ProtectionReason,
)
from loyalty.ledger.quarters import (
    ProtectionPeriod,
    expiry_date,
    is_protected,
    next_quarter_end,
    protected_until,
    quarter_end,
)
from loyalty.ledger.service import PostingSpec, lock_balances, run_once, write_posting
from loyalty.rules import ProgrammeRules


class ActivityTooOld(ValidationFailed):
    """Miles for this activity would already have expired: they are not credited at all."""

    code = "ACTIVITY_TOO_OLD"


async def check_not_expired(
    *, account_id: int, activity_date: dt.date, today: dt.date, rules: ProgrammeRules, field: str
) -> dt.date:
    """Refuse a credit of award miles whose lot would be past its expiry date already (ActivityTooOld).

    Miles for activity on 12.12.2016 expired on 31.12.2019: credited today they would be spendable, and
    listed as expiring this quarter, until the next expiry run. A lot the member's protection (status or
    credit card) would keep is not too old: it is kept like the member's other miles. Returns the expiry
    date the lot gets.
    """
    expires_on = expiry_date(activity_date, rules.expiry.validity_months)
    if expires_on >= today:
        return expires_on
    periods = await _periods_by_account([account_id])
    if is_protected(expires_on, today, periods[account_id]):
        return expires_on
    raise ActivityTooOld(
        f"Miles for activity on {activity_date.isoformat()} expired on {expires_on.isoformat()} "
        f"({rules.expiry.validity_months} months, to the end of that quarter): too old to credit.",
        field=field,
    )


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    lots_expired: int
    miles_expired: int
    members: int
    lots_protected: int


async def count_due(*, as_of: dt.date) -> int:
    """Lots past their expiry date that still hold miles (protected ones included), for a progress bar."""
    return await Lot.filter(expires_on__lt=as_of, remaining__gt=0).count()


async def expire_due(
    *,
    as_of: dt.date,
    rules: ProgrammeRules,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> ExpiryReport:
    """Expire every unprotected lot whose expiry date is before ``as_of``; idempotent per lot."""
    expired = miles = protected = 0
    members: set[int] = set()
    last_id = 0
    while True:
        lots = (
            await Lot.filter(expires_on__lt=as_of, remaining__gt=0, id__gt=last_id)
            .order_by("id")
            .limit(batch)
        )
        if not lots:
            break
        last_id = lots[-1].id
        periods = await _periods_by_account({lot.account_id for lot in lots})
        for lot in lots:
            if is_protected(lot.expires_on, as_of, periods[lot.account_id]):
                protected += 1
                continue
            taken = await expire_lot(lot_id=lot.id, account_id=lot.account_id, rules=rules)
            if taken:
                expired, miles = expired + 1, miles + taken
                members.add(lot.account_id)
        if progress is not None:
            progress(len(lots))
    return ExpiryReport(
        lots_expired=expired, miles_expired=miles, members=len(members), lots_protected=protected
    )


async def expire_lot(*, lot_id: int, account_id: int, rules: ProgrammeRules) -> int:
    """Expire what one lot still holds (0 when a debit or an earlier run took it all)."""
    taken = 0
    key = await _expiry_key(lot_id)

    async def body() -> Posting | None:
        nonlocal taken
        await lock_balances(account_id, {Currency.AWARD_MILES: 0})
        lot = await Lot.filter(id=lot_id, account_id=account_id).select_for_update().first()
        if lot is None or lot.remaining <= 0:
            return None
        spec = PostingSpec(
            account_id=account_id,
            amounts={Currency.AWARD_MILES: -lot.remaining},
            source=PostingSource.EXPIRY,
            idempotency_key=key,
            activity_date=lot.expires_on,
            rule_version=rules.version,
            counter_account=CounterAccount.EXPIRY,
            description=f"Miles expired on {lot.expires_on.isoformat()}",
        )
        posting = await write_posting(spec)
        taken = lot.remaining
        await take_from_lot(lot=lot, posting_id=posting.id, amount=lot.remaining)
        return posting

    result = await run_once(key, body)
    return taken if result is not None and result.created else 0


async def _expiry_key(lot_id: int) -> str:
    """``expiry:{lot_id}``; miles a reversal gave back to an expired lot later expire as ``expiry:{lot_id}:{n}``."""
    earlier = await LotAllocation.filter(lot_id=lot_id, posting__source=PostingSource.EXPIRY.value).count()
    return f"expiry:{lot_id}" if earlier == 0 else f"expiry:{lot_id}:{earlier}"


async def protection_periods(*, account_ids: Iterable[int]) -> dict[int, list[ProtectionPeriod]]:
    """Every protection period of these members by account id (an account without any maps to [])."""
    return await _periods_by_account(account_ids)


async def _periods_by_account(account_ids: Iterable[int]) -> dict[int, list[ProtectionPeriod]]:
    grouped: dict[int, list[ProtectionPeriod]] = defaultdict(list)
    rows = await ExpiryProtection.filter(account_id__in=list(account_ids)).values_list(
        "account_id", "starts_on", "ends_on"
    )
    for account, starts_on, ends_on in rows:
        grouped[int(account)].append(ProtectionPeriod(starts_on=starts_on, ends_on=ends_on))
    return grouped


async def protect(*, account_id: int, reason: ProtectionReason, starts_on: dt.date) -> ExpiryProtection:
    """Start a protection period (status reached, or a bank reports a protecting credit card)."""
    return await ExpiryProtection.create(account_id=account_id, reason=reason, starts_on=starts_on)


async def end_protection(
    *, account_id: int, reason: ProtectionReason, ended_on: dt.date, rules: ProgrammeRules
) -> int:
    """Close the open periods of ``reason``; a status ending gives all lots a fresh expiry.

    A credit card's protection ends on the day the bank reports expiry resumes; lots then keep their
    original dates. Returns the number of lots given a fresh expiry.
    """
    await ExpiryProtection.filter(account_id=account_id, reason=reason, ends_on__isnull=True).update(
        ends_on=ended_on
    )
    if reason is not ProtectionReason.STATUS:
        return 0
    return await refresh_lots_after_protection(
        account_id, ended_on, months=rules.expiry.fresh_months_after_protection
    )


async def refresh_lots_after_protection(account_id: int, ended_on: dt.date, *, months: int = 36) -> int:
    """All remaining lots expire ``months`` from ``ended_on``, at that quarter's end (never earlier)."""
    fresh = expiry_date(ended_on, months)
    async with in_transaction():
        await lock_balances(account_id, {Currency.AWARD_MILES: 0})
        return await Lot.filter(account_id=account_id, remaining__gt=0, expires_on__lt=fresh).update(
            expires_on=fresh
        )


async def miles_expiring(*, account_id: int, today: dt.date) -> list[tuple[dt.date, int]]:
    """Miles expiring at the end of the current and of the next quarter (protected ones do not)."""
    return (await miles_expiring_for(account_ids=[account_id], today=today))[0]


async def miles_expiring_for(
    *, account_ids: Sequence[int], today: dt.date
) -> list[list[tuple[dt.date, int]]]:
    """Batched ``miles_expiring`` for a DataLoader: one list per account id, in the same order."""
    current, following = quarter_end(today), next_quarter_end(today)
    if len(account_ids) == 1:
        return [await _one_member_expiring(account_ids[0], current, following)]
    lots = await Lot.filter(
        account_id__in=list(account_ids), remaining__gt=0, expires_on__lte=following
    ).values_list("account_id", "expires_on", "remaining")
    periods = await _periods_by_account({int(account) for account, _, _ in lots}) if lots else {}
    totals: dict[tuple[int, dt.date], int] = defaultdict(int)
    for account, expires_on, remaining in lots:
        bucket = current if expires_on <= current else following
        if not is_protected(expires_on, bucket, periods[int(account)]):
            totals[(int(account), bucket)] += int(remaining)
    return [[(day, totals[(key, day)]) for day in (current, following)] for key in account_ids]


DUE_AND_PROTECTIONS_SQL = """
SELECT 'L' AS kind, expires_on AS day, NULL AS until, remaining FROM lots
WHERE account_id = $1 AND remaining > 0 AND expires_on <= $2
UNION ALL
SELECT 'P' AS kind, starts_on AS day, ends_on AS until, 0 AS remaining FROM expiry_protections
WHERE account_id = $1
"""


async def _one_member_expiring(
    account_id: int, current: dt.date, following: dt.date
) -> list[tuple[dt.date, int]]:
    """One member's ``miles_expiring``: lots due by ``following`` and protections in one fixed statement."""
    rows = await fetch(DUE_AND_PROTECTIONS_SQL, account_id, following)
    return expiring_from_rows(rows, current, following)


def expiring_from_rows(
    rows: list[dict[str, Any]], current: dt.date, following: dt.date
) -> list[tuple[dt.date, int]]:
    """Miles expiring at ``current`` and ``following`` quarter ends from the rows of
    ``DUE_AND_PROTECTIONS_SQL`` (its $2 is ``following``)."""
    periods = [
        ProtectionPeriod(starts_on=as_date(row["day"]), ends_on=as_optional_date(row["until"]))
        for row in rows
        if row["kind"] == "P"
    ]
    totals = {current: 0, following: 0}
    for row in rows:
        if row["kind"] == "L":
            expires_on = as_date(row["day"])
            bucket = current if expires_on <= current else following
            if not is_protected(expires_on, bucket, periods):
                totals[bucket] += int(row["remaining"])
    return list(totals.items())


async def protection_until(*, account_id: int, day: dt.date) -> dt.date | None:
    """The last protected day of the member's protection holding on ``day`` (``date.max``: open-ended)."""
    periods = await _periods_by_account([account_id])
    return protected_until(day, periods[account_id])
