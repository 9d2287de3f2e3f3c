"""The ledger's write path: postings of entries, balances moved with them, and award-miles lots.

A posting is written with its entries and the balances are moved in the same transaction, with the
balance rows locked (``SELECT ... FOR UPDATE`` on PostgreSQL), so balances always equal the sum of
their entries and award miles never go below zero. The idempotency key makes a repeat a no-op that
returns the first result (:func:`run_once`).

Double entry: every member entry is balanced by a counter entry on one of the programme's counter
accounts (partner liability, programme bonus, redemption, expiry, adjustment), so the sum of all
entries per currency is zero. Award-miles credits open lots; debits take lots in expiry order.

The ledger knows nothing of status: ``loyalty.crediting.post`` is the posting path that business code
calls (post the entries here, then evaluate status); :func:`write_posting` is the one lower-level write
beneath it, for the few callers that choose their lots themselves.
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
    PostingSource,
    YearCounter,
)

NON_NEGATIVE = frozenset({Currency.AWARD_MILES})
COUNTER_BY_SOURCE: Mapping[str, CounterAccount] = {
    PostingSource.PARTNER_ACCRUAL: CounterAccount.PARTNER_LIABILITY,
    PostingSource.RETRO_CREDIT: CounterAccount.PARTNER_LIABILITY,
    PostingSource.FLIGHT_ACCRUAL: CounterAccount.PARTNER_LIABILITY,
    PostingSource.PHOTO_CREDIT: CounterAccount.PARTNER_LIABILITY,
    PostingSource.FIRST_APP_LOGIN_BONUS: CounterAccount.PROGRAMME_BONUS,
    PostingSource.PROGRAMME_BONUS: CounterAccount.PROGRAMME_BONUS,
    PostingSource.DEMO: CounterAccount.PROGRAMME_BONUS,
    PostingSource.CHALLENGE: CounterAccount.PROGRAMME_BONUS,
    PostingSource.REDEMPTION: CounterAccount.REDEMPTION,
    PostingSource.MILES_TO_STATUS: CounterAccount.REDEMPTION,
    PostingSource.STATUS_STARS: CounterAccount.PROGRAMME_BONUS,
    PostingSource.EXPIRY: CounterAccount.EXPIRY,
}
"""Where a source's miles come from or go to (keyed by value, so a stored ``postings.source`` looks up too);
any other source (TEST, ADJUSTMENT) balances against ADJUSTMENT."""


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
    source: PostingSource
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
    """The counter account a posting balances against: the explicit one, else the source's (``source``
    may be a stored ``postings.source`` string)."""
    return explicit or COUNTER_BY_SOURCE.get(source, CounterAccount.ADJUSTMENT)


async def open_balances(*, account_id: int) -> None:
    """Create the zero balance rows of a new member (so later postings have rows to lock)."""
    await Balance.bulk_create([Balance(account_id=account_id, currency=currency) for currency in Currency])


async def balances_of(*, account_id: int) -> dict[Currency, int]:
    rows = await Balance.filter(account_id=account_id).values_list("currency", "amount")
    found = {Currency(currency): int(amount) for currency, amount in rows}
    return {currency: found.get(currency, 0) for currency in Currency}


def posting_spec(
    *,
    account_id: int,
    amounts: Mapping[Currency, int],
    source: PostingSource,
    idempotency_key: str,
    activity_date: dt.date,
    rule_version: str,
    partner_reference: str | None = None,
    description: str = "",
    counter_account: CounterAccount | None = None,
) -> PostingSpec:
    """The posting these amounts make: non-zero amounts only, Qualifying Points moving the lifetime
    counter too, balanced against ``counter_account`` or the source's counter account."""
    if not amounts or any(amount == 0 for amount in amounts.values()):
        raise ValidationFailed("A posting moves a non-zero amount.", field="amounts", code="EMPTY_POSTING")
    return PostingSpec(
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


async def write_with_lots(spec: PostingSpec, *, validity_months: int) -> Posting:
    """:func:`write_posting`, then the award-miles lots the usual way: a credit opens a lot valid
    ``validity_months`` from the activity date (to that quarter's end), a debit takes the lots expiring
    first. The body of ``loyalty.crediting.post``, inside its transaction."""
    posting = await write_posting(spec)
    miles = spec.amounts.get(Currency.AWARD_MILES, 0)
    if miles > 0:
        await open_lot(
            posting_id=posting.id,
            account_id=spec.account_id,
            amount=miles,
            earned_on=spec.activity_date,
            months=validity_months,
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


async def write_posting(spec: PostingSpec) -> Posting:
    """The one lower-level ledger write: lock the balance rows the posting moves and check none goes
    below zero (:class:`InsufficientBalance`), then write the posting, its member and counter entries,
    the moved balances and year counters, and its ``posting.created`` event. It moves no lots and does
    not evaluate status; call it inside :func:`run_once`'s transaction, after any member-row lock.

    Who calls it, and why:

    - :func:`write_with_lots`, the body of ``loyalty.crediting.post`` - the posting path for everything
      else (accruals, bonuses, retro credit, redemptions, ...), which evaluates status afterwards;
    - ``loyalty.ledger.expiry.expire_lot``: the miles of one given expired lot, not the first-expiring;
    - ``loyalty.ledger.reversal.reverse_posting``: the miles go back to (or come from) the lots of the
      posting it mirrors;
    - ``loyalty.pooling.redemption``: one debit per pool member, from the lots the pool's allocation
      chose across the members.

    Those three choose the lots themselves, which the usual path cannot, and they re-evaluate no status:
    expiry and redemptions move award miles only, and a reversal never took a status back (a status
    only falls when it runs out, ``loyalty.status.engine.expire_statuses``).
    """
    balances = await lock_balances(spec.account_id, spec.amounts)
    posting = await Posting.create(
        account_id=spec.account_id,
        idempotency_key=spec.idempotency_key,
        source=spec.source.value,
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
            "source": spec.source.value,
            "amounts": {currency.value: amount for currency, amount in items},
            "activityDate": spec.activity_date.isoformat(),
            "partnerReference": spec.partner_reference,
            "description": spec.description,
            "ruleVersion": spec.rule_version,
        },
    )
    return posting
