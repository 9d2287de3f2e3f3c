"""The one posting path every change of miles or points goes through.

A posting is written with its entries and the balances are moved in the same transaction, with the
balance rows locked (``SELECT ... FOR UPDATE`` on PostgreSQL), so balances always equal the sum of
their entries and award miles never go below zero. The idempotency key makes a repeat a no-op that
returns the first result. (Issue "The mileage ledger" adds counter accounts, lots and expiry.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.errors import ValidationFailed
from loyalty.ledger.models import Balance, Currency, Entry, Posting

NON_NEGATIVE = frozenset({Currency.AWARD_MILES})


class InsufficientBalance(ValidationFailed):
    code = "INSUFFICIENT_BALANCE"


@dataclass(frozen=True, slots=True)
class PostingResult:
    posting_id: int
    created: bool
    """False when the idempotency key had been posted before and nothing changed now."""


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
) -> PostingResult:
    """Write one posting; a second call with the same key returns the first posting unchanged."""
    if not amounts or any(amount == 0 for amount in amounts.values()):
        raise ValidationFailed("A posting moves a non-zero amount.", field="amounts", code="EMPTY_POSTING")
    existing = await Posting.get_or_none(idempotency_key=idempotency_key).only("id")
    if existing is not None:
        return PostingResult(posting_id=existing.id, created=False)
    try:
        async with in_transaction():
            balances = {
                balance.currency: balance
                for balance in await Balance.filter(account_id=account_id, currency__in=list(amounts))
                .select_for_update()
                .order_by("currency")
            }
            for currency, amount in amounts.items():
                current = balances[currency].amount if currency in balances else 0
                if currency in NON_NEGATIVE and current + amount < 0:
                    raise InsufficientBalance(
                        f"Not enough {currency.value}: {current} available.", field="amounts"
                    )
            posting = await Posting.create(
                account_id=account_id,
                idempotency_key=idempotency_key,
                source=source,
                partner_reference=partner_reference,
                rule_version=rule_version,
                activity_date=activity_date,
                description=description,
            )
            await Entry.bulk_create(
                [
                    Entry(posting_id=posting.id, account_id=account_id, currency=currency, amount=amount)
                    for currency, amount in amounts.items()
                ]
            )
            for currency, amount in amounts.items():
                balance = balances.get(currency)
                if balance is None:
                    await Balance.create(account_id=account_id, currency=currency, amount=amount)
                else:
                    balance.amount += amount
                    await balance.save(update_fields=["amount", "updated_at"])
    except IntegrityError:
        # A concurrent call with the same key won the race; its posting is the answer.
        winner = await Posting.get_or_none(idempotency_key=idempotency_key).only("id")
        if winner is None:
            raise
        return PostingResult(posting_id=winner.id, created=False)
    return PostingResult(posting_id=posting.id, created=True)
