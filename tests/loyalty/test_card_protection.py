"""Credit-card mileage protection (issue 4, DOMAIN.md 5): a bank's reports open and close protection."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.settings import Settings
from loyalty.crediting import post
from loyalty.errors import Conflict, NotFound
from loyalty.ledger.card_protection import (
    CardReport,
    CardReportKind,
    apply_card_report,
    cards_of,
    protection_ends,
    protection_starts,
)
from loyalty.ledger.expiry import expire_due
from loyalty.ledger.models import CardProduct, Currency, Lot, PostingSource
from loyalty.ledger.service import balances_of
from loyalty.rules import current_rules
from tests.factories import make_member

RULES = current_rules()
CC = RULES.credit_card_protection
STANDARD, UNLIMITED = CardProduct.STANDARD, CardProduct.UNLIMITED
ISSUED, BROKEN, CANCELLED = CardReportKind.ISSUED, CardReportKind.CONDITIONS_BROKEN, CardReportKind.CANCELLED


@pytest.mark.parametrize(
    ("product", "issued", "starts"),
    [
        (STANDARD, dt.date(2025, 1, 15), dt.date(2025, 4, 15)),
        (UNLIMITED, dt.date(2025, 1, 15), dt.date(2025, 1, 15)),
    ],
)
def test_when_protection_starts(product: CardProduct, issued: dt.date, starts: dt.date) -> None:
    assert protection_starts(product, issued, CC) == starts


@pytest.mark.parametrize(
    ("product", "kind", "day", "ends"),
    [
        # Expiry resumes in the quarter after the statement notice.
        (STANDARD, BROKEN, dt.date(2025, 8, 10), dt.date(2025, 9, 30)),
        (STANDARD, CANCELLED, dt.date(2025, 12, 31), dt.date(2025, 12, 31)),
        # Unlimited: the spend does not matter; cancellation keeps 3 months after its quarter's end.
        (UNLIMITED, BROKEN, dt.date(2025, 8, 10), None),
        (UNLIMITED, CANCELLED, dt.date(2025, 5, 20), dt.date(2025, 9, 30)),
        (UNLIMITED, CANCELLED, dt.date(2025, 7, 1), dt.date(2025, 12, 31)),
    ],
)
def test_when_protection_ends(
    product: CardProduct, kind: CardReportKind, day: dt.date, ends: dt.date | None
) -> None:
    assert protection_ends(product, kind, day, CC) == ends


async def _member_with_lots() -> int:
    account = int((await make_member()).member.id)
    # Lots expiring 31.03.2025 and 30.06.2025.
    for key, day in (("q1", dt.date(2022, 1, 10)), ("q2", dt.date(2022, 4, 10))):
        await post(
            account_id=account,
            amounts={Currency.AWARD_MILES: 1000},
            source=PostingSource.PARTNER_ACCRUAL,
            idempotency_key=f"{account}-{key}",
            activity_date=day,
            rule_version="test",
            rules=RULES,
        )
    return account


async def _report(account: int, kind: CardReportKind, day: dt.date, product: CardProduct = STANDARD) -> None:
    await apply_card_report(
        account_id=account,
        partner_code="bank",
        report=CardReport(card_reference="card-1", product=product, kind=kind, effective_on=day),
        rules=CC,
    )


async def _miles(account: int) -> int:
    return (await balances_of(account_id=account))[Currency.AWARD_MILES]


async def test_a_standard_card_protects_after_three_months_until_the_notice_quarter_ends(
    db: Settings,
) -> None:
    account = await _member_with_lots()
    await _report(account, ISSUED, dt.date(2025, 1, 15))  # protects from 15.04.2025

    # The lot due 31.03.2025 expired before the protection started: it goes.
    await expire_due(as_of=dt.date(2025, 4, 1), rules=RULES)
    assert await _miles(account) == 1000
    # The lot due 30.06.2025 is protected.
    report = await expire_due(as_of=dt.date(2025, 7, 1), rules=RULES)
    assert (report.lots_expired, report.lots_protected) == (0, 1)

    await _report(account, BROKEN, dt.date(2025, 8, 10))
    assert (await expire_due(as_of=dt.date(2025, 9, 30), rules=RULES)).lots_expired == 0
    # Expiry resumes in the quarter after the notice.
    assert (await expire_due(as_of=dt.date(2025, 10, 1), rules=RULES)).lots_expired == 1
    assert await _miles(account) == 0
    [card] = await cards_of(account_id=account)
    assert card.conditions_broken_on == dt.date(2025, 8, 10)
    assert card.protection.ends_on == dt.date(2025, 9, 30)


async def test_an_unlimited_card_protects_from_issue_with_grace_after_cancellation(db: Settings) -> None:
    account = await _member_with_lots()
    await _report(account, ISSUED, dt.date(2024, 12, 1), UNLIMITED)
    await _report(account, BROKEN, dt.date(2025, 2, 1), UNLIMITED)  # no spend: does not matter
    assert (await expire_due(as_of=dt.date(2025, 7, 1), rules=RULES)).lots_protected == 2
    await _report(account, CANCELLED, dt.date(2025, 5, 20), UNLIMITED)  # grace to 30.09.2025
    assert (await expire_due(as_of=dt.date(2025, 9, 30), rules=RULES)).lots_expired == 0
    assert (await expire_due(as_of=dt.date(2025, 10, 1), rules=RULES)).lots_expired == 2


async def test_reports_are_idempotent_and_cards_belong_to_one_member(db: Settings) -> None:
    account = await _member_with_lots()
    await _report(account, ISSUED, dt.date(2025, 1, 15))
    await _report(account, ISSUED, dt.date(2025, 1, 15))
    assert len(await cards_of(account_id=account)) == 1
    other = int((await make_member("other@example.com")).member.id)
    with pytest.raises(Conflict) as refused:
        await _report(other, ISSUED, dt.date(2025, 1, 15))
    assert refused.value.code == "CARD_OF_ANOTHER_MEMBER"
    with pytest.raises(NotFound) as unknown:
        await apply_card_report(
            account_id=account,
            partner_code="bank",
            report=CardReport(
                card_reference="never", product=STANDARD, kind=BROKEN, effective_on=dt.date(2025, 1, 1)
            ),
            rules=CC,
        )
    assert unknown.value.code == "CARD_NOT_REPORTED"


async def test_a_card_protects_only_its_holder(db: Settings) -> None:
    holder = await _member_with_lots()
    other = int((await make_member("other@example.com")).member.id)
    await post(
        account_id=other,
        amounts={Currency.AWARD_MILES: 700},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key="other",
        activity_date=dt.date(2022, 4, 10),
        rule_version="test",
        rules=RULES,
    )
    await _report(holder, ISSUED, dt.date(2024, 1, 1))
    await expire_due(as_of=dt.date(2025, 7, 1), rules=RULES)
    assert await _miles(holder) == 2000
    assert await _miles(other) == 0
    assert await Lot.filter(account_id=holder, remaining__gt=0).count() == 2
