"""Crediting: the posting path every change of miles or points takes when status may follow.

It sits above the ledger and the status engine and joins them, in one transaction: post the entries
(``loyalty.ledger.service``), then - when the posting credits Points, Qualifying Points, HON Circle
Points or lifetime Qualifying Points - evaluate the member's status (``loyalty.status.engine``), so
crossing a threshold upgrades at once and atomically with the credit. Flown and retro-credited
flights, partner accruals, photo credits, offer and challenge bonuses, the first-app-login bonus and
redemptions all post through :func:`post`.

The rules are the caller's: whoever handles the request (resolver, webhook worker, CLI) loaded them
once and passes them down. Expiry, reversals and pooled redemptions choose their own lots and write
through ``loyalty.ledger.service.write_posting`` instead (its docstring says why).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from loyalty.ledger.batch import write_credits
from loyalty.ledger.models import STATUS_CURRENCIES, CounterAccount, Currency, Posting, PostingSource
from loyalty.ledger.service import PostingResult, PostingSpec, posting_spec, run_once, write_with_lots
from loyalty.members.models import Member
from loyalty.rules import ProgrammeRules
from loyalty.status.engine import evaluate

STATUS_LOCKING = frozenset({*STATUS_CURRENCIES, Currency.LIFETIME_QUALIFYING_POINTS})
"""Crediting one of these runs the status engine, which locks the member row first."""


async def post(
    *,
    account_id: int,
    amounts: Mapping[Currency, int],
    source: PostingSource,
    idempotency_key: str,
    activity_date: dt.date,
    rule_version: str,
    rules: ProgrammeRules,
    partner_reference: str | None = None,
    description: str = "",
    counter_account: CounterAccount | None = None,
    today: dt.date | None = None,
) -> PostingResult:
    """Write one posting; a second call with the same key returns the first posting unchanged.

    ``rule_version`` is what the posting records (the rules its amounts were computed by); ``rules``
    are what it applies: the award-miles lot's validity and the status thresholds. A credit of Points,
    Qualifying Points or HON Circle Points is followed, in the same transaction, by the status engine
    (``loyalty.status.engine.evaluate``); ``today`` is the business date it judges by (default: today,
    UTC). Award miles never go below zero (``InsufficientBalance``, nothing written).
    """
    spec = posting_spec(
        account_id=account_id,
        amounts=amounts,
        source=source,
        idempotency_key=idempotency_key,
        activity_date=activity_date,
        rule_version=rule_version,
        partner_reference=partner_reference,
        description=description,
        counter_account=counter_account,
    )
    day = today or dt.datetime.now(dt.UTC).date()
    result = await run_once(idempotency_key, lambda: _post_and_evaluate(spec, rules, day))
    assert result is not None  # _post_and_evaluate always writes or raises
    return result


def _credits_status(spec: PostingSpec) -> bool:
    """Whether the posting credits a currency the status engine counts."""
    return any(spec.amounts.get(currency, 0) > 0 for currency in STATUS_LOCKING)


async def _post_and_evaluate(spec: PostingSpec, rules: ProgrammeRules, today: dt.date) -> Posting:
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
    posting = await write_with_lots(spec, validity_months=rules.expiry.validity_months)
    if status_credit:
        await evaluate(account_id=spec.account_id, year=spec.activity_date.year, today=today, rules=rules)
    return posting


async def post_credits(
    specs: Sequence[PostingSpec], *, rules: ProgrammeRules, today: dt.date | None = None
) -> dict[str, PostingResult]:
    """Many credits at once, in the caller's transaction (PostgreSQL): :func:`post` for each, with one
    statement per kind of row for the whole batch (``loyalty.ledger.batch``); the result per key.

    The status engine runs once per member and activity year whose status currencies the new postings
    moved, after all of them; a posting of award miles alone never runs it. ``BatchNotApplicable``
    (nothing written) asks the caller to post one by one.
    """
    day = today or dt.datetime.now(dt.UTC).date()
    results = await write_credits(
        specs, validity_months=rules.expiry.validity_months, now=dt.datetime.now(dt.UTC)
    )
    moved = sorted(
        {
            (spec.account_id, spec.activity_date.year)
            for spec in specs
            if results[spec.idempotency_key].created and _credits_status(spec)
        }
    )
    for account_id, year in moved:
        await evaluate(account_id=account_id, year=year, today=day, rules=rules)
    return results
