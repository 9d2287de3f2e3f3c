"""Miles expiry (DOMAIN.md 5): pure quarter-end dates, lots taken in expiry order, the expiry run, protection."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.settings import Settings
from loyalty.crediting import post
from loyalty.errors import ValidationFailed
from loyalty.ledger.expiry import (
    end_protection,
    expire_due,
    miles_expiring,
    protect,
    protection_until,
    refresh_lots_after_protection,
)
from loyalty.ledger.models import (
    CounterEntry,
    Currency,
    Lot,
    LotAllocation,
    Posting,
    PostingSource,
    ProtectionReason,
)
from loyalty.ledger.quarters import (
    ProtectionPeriod,
    add_months,
    expiry_date,
    is_protected,
    next_quarter_end,
    quarter_end,
)
from loyalty.ledger.reversal import reverse_posting
from loyalty.ledger.service import balances_of
from loyalty.ledger.verify import verify_ledger
from loyalty.rules import current_rules
from tests.factories import make_member

D = dt.date
QUARTER_ENDS = {(3, 31), (6, 30), (9, 30), (12, 31)}


@pytest.mark.parametrize(
    ("activity", "expires"),
    [
        (D(2016, 12, 12), D(2019, 12, 31)),  # DOMAIN.md example
        (D(2025, 2, 10), D(2028, 3, 31)),  # DOMAIN.md example
        (D(2025, 1, 1), D(2028, 3, 31)),  # first day of a quarter
        (D(2025, 3, 31), D(2028, 3, 31)),  # last day of a quarter stays in it
        (D(2025, 4, 1), D(2028, 6, 30)),  # next quarter
        (D(2025, 6, 30), D(2028, 6, 30)),
        (D(2025, 9, 30), D(2028, 9, 30)),
        (D(2025, 10, 1), D(2028, 12, 31)),
        (D(2025, 12, 31), D(2028, 12, 31)),  # year end
        (D(2024, 2, 29), D(2027, 3, 31)),  # leap day: 36 months later is 28.02.2027
        (D(2021, 2, 28), D(2024, 3, 31)),  # into a leap year
        (D(2025, 1, 31), D(2028, 3, 31)),  # month end
        (D(2025, 5, 31), D(2028, 6, 30)),
    ],
)
def test_expiry_is_the_quarter_end_36_months_on(activity: dt.date, expires: dt.date) -> None:
    assert expiry_date(activity) == expires


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2023, 1, 31), 1, D(2023, 2, 28)),
        (D(2025, 11, 30), 3, D(2026, 2, 28)),
        (D(2025, 12, 15), 36, D(2028, 12, 15)),
    ],
)
def test_add_months_keeps_the_day_or_the_month_end(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


def test_quarter_ends() -> None:
    assert quarter_end(D(2026, 11, 20)) == D(2026, 12, 31)
    assert next_quarter_end(D(2026, 11, 20)) == D(2027, 3, 31)
    assert next_quarter_end(D(2026, 3, 31)) == D(2026, 6, 30)


@given(st.dates(min_value=D(1990, 1, 1), max_value=D(2100, 12, 31)), st.integers(min_value=1, max_value=120))
def test_expiry_is_a_quarter_end_within_one_quarter_after_the_term(activity: dt.date, months: int) -> None:
    expires = expiry_date(activity, months)
    term = add_months(activity, months)
    assert (expires.month, expires.day) in QUARTER_ENDS
    assert term <= expires < add_months(term, 3) + dt.timedelta(days=1)
    assert expires > activity


@pytest.mark.parametrize(
    ("periods", "expires_on", "as_of", "protected"),
    [
        ([], D(2025, 3, 31), D(2025, 4, 1), False),
        ([ProtectionPeriod(D(2024, 1, 1), None)], D(2025, 3, 31), D(2025, 4, 1), True),  # status held
        ([ProtectionPeriod(D(2025, 4, 1), None)], D(2025, 3, 31), D(2025, 4, 1), False),  # too late
        ([ProtectionPeriod(D(2024, 1, 1), D(2025, 3, 31))], D(2025, 3, 31), D(2025, 4, 1), False),  # ended
        ([ProtectionPeriod(D(2024, 1, 1), D(2025, 4, 1))], D(2025, 3, 31), D(2025, 4, 1), True),
    ],
)
def test_protection_holds_from_before_the_expiry_date_until_the_run(
    periods: list[ProtectionPeriod], expires_on: dt.date, as_of: dt.date, protected: bool
) -> None:
    assert is_protected(expires_on, as_of, periods) is protected


async def _post(
    account_id: int, miles: int, key: str, day: dt.date, source: PostingSource = PostingSource.TEST
) -> None:
    await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: miles},
        source=source,
        idempotency_key=key,
        activity_date=day,
        rule_version="test",
        rules=current_rules(),
    )


async def test_a_credit_is_a_lot_expiring_at_the_quarter_end(db: Settings) -> None:
    member = (await make_member()).member
    await _post(member.id, 1200, "c1", D(2025, 2, 10), source=PostingSource.PARTNER_ACCRUAL)
    lot = await Lot.get(account_id=member.id)
    assert (lot.amount, lot.remaining, lot.earned_on, lot.expires_on) == (
        1200,
        1200,
        D(2025, 2, 10),
        D(2028, 3, 31),
    )
    counter = await CounterEntry.get(account_id=member.id)
    assert (counter.counter_account, counter.amount) == ("PARTNER_LIABILITY", -1200)


async def test_debits_take_the_lots_expiring_first(db: Settings) -> None:
    # given three lots, the middle one credited last
    member = (await make_member()).member
    await _post(member.id, 1000, "late", D(2025, 8, 1))
    await _post(member.id, 1000, "early", D(2024, 1, 5))
    await _post(member.id, 1000, "middle", D(2024, 11, 5))

    # when 1,500 miles are redeemed
    await _post(member.id, -1500, "redeem", D(2025, 9, 1), source=PostingSource.REDEMPTION)

    # then the earliest-expiring lot is empty, the next one half, and the debit says so
    lots = {
        lot.earned_on.year * 100 + lot.earned_on.month: lot.remaining
        for lot in await Lot.filter(account_id=member.id)
    }
    assert lots == {202401: 0, 202411: 500, 202508: 1000}
    posting = await Posting.get(idempotency_key="redeem")
    taken = await LotAllocation.filter(posting_id=posting.id).order_by("id")
    assert [allocation.amount for allocation in taken] == [1000, 500]
    counter = await CounterEntry.get(posting_id=posting.id)
    assert (counter.counter_account, counter.amount) == ("REDEMPTION", 1500)


async def test_the_expiry_run_expires_due_lots_once(db: Settings) -> None:
    # given a lot due at the end of 2019 (half spent) and one that is not due
    member = (await make_member()).member
    await _post(member.id, 1000, "old", D(2016, 12, 12))
    await _post(member.id, 700, "new", D(2019, 6, 1))
    await _post(member.id, -400, "spend", D(2017, 1, 1))
    seen: list[int] = []

    # when the run starts on 1.1.2020, twice
    first = await expire_due(as_of=D(2020, 1, 1), rules=current_rules(), batch=1, progress=seen.append)
    again = await expire_due(as_of=D(2020, 1, 1), rules=current_rules())

    # then the 600 left of the old lot expired, against the EXPIRY account, and nothing more
    assert (first.lots_expired, first.miles_expired, first.members) == (1, 600, 1)
    assert (again.lots_expired, again.miles_expired) == (0, 0)
    assert sum(seen) == 1
    assert (await balances_of(account_id=member.id))[Currency.AWARD_MILES] == 700
    expiry = await Posting.get(idempotency_key=f"expiry:{(await Lot.get(earned_on=D(2016, 12, 12))).id}")
    counter = await CounterEntry.get(posting_id=expiry.id)
    assert (counter.counter_account, counter.amount) == ("EXPIRY", 600)


async def test_the_last_day_of_the_quarter_is_still_valid(db: Settings) -> None:
    member = (await make_member()).member
    await _post(member.id, 1000, "old", D(2016, 12, 12))
    report = await expire_due(as_of=D(2019, 12, 31), rules=current_rules())
    assert report.lots_expired == 0


async def test_status_protection_stops_expiry_and_its_end_gives_a_fresh_term(db: Settings) -> None:
    # given a Senator since 2018 with miles from 2016
    member = (await make_member()).member
    await _post(member.id, 1000, "old", D(2016, 12, 12))
    await protect(account_id=member.id, reason=ProtectionReason.STATUS, starts_on=D(2018, 3, 1))
    assert await protection_until(account_id=member.id, day=D(2021, 1, 1)) == dt.date.max

    # then nothing expires while the status lasts
    kept = await expire_due(as_of=D(2021, 1, 1), rules=current_rules())
    assert (kept.lots_expired, kept.lots_protected) == (0, 1)
    assert await miles_expiring(account_id=member.id, today=D(2021, 1, 1)) == [
        (D(2021, 3, 31), 0),
        (D(2021, 6, 30), 0),
    ]

    # when the status ends on 28.02.2022, all lots get 36 months from that day, to the quarter end
    refreshed = await end_protection(
        account_id=member.id, reason=ProtectionReason.STATUS, ended_on=D(2022, 2, 28), rules=current_rules()
    )
    assert refreshed == 1
    assert (await Lot.get(account_id=member.id)).expires_on == D(2025, 3, 31)
    assert (await expire_due(as_of=D(2025, 3, 31), rules=current_rules())).lots_expired == 0
    assert (await expire_due(as_of=D(2025, 4, 1), rules=current_rules())).miles_expired == 1000


async def test_credit_card_protection_ending_lets_expiry_resume(db: Settings) -> None:
    member = (await make_member()).member
    await _post(member.id, 1000, "old", D(2016, 12, 12))
    await protect(account_id=member.id, reason=ProtectionReason.CREDIT_CARD, starts_on=D(2017, 1, 1))
    assert (await expire_due(as_of=D(2021, 1, 1), rules=current_rules())).lots_protected == 1
    await end_protection(
        account_id=member.id,
        reason=ProtectionReason.CREDIT_CARD,
        ended_on=D(2021, 6, 30),
        rules=current_rules(),
    )
    assert await protection_until(account_id=member.id, day=D(2021, 7, 1)) is None
    assert (await expire_due(as_of=D(2021, 7, 1), rules=current_rules())).miles_expired == 1000


async def test_refresh_never_shortens_a_lot(db: Settings) -> None:
    member = (await make_member()).member
    await _post(member.id, 300, "recent", D(2025, 5, 1))
    assert await refresh_lots_after_protection(member.id, D(2024, 1, 1)) == 0
    assert (await Lot.get(account_id=member.id)).expires_on == D(2028, 6, 30)


async def test_the_member_sees_miles_expiring_this_and_next_quarter(db: Settings) -> None:
    member = (await make_member()).member
    await _post(member.id, 100, "a", D(2023, 10, 5))  # expires 31.12.2026
    await _post(member.id, 200, "b", D(2024, 1, 5))  # expires 31.03.2027
    await _post(member.id, 400, "c", D(2024, 4, 5))  # expires 30.06.2027: later
    await _post(member.id, -50, "d", D(2026, 1, 5))
    assert await miles_expiring(account_id=member.id, today=D(2026, 11, 20)) == [
        (D(2026, 12, 31), 50),
        (D(2027, 3, 31), 200),
    ]


async def test_a_cancelled_redemption_gives_the_miles_back_to_the_same_lots(db: Settings) -> None:
    # given two lots and a redemption that took from both
    member = (await make_member()).member
    await _post(member.id, 1000, "early", D(2024, 1, 5))
    await _post(member.id, 1000, "late", D(2025, 8, 1))
    await _post(member.id, -1500, "redeem", D(2025, 9, 1), source=PostingSource.REDEMPTION)
    redemption = await Posting.get(idempotency_key="redeem")

    # when it is cancelled, twice
    first = await reverse_posting(
        posting_id=redemption.id, activity_date=D(2025, 9, 2), rule_version="test", rules=current_rules()
    )
    again = await reverse_posting(
        posting_id=redemption.id, activity_date=D(2025, 9, 2), rule_version="test", rules=current_rules()
    )

    # then both lots are whole again with their original expiry, against the REDEMPTION account
    assert first.created and not again.created and again.posting_id == first.posting_id
    lots = await Lot.filter(account_id=member.id).order_by("expires_on")
    assert [(lot.remaining, lot.expires_on) for lot in lots] == [
        (1000, D(2027, 3, 31)),
        (1000, D(2028, 9, 30)),
    ]
    counter = await CounterEntry.get(posting_id=first.posting_id)
    assert (counter.counter_account, counter.amount) == ("REDEMPTION", -1500)
    assert (await verify_ledger()).drifts == []


async def test_miles_given_back_to_an_expired_lot_expire_at_the_next_run(db: Settings) -> None:
    member = (await make_member()).member
    await _post(member.id, 1000, "old", D(2016, 12, 12))
    await _post(member.id, -400, "spend", D(2017, 1, 1), source=PostingSource.REDEMPTION)
    assert (await expire_due(as_of=D(2020, 1, 1), rules=current_rules())).miles_expired == 600
    await reverse_posting(
        posting_id=(await Posting.get(idempotency_key="spend")).id,
        activity_date=D(2020, 2, 1),
        rule_version="t",
        rules=current_rules(),
    )
    assert (await expire_due(as_of=D(2020, 2, 2), rules=current_rules())).miles_expired == 400
    assert (await balances_of(account_id=member.id))[Currency.AWARD_MILES] == 0
    assert (await verify_ledger()).drifts == []


async def test_a_reversed_credit_takes_its_own_lot_first_and_expiry_is_final(db: Settings) -> None:
    member = (await make_member()).member
    await _post(member.id, 1000, "early", D(2016, 12, 12))
    await _post(member.id, 500, "late", D(2025, 8, 1))
    late = await Posting.get(idempotency_key="late")
    await reverse_posting(
        posting_id=late.id, activity_date=D(2025, 9, 1), rule_version="test", rules=current_rules()
    )
    lots = await Lot.filter(account_id=member.id).order_by("expires_on")
    assert [lot.remaining for lot in lots] == [1000, 0]
    await expire_due(as_of=D(2020, 1, 1), rules=current_rules())
    expiry = await Posting.get(source="EXPIRY")
    with pytest.raises(ValidationFailed) as refused:
        await reverse_posting(
            posting_id=expiry.id, activity_date=D(2025, 9, 1), rule_version="test", rules=current_rules()
        )
    assert refused.value.code == "NOT_REVERSIBLE"
