"""The status-progress view over GraphQL (issue 4): tier, validity, counters, missing points, eVouchers."""

from __future__ import annotations

import datetime as dt

from httpx2 import AsyncClient
from starlette.applications import Starlette

from gateway.settings import Settings
from loyalty.crediting import post
from loyalty.ledger.models import Currency, PostingSource
from loyalty.members.models import Member
from loyalty.rules import current_rules
from tests.factories import enrolled_member, gql, identified_token

QUERY = """
query {
  me {
    tier
    balances { points qualifyingPoints awardMiles lifetimeQualifyingPoints }
    status {
      tier validUntil lifetimeTier year lifetimeQualifyingPoints
      counters { currency amount }
      nextTier { tier reached validUntilIfReached missing { currency amount } }
      keepTier { tier reached missing { currency amount } }
    }
    statusHistory { fromTier toTier change validUntil qualifyingYear }
    eVouchers { tier availableFrom expiresOn used }
  }
}
"""


async def _credit(account_id: int, key: str, day: dt.date, amounts: dict[Currency, int]) -> None:
    await post(
        account_id=account_id,
        amounts=amounts,
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=key,
        activity_date=day,
        rule_version="test",
        rules=current_rules(),
    )


async def test_status_progress_of_a_new_member_and_after_an_upgrade(
    app: Starlette, client: AsyncClient, settings: Settings
) -> None:
    enrolled = await enrolled_member(client)
    token = await identified_token(app, enrolled["accountNumber"])
    today = dt.datetime.now(dt.UTC).date()

    before = (await gql(client, QUERY, token=token))["data"]["me"]
    assert before["status"]["tier"] == "BASE"
    assert before["status"]["keepTier"] is None
    assert before["status"]["nextTier"]["tier"] == "FTL"
    assert before["status"]["nextTier"]["missing"] == [
        {"currency": "POINTS", "amount": 650},
        {"currency": "QUALIFYING_POINTS", "amount": 325},
    ]

    member = await Member.get(account_number=enrolled["accountNumber"])
    await _credit(
        member.id,
        "last-year",
        today.replace(year=today.year - 1, month=6, day=1),
        {Currency.POINTS: 300, Currency.QUALIFYING_POINTS: 100},
    )
    await _credit(
        member.id,
        "this-year",
        today,
        {Currency.POINTS: 700, Currency.QUALIFYING_POINTS: 700, Currency.AWARD_MILES: 2000},
    )
    after = (await gql(client, QUERY, token=token))["data"]["me"]
    assert after["tier"] == "FTL"
    # Points count per calendar year: last year's 300 are not among this year's.
    assert after["balances"]["points"] == 700
    assert after["balances"]["qualifyingPoints"] == 700
    assert after["balances"]["lifetimeQualifyingPoints"] == 800
    status = after["status"]
    assert status["tier"] == "FTL"
    assert status["validUntil"].startswith(f"{today.year + 2}-02-")
    assert status["year"] == today.year
    assert status["lifetimeQualifyingPoints"] == 800
    assert status["keepTier"]["reached"] is True
    assert status["nextTier"]["tier"] == "SEN"
    assert status["nextTier"]["missing"] == [
        {"currency": "POINTS", "amount": 1300},
        {"currency": "QUALIFYING_POINTS", "amount": 300},
    ]
    assert after["statusHistory"] == [
        {
            "fromTier": "BASE",
            "toTier": "FTL",
            "change": "ACHIEVED",
            "validUntil": status["validUntil"],
            "qualifyingYear": today.year,
        }
    ]
    # 700 QP as Frequent Traveller: the configured Extra Benefit voucher.
    assert [v["tier"] for v in after["eVouchers"]] == ["FTL"]
