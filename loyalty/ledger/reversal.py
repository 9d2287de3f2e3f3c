"""Reversing a posting: a cancelled redemption, a partner's cancelled accrual, an admin's undo.

The reversal is the mirror posting against the same counter account, posted once (idempotency key
``reversal:{posting_id}``). A reversed debit gives the miles back to the lots it took them from, with
their original expiry; a reversed credit takes its miles back from its own lot first, then from the
lots expiring first. Expiries and reversals are not reversed: expired miles are never reactivated; nor
is an exchange of miles for status (DOMAIN.md 3.4: it cannot be undone).
"""

from __future__ import annotations

import datetime as dt

from loyalty.errors import NotFound, ValidationFailed
from loyalty.ledger.lots import restore_allocations, take_back_credit
from loyalty.ledger.models import CounterEntry, Currency, Entry, Posting, PostingSource
from loyalty.ledger.service import PostingResult, PostingSpec, counter_account_for, run_once, write_posting
from loyalty.rules import ProgrammeRules

NOT_REVERSIBLE = frozenset({PostingSource.EXPIRY, PostingSource.REVERSAL, PostingSource.MILES_TO_STATUS})


async def reverse_posting(
    *,
    posting_id: int,
    activity_date: dt.date,
    rule_version: str,
    rules: ProgrammeRules,
    description: str = "",
) -> PostingResult:
    """Post the mirror of ``posting_id`` once; a second call returns the first reversal.

    ``rule_version`` is recorded on the reversal; ``rules`` give the validity of a lot opened for miles
    a debit took before lots existed. No status is evaluated (``ledger.service.write_posting``).
    """
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
        source=PostingSource.REVERSAL,
        idempotency_key=f"reversal:{posting_id}",
        activity_date=activity_date,
        rule_version=rule_version,
        counter_account=counter.counter_account if counter else counter_account_for(original.source),
        partner_reference=original.partner_reference,
        description=description or f"Reversal of posting {posting_id}",
    )

    async def body() -> Posting:
        posting = await write_posting(spec)
        await _move_lots(spec, original, posting.id, validity_months=rules.expiry.validity_months)
        return posting

    result = await run_once(spec.idempotency_key, body)
    assert result is not None  # body always writes or raises
    return result


async def _move_lots(spec: PostingSpec, original: Posting, posting_id: int, *, validity_months: int) -> None:
    miles = spec.amounts.get(Currency.AWARD_MILES, 0)
    if miles > 0:
        await restore_allocations(
            original_posting_id=original.id,
            posting_id=posting_id,
            account_id=spec.account_id,
            amount=miles,
            earned_on=original.activity_date,
            months=validity_months,
        )
    elif miles < 0:
        await take_back_credit(
            original_posting_id=original.id, posting_id=posting_id, account_id=spec.account_id, amount=-miles
        )
