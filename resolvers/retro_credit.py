"""Retro-credit and photo-credit resolvers: one loyalty service each, under the current earning chart."""

from __future__ import annotations

import datetime as dt

from loyalty.earning.chart import EarningChart
from loyalty.paging import Page, PageRequest
from loyalty.photo_credit.models import ReceiptUpload
from loyalty.photo_credit.uploads import receipt_page, receipts_of
from loyalty.retro_credit import service
from loyalty.retro_credit.checks import FlightClaim
from loyalty.retro_credit.models import RetroCreditRequest
from loyalty.rules import ProgrammeRules


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def request_retro_credit(
    *, account_id: int, claim: FlightClaim, rules: ProgrammeRules, chart: EarningChart
) -> list[RetroCreditRequest]:
    row = await service.request_retro_credit(
        account_id=account_id, claim=claim, rules=rules, chart=chart, now=_now()
    )
    return [row]


async def request_by_boarding_pass(
    *, account_id: int, data: str, ticket_number: str | None, rules: ProgrammeRules, chart: EarningChart
) -> list[RetroCreditRequest]:
    return await service.request_by_boarding_pass(
        account_id=account_id, data=data, ticket_number=ticket_number, rules=rules, chart=chart, now=_now()
    )


async def member_retro_credit_requests(*, account_id: int) -> list[RetroCreditRequest]:
    return await service.requests_of(account_id=account_id)


async def member_receipts(*, account_id: int) -> list[ReceiptUpload]:
    return await receipts_of(account_id=account_id)


async def member_retro_credit_request_page(
    *, account_id: int, request: PageRequest
) -> Page[RetroCreditRequest]:
    return await service.request_page(account_id=account_id, request=request)


async def member_receipt_page(*, account_id: int, request: PageRequest) -> Page[ReceiptUpload]:
    return await receipt_page(account_id=account_id, request=request)
