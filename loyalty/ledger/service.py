"""The one posting path every change of miles or points goes through.

A posting is written with its entries and the balances are moved in the same transaction, with the
balance rows locked (``SELECT ... FOR UPDATE`` on PostgreSQL), so balances always equal the sum of
their entries and award miles never go below zero. The idempotency key makes a repeat a no-op that
returns the first result.

Double entry: every member entry is balanced by a counter entry on one of the programme's counter
accounts (partner liability, programme bonus, redemption, expiry, adjustment), so the sum of all
entries per currency is zero. Award-miles credits open lots; debits take lots in expiry order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.errors import ValidationFailed
from loyalty.events.models import EventType
from loyalty.events.service import record
from loyalty.ledger.lots import consume_fifo, open_lot
from loyalty.ledger.models import (
    STATUS_CURRENCIES,
    Balance,
    CounterAccount,
    CounterEntry,
    Currency,
    Entry,
    Posting,
    YearCounter,
)
from loyalty.members.models import Member
from loyalty.rules import current_rules

NON_NEGATIVE = frozenset({Currency.AWARD_MILES})
STATUS_LOCKING = frozenset({*STATUS_CURRENCIES, Currency.LIFETIME_QUALIFYING_POINTS})
"""Crediting one of these runs the status engine, which locks the member row first."""
COUNTER_BY_SOURCE: Mapping[str, CounterAccount] = {
    "PARTNER_ACCRUAL": CounterAccount.PARTNER_LIABILITY,
    "RETRO_CREDIT": CounterAccount.PARTNER_LIABILITY,
    "FLIGHT_ACCRUAL": CounterAccount.PARTNER_LIABILITY,
    "PHOTO_CREDIT": CounterAccount.PARTNER_LIABILITY,
    "FIRST_APP_LOGIN_BONUS": CounterAccount.PROGRAMME_BONUS,
    "PROGRAMME_BONUS": CounterAccount.PROGRAMME_BONUS,
    "DEMO": CounterAccount.PROGRAMME_BONUS,
    "CHALLENGE": CounterAccount.PROGRAMME_BONUS,
    "REDEMPTION": CounterAccount.REDEMPTION,
    "EXPIRY": CounterAccount.EXPIRY,
}
"""Where a source's miles come from or go to; any other source (TEST, admin corrections) is ADJUSTMENT."""


class InsufficientBalance(ValidationFailed):
    code = "INSUFFICIENT_BALANCE"


@dataclass(frozen=True, slots=True)
class PostingResult:
    posting_id: int
    created: bool
    """False when the idempotency key had been posted before and nothing changed now."""


@dataclass(frozen=True, slots=True)
class PostingSpec:
    """What one posting writes: the member side; the counter side mirrors it on ``counter_account``."""

    account_id: int
    amounts: Mapping[Currency, int]
    source: str
    idempotency_key: str
    activity_date: dt.date
    rule_version: str
    counter_account: CounterAccount
    partner_reference: str | None = None
    description: str = ""


def with_lifetime_counter(amounts: Mapping[Currency, int]) -> dict[Currency, int]:
    """Qualifying Points also count towards lifetime status: the posting moves the lifetime counter too."""
    moved = dict(amounts)
    qualifying = moved.get(Currency.QUALIFYING_POINTS, 0)
    if qualifying and Currency.LIFETIME_QUALIFYING_POINTS not in moved:
        moved[Currency.LIFETIME_QUALIFYING_POINTS] = qualifying
    return moved


def counter_account_for(source: str, explicit: CounterAccount | None = None) -> CounterAccount:
    """The counter account a posting balances against: the explicit one, else the source's."""
    return explicit or COUNTER_BY_SOURCE.get(source, CounterAccount.ADJUSTMENT)


async def open_balances(*, account_id: int) -> None:
    """Create the zero balance rows of a new member (so later postings have rows to lock)."""
    await Balance.bulk_create([Balance(account_id=account_id, currency=currency) for currency in Currency])


async def balances_of(*, account_id: int) -> dict[Currency, int]:
    rows = await Balance.filter(account_id=account_id).values_list("currency", "amount")
    found = {Currency(currency): int(amount) for currency, amount in rows}
    return {currency: found.get(currency, 0) for currency in Currency}


async def post(
    *,
    account_id: int,
    amounts: Mapping[Currency, int],
    source: str,
    idempotency_key: str,
    activity_date: dt.date,
    rule_version: str,
    partner_reference: str | None = None,
    description: str = "",
    counter_account: CounterAccount | None = None,
    today: dt.date | None = None,
) -> PostingResult:
    """Write one posting; a second call with the same key returns the first posting unchanged.

    A credit of Points, Qualifying Points or HON Circle Points is followed, in the same transaction,
    by the status engine (``loyalty.status.engine.evaluate``): crossing a threshold upgrades at once.
    ``today`` is the business date the status engine judges by (default: today, UTC).
    """
    if not amounts or any(amount == 0 for amount in amounts.values()):
        raise ValidationFailed("A posting moves a non-zero amount.", field="amounts", code="EMPTY_POSTING")
    spec = PostingSpec(
        account_id=account_id,
        amounts=with_lifetime_counter(amounts),
        source=source,
        idempotency_key=idempotency_key,
        activity_date=activity_date,
        rule_version=rule_version,
        counter_account=counter_account_for(source, counter_account),
        partner_reference=partner_reference,
        description=description,
    )
    day = today or dt.datetime.now(dt.UTC).date()
    result = await run_once(idempotency_key, lambda: _post_and_evaluate(spec, day))
    assert result is not None  # _post_with_lots always writes or raises
    return result


def _credits_status(spec: PostingSpec) -> bool:
    return any(spec.amounts.get(currency, 0) > 0 for currency in STATUS_LOCKING)


async def _post_and_evaluate(spec: PostingSpec, today: dt.date) -> Posting:
    """The posting, then (for status credits) the status engine, in one transaction.

    Lock order is member row, then balance rows, then lots - the order every status and card change
    takes too - so a status upgrade never deadlocks against a concurrent posting. Member rows are
    locked FOR NO KEY UPDATE everywhere: that does not conflict with the key-share lock PostgreSQL
    takes on the member when another transaction inserts a row that references it (a posting, an
    entry), which a plain FOR UPDATE would, and deadlock against a posting holding a balance lock.
    """
    status_credit = _credits_status(spec)
    if status_credit:
        await Member.filter(id=spec.account_id).select_for_update(no_key=True).first()
    posting = await _post_with_lots(spec)
    if status_credit:
        # Imported here: the status engine builds on the ledger (and on cards), not the other way round.
        from loyalty.status.engine import evaluate

        await evaluate(
            account_id=spec.account_id, year=spec.activity_date.year, today=today, rules=current_rules()
        )
    return posting


async def run_once(
    idempotency_key: str, body: Callable[[], Awaitable[Posting | None]]
) -> PostingResult | None:
    """Run ``body`` in one transaction unless the key was posted before (then: the first posting).

    ``body`` may decide to write nothing (returns None); a concurrent writer of the same key loses on
    the unique index and gets the winner's posting.
    """
    existing = await Posting.get_or_none(idempotency_key=idempotency_key).only("id")
    if existing is not None:
        return PostingResult(posting_id=existing.id, created=False)
    try:
        async with in_transaction():
            posting = await body()
    except IntegrityError:
        winner = await Posting.get_or_none(idempotency_key=idempotency_key).only("id")
        if winner is None:
            raise
        return PostingResult(posting_id=winner.id, created=False)
    return None if posting is None else PostingResult(posting_id=posting.id, created=True)


async def _post_with_lots(spec: PostingSpec) -> Posting:
    balances = await lock_balances(spec.account_id, spec.amounts)
    posting = await write_posting(spec, balances)
    miles = spec.amounts.get(Currency.AWARD_MILES, 0)
    if miles > 0:
        months = current_rules().expiry.validity_months
        await open_lot(
            posting_id=posting.id,
            account_id=spec.account_id,
            amount=miles,
            earned_on=spec.activity_date,
            months=months,
        )
    elif miles < 0:
        await consume_fifo(posting_id=posting.id, account_id=spec.account_id, amount=-miles)
    return posting


async def _move_year_counters(spec: PostingSpec, items: list[tuple[Currency, int]]) -> None:
    """The calendar-year counters of the activity date's year (their balance rows are locked already)."""
    year = spec.activity_date.year
    for currency, amount in items:
        if currency not in STATUS_CURRENCIES:
            continue
        counter, _ = await YearCounter.get_or_create(
            account_id=spec.account_id, year=year, currency=currency, defaults={"amount": 0}
        )
        counter.amount += amount
        await counter.save(update_fields=["amount"])


async def year_counters(*, account_id: int, year: int) -> dict[Currency, int]:
    """The member's Points, Qualifying Points and HON Circle Points of ``year`` (0 when none)."""
    rows = await YearCounter.filter(account_id=account_id, year=year).values_list("currency", "amount")
    found = {Currency(currency): int(amount) for currency, amount in rows}
    return {currency: found.get(currency, 0) for currency in sorted(STATUS_CURRENCIES)}


async def member_balances_for(*, account_ids: Sequence[int], year: int) -> list[dict[Currency, int]]:
    """What members see, batched: award miles and lifetime QP as running totals; Points, QP and HCP as
    the counters of ``year`` (they start at 0 on 1 January)."""
    keys = list(account_ids)
    grouped: dict[int, dict[Currency, int]] = {key: {} for key in keys}
    for account, currency, amount in await Balance.filter(
        account_id__in=keys, currency__in=[c for c in Currency if c not in STATUS_CURRENCIES]
    ).values_list("account_id", "currency", "amount"):
        grouped[int(account)][Currency(currency)] = int(amount)
    for account, currency, amount in await YearCounter.filter(account_id__in=keys, year=year).values_list(
        "account_id", "currency", "amount"
    ):
        grouped[int(account)][Currency(currency)] = int(amount)
    return [{currency: grouped[key].get(currency, 0) for currency in Currency} for key in keys]


async def lock_balances(account_id: int, amounts: Mapping[Currency, int]) -> dict[Currency, Balance]:
    """Lock the member's balance rows the posting moves (always in currency order), then check them."""
    balances = {
        balance.currency: balance
        for balance in await Balance.filter(account_id=account_id, currency__in=list(amounts))
        .select_for_update()
        .order_by("currency")
    }
    for currency, amount in amounts.items():
        current = balances[currency].amount if currency in balances else 0
        if currency in NON_NEGATIVE and current + amount < 0:
            raise InsufficientBalance(f"Not enough {currency.value}: {current} available.", field="amounts")
    return balances


async def write_posting(spec: PostingSpec, balances: dict[Currency, Balance]) -> Posting:
    """The posting, its member and counter entries, the moved balances and its domain event (inside the
    transaction)."""
    posting = await Posting.create(
        account_id=spec.account_id,
        idempotency_key=spec.idempotency_key,
        source=spec.source,
        partner_reference=spec.partner_reference,
        rule_version=spec.rule_version,
        activity_date=spec.activity_date,
        description=spec.description,
    )
    items = list(spec.amounts.items())
    await Entry.bulk_create(
        [Entry(posting_id=posting.id, account_id=spec.account_id, currency=c, amount=a) for c, a in items]
    )
    await CounterEntry.bulk_create(
        [
            CounterEntry(
                posting_id=posting.id,
                account_id=spec.account_id,
                counter_account=spec.counter_account,
                currency=currency,
                amount=-amount,
            )
            for currency, amount in items
        ]
    )
    for currency, amount in items:
        balance = balances.get(currency)
        if balance is None:
            await Balance.create(account_id=spec.account_id, currency=currency, amount=amount)
        else:
            balance.amount += amount
            await balance.save(update_fields=["amount", "updated_at"])
    await _move_year_counters(spec, items)
    await record(
        account_id=spec.account_id,
        type=EventType.POSTING_CREATED,
        posting_id=posting.id,
        payload={
            "postingId": posting.id,
            "source": spec.source,
            "amounts": {currency.value: amount for currency, amount in items},
            "activityDate": spec.activity_date.isoformat(),
            "partnerReference": spec.partner_reference,
            "description": spec.description,
            "ruleVersion": spec.rule_version,
        },
    )
    return posting
