"""Award tickets earn nothing (DOMAIN.md 3.2): a retro-credit request for one is not eligible."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gateway.settings import Settings
from loyalty.auth.models import TotpFactor
from loyalty.awards.booking import book_award
from loyalty.awards.config import FareFamily, current_awards
from loyalty.awards.pricing import AwardFlight
from loyalty.crediting import post
from loyalty.earning.model import Cabin, Money
from loyalty.ledger.models import Currency, Posting, PostingSource
from loyalty.retro_credit.models import RetroCreditReason, RetroCreditState
from loyalty.retro_credit.service import request_retro_credit
from loyalty.rules import current_rules
from partners.charts import current_earning_chart
from partners.models import Partner
from tests.factories import make_member, make_partner
from tests.loyalty.retro_credit_helpers import FLIGHT_DAY, NOW, claim, flown

RULES = current_rules()
CHART = current_earning_chart()


async def test_a_retro_credit_request_for_an_award_ticket_is_not_eligible(db: Settings) -> None:
    # given: LH400 FRA-JFK in Business booked as an award (Flex at EUR 2,000: 224,000 miles), then flown
    account_id = int((await make_member()).member.id)
    booked_on = NOW - dt.timedelta(days=60)
    await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: 300_000},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key="seed",
        activity_date=booked_on.date(),
        rule_version="test",
        rules=RULES,
    )
    await TotpFactor.create(account_id=account_id, secret_encrypted="x", confirmed_at=booked_on)
    award = AwardFlight(
        "LH", "400", "FRA", "JFK", FLIGHT_DAY, Cabin.BUSINESS, FareFamily.FLEX, Money(Decimal("2000"), "EUR")
    )
    booking = await book_award(
        account_id=account_id,
        flight=award,
        request_id="r",
        miles_to_pay=None,
        confirmation=None,
        awards=current_awards(),
        rates=CHART.rates,
        rules=RULES,
        now=booked_on,
    )
    assert booking.miles == 224_000
    await make_partner("lufthansa")
    await flown((await Partner.get(code="lufthansa")).id, ticket_number=booking.ticket_number)

    # when
    request = await request_retro_credit(
        account_id=account_id,
        claim=claim(ticket_number=booking.ticket_number),
        rules=RULES,
        chart=CHART,
        now=NOW,
    )

    # then
    assert (request.state, request.reason) == (RetroCreditState.REJECTED, RetroCreditReason.NON_ELIGIBLE_FARE)
    assert not await Posting.filter(account_id=account_id, source=PostingSource.RETRO_CREDIT).exists()
