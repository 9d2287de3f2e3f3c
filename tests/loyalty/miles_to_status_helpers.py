"""Setting up a credit-card holder for the miles-to-status tests: the bank's card report and its accruals,
through the same services the bank's webhooks reach."""

from __future__ import annotations

import datetime as dt

from loyalty.ledger.card_protection import CardReport, CardReportKind, apply_card_report
from loyalty.ledger.models import CardProduct
from loyalty.rules import current_rules
from partners.models import Partner, PartnerKind
from tests.factories import make_partner
from webhooks.accruals import credit_accrual

RULES = current_rules()
TODAY = dt.date(2026, 6, 15)
BANK = "dkb"


async def bank() -> Partner:
    await make_partner(BANK, PartnerKind.BANK)
    return await Partner.get(code=BANK)


async def issue_card(account_id: int, *, feature: bool = True, reference: str = "tok_card_1") -> None:
    await apply_card_report(
        account_id=account_id,
        partner_code=BANK,
        report=CardReport(
            card_reference=reference,
            product=CardProduct.STANDARD,
            kind=CardReportKind.ISSUED,
            effective_on=dt.date(2024, 1, 10),
            miles_to_status=feature,
        ),
        rules=RULES.credit_card_protection,
    )


async def bank_accrual(
    partner: Partner,
    card_number: str,
    transaction_id: str,
    miles: int,
    day: dt.date,
    *,
    category: str | None = "card_spend",
) -> int:
    """The bank credits ``miles``: card spend, or (category None) a welcome or promotion bonus."""
    data: dict[str, object] = {
        "transactionId": transaction_id,
        "member": {"serviceCardNumber": card_number},
        "activityDate": day.isoformat(),
        "miles": miles,
    }
    if category is not None:
        data["category"] = category
        data["cardSpend"] = {"amount": "100.00", "currency": "EUR"}
    _, result = await credit_accrual(
        partner_id=partner.id,
        partner_code=partner.code,
        event={"type": "accrual.created", "data": data},
        rules=RULES,
        today=TODAY,
    )
    return result.posting_id
