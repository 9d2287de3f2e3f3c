"""Random sequences of credits, debits, expiry runs and reversals keep the ledger's invariants.

Points credits carry Qualifying Points, so statuses are reached (and miles protected) on the way.
After every sequence: each balance equals the sum of its entries, each calendar-year counter the sum
of that year's entries, the lots hold exactly the
award-miles balance, every posting balances against its counter entries, the sum of all entries per
currency is zero (``verify_ledger`` checks all four), and no award-miles balance is negative.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.settings import Settings
from loyalty.crediting import post
from loyalty.ledger.expiry import expire_due
from loyalty.ledger.models import Currency, Posting, PostingSource
from loyalty.ledger.reversal import reverse_posting
from loyalty.ledger.service import InsufficientBalance, balances_of, open_balances
from loyalty.ledger.verify import verify_ledger
from loyalty.members.models import Member
from loyalty.rules import current_rules

START = dt.date(2015, 1, 1)
numbers = itertools.count(100_000_000)
operation = st.one_of(
    st.tuples(st.just("credit"), st.integers(1, 5_000), st.integers(0, 3_000)),
    st.tuples(st.just("debit"), st.integers(1, 6_000), st.integers(0, 3_000)),
    st.tuples(st.just("points"), st.integers(-50, 1_500).filter(bool), st.integers(0, 3_000)),
    st.tuples(st.just("expire"), st.just(0), st.integers(0, 3_500)),
    st.tuples(st.just("reverse"), st.integers(0, 20), st.integers(0, 3_500)),
)


async def _bare_member() -> int:
    """A member row without enrolment (no PIN hashing): enough for the ledger."""
    member = await Member.create(
        account_number=str(next(numbers)),
        given_name="Prop",
        family_name="Erty",
        date_of_birth=dt.date(1980, 1, 1),
        country="DE",
        pin_hash="x",
    )
    await open_balances(account_id=member.id)
    return int(member.id)


async def _apply(account_id: int, step: int, op: tuple[str, int, int], expected: int) -> int:
    """Apply one operation; returns the award-miles balance the model expects (None after expiry)."""
    kind, amount, offset = op
    day = START + dt.timedelta(days=offset)
    if kind in {"expire", "reverse"}:
        await (_expire(day) if kind == "expire" else _reverse(account_id, amount, day))
        return (await balances_of(account_id=account_id))[Currency.AWARD_MILES]
    currency = Currency.POINTS if kind == "points" else Currency.AWARD_MILES
    signed = -amount if kind == "debit" else amount
    amounts = {currency: signed}
    if kind == "points":  # with Qualifying Points, so the status engine upgrades along the way
        amounts[Currency.QUALIFYING_POINTS] = signed
    try:
        await post(
            account_id=account_id,
            amounts=amounts,
            source=PostingSource.REDEMPTION if kind == "debit" else PostingSource.PARTNER_ACCRUAL,
            idempotency_key=f"prop:{account_id}:{step}",
            activity_date=day,
            rule_version="test",
            rules=current_rules(),
        )
    except InsufficientBalance:
        assert kind == "debit" and amount > expected
        return expected
    return expected + signed if currency is Currency.AWARD_MILES else expected


async def _expire(day: dt.date) -> None:
    await expire_due(as_of=day, rules=current_rules(), batch=3)


async def _reverse(account_id: int, pick: int, day: dt.date) -> None:
    """Reverse one of the member's credits or debits (a reversal may fail for lack of miles)."""
    postings = await Posting.filter(
        account_id=account_id, source__in=["PARTNER_ACCRUAL", "REDEMPTION"]
    ).order_by("id")
    if not postings:
        return
    with contextlib.suppress(InsufficientBalance):
        await reverse_posting(
            posting_id=postings[pick % len(postings)].id,
            activity_date=day,
            rule_version="test",
            rules=current_rules(),
        )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=1, max_size=12))
async def test_random_sequences_keep_the_ledger_invariants(
    db: Settings, ops: list[tuple[str, int, int]]
) -> None:
    account_id = await _bare_member()
    expected = 0
    for step, op in enumerate(ops):
        expected = await _apply(account_id, step, op, expected)
        assert expected >= 0
    assert (await balances_of(account_id=account_id))[Currency.AWARD_MILES] == expected
    report = await verify_ledger(batch=7)
    assert report.drifts == []
