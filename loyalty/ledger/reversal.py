"""Reversing a posting: a cancelled redemption, a partner's cancelled accrual, an admin's undo.

The reversal is the mirror posting against the same counter account, posted once (idempotency key
``reversal:{posting_id}``). A reversed debit gives the miles back to the lots it took them from, with
their original expiry; a reversed credit takes its miles back from its own lot first, then from the
lots expiring first. Expiries and reversals are not reversed: expired miles are never reactivated.
"""

from __future__ import annotations

import datetime as dt

from loyalty.errors import NotFound, ValidationFailed
from loyalty.ledger.lots import restore_allocations, take_back_credit
from loyalty.ledger.models import CounterEntry, Currency, Entry, Posting
from loyalty.ledger.service import (
    PostingResult,
    PostingSpec,
    counter_account_for,
    lock_balances,
    run_once,
    write_posting,
)
from loyalty.rules import current_rules

REVERSAL_SOURCE = "REVERSAL"
NOT_REVERSIBLE = frozenset({"EXPIRY", REVERSAL_SOURCE})


async def reverse_posting(
    *, posting_id: int, activity_date: dt.date, rule_version: str, description: str = ""
) -> PostingResult:
    """Post the mirror of ``posting_id`` once; a second call returns the first reversal."""
    original = await Posting.get_or_none(id=posting_id)
    if original is None:
        raise NotFound("No such posting.", field="postingId", code="POSTING_NOT_FOUND")
    if original.source in NOT_REVERSIBLE:
        raise ValidationFailed(
            f"A {original.source} posting cannot be reversed.", field="postingId", code="NOT_REVERSIBLE"
        )
    counter = await CounterEntry.filter(posting_id=posting_id).first()
    entries = await Entry.filter(posting_id=posting_id, account_id=original.account_id)
    spec = PostingSpec(
        account_id=original.account_id,
        amounts={Currency(entry.currency): -entry.amount for entry in entries},
        source=REVERSAL_SOURCE,
        idempotency_key=f"reversal:{posting_id}",
        activity_date=activity_date,
        rule_version=rule_version,
        counter_account=counter.counter_account if counter else counter_account_for(original.source),
        partner_reference=original.partner_reference,
        description=description or f"Reversal of posting {posting_id}",
    )

    async def body() -> Posting:
        posting = await write_posting(spec, await lock_balances(spec.account_id, spec.amounts))
        await _move_lots(spec, original, posting.id)
        return posting

    result = await run_once(spec.idempotency_key, body)
    assert result is not None  # body always writes or raises
    return result


async def _move_lots(spec: PostingSpec, original: Posting, posting_id: int) -> None:
    miles = spec.amounts.get(Currency.AWARD_MILES, 0)
    if miles > 0:
        await restore_allocations(
            original_posting_id=original.id,
            posting_id=posting_id,
            account_id=spec.account_id,
            amount=miles,
            earned_on=original.activity_date,
            months=current_rules().expiry.validity_months,
        )
    elif miles < 0:
        await take_back_credit(
            original_posting_id=original.id, posting_id=posting_id, account_id=spec.account_id, amount=-miles
        )
