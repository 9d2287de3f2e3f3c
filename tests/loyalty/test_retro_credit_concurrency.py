"""Retro credit under concurrency, on PostgreSQL (row locks are real there): deciders racing for one
request, and a request racing the airline's automatic accrual, credit the flight once."""

from __future__ import annotations

import asyncio

import pytest

from gateway.settings import Settings
from loyalty.flown.accrual import accrue_flown
from loyalty.ledger.models import Posting
from loyalty.ledger.verify import verify_ledger
from loyalty.retro_credit.decision import decide
from loyalty.retro_credit.models import RetroCreditRequest, RetroCreditState
from loyalty.retro_credit.service import request_retro_credit
from loyalty.rules import current_rules
from partners.charts import current_earning_chart
from partners.models import Partner
from tests.factories import make_member, make_partner
from tests.loyalty.retro_credit_helpers import NOW, claim, flown

pytestmark = pytest.mark.postgres
RULES = current_rules()
CHART = current_earning_chart()


async def _pending_request() -> tuple[int, int, int]:
    member_id = int((await make_member()).member.id)
    await make_partner("lufthansa")
    partner_id = int((await Partner.get(code="lufthansa")).id)
    request = await request_retro_credit(
        account_id=member_id, claim=claim(), rules=RULES, chart=CHART, now=NOW
    )
    assert request.state is RetroCreditState.PENDING_PARTNER
    return member_id, partner_id, request.id


async def test_simultaneous_decisions_of_one_request_credit_once(pg_db: Settings) -> None:
    member_id, partner_id, request_id = await _pending_request()
    await flown(partner_id)  # arrived without its hook: every decider below finds it

    decided = await asyncio.gather(
        *[decide(request_id=request_id, rules=RULES, chart=CHART, now=NOW) for _ in range(8)]
    )

    assert {row.state for row in decided} == {RetroCreditState.ACCEPTED}
    assert len({row.posting_id for row in decided}) == 1
    assert await Posting.filter(account_id=member_id).count() == 1
    row = await RetroCreditRequest.get(id=request_id)
    assert [step["state"] for step in row.transitions].count("ACCEPTED") == 1
    assert (await verify_ledger()).clean


async def test_a_decision_racing_the_automatic_accrual_credits_once(pg_db: Settings) -> None:
    member_id, partner_id, request_id = await _pending_request()
    segment = await flown(partner_id, account_id=member_id)

    decision, accrual = await asyncio.gather(
        decide(request_id=request_id, rules=RULES, chart=CHART, now=NOW),
        accrue_flown(segment, chart=CHART, rules=RULES),
    )

    postings = await Posting.filter(account_id=member_id)
    assert len(postings) == 1
    assert accrual is not None
    if accrual.created:  # the airline's accrual won: the request is told so
        assert (decision.state, decision.reason) == (RetroCreditState.REJECTED, "ALREADY_CREDITED")
    else:
        assert decision.state is RetroCreditState.ACCEPTED and decision.posting_id == postings[0].id
    assert (await verify_ledger()).clean
