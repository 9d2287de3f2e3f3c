"""Retro-credit and photo-credit resolvers: map the input, call one loyalty service, map the result."""

from __future__ import annotations

import datetime as dt

from loyalty.bcbp.model import BoardingPassInvalid as BoardingPassInvalidError
from loyalty.errors import DomainError
from loyalty.photo_credit.uploads import receipts_of
from loyalty.retro_credit import service
from loyalty.retro_credit.checks import FlightClaim
from partners.charts import current_earning_chart
from partners.models import PartnerCapability
from partners.service import active_partners_with
from resolvers.auth import require_member
from schema.boarding_passes import BoardingPassInvalid
from schema.context import Info
from schema.errors import InputError
from schema.retro_credit import (
    PhotoCreditPartner,
    PhotoCreditReceipt,
    RequestRetroCreditResult,
    RetroCreditInput,
    RetroCreditRefused,
    RetroCreditRequest,
    RetroCreditRequested,
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _refusal(error: DomainError) -> RequestRetroCreditResult:
    if isinstance(error, service.RetroCreditRefused):
        return RetroCreditRefused(code=error.code, field=error.field, message=error.message)
    if isinstance(error, BoardingPassInvalidError):
        return BoardingPassInvalid.from_domain(error)
    return InputError.from_domain(error)


async def request_retro_credit(info: Info, data: RetroCreditInput) -> RequestRetroCreditResult:
    principal = require_member(info)
    claim = FlightClaim(
        ticket_number=data.ticket_number,
        carrier=data.carrier,
        flight_number=data.flight_number,
        flight_date=data.flight_date,
        origin=data.origin,
        destination=data.destination,
        cabin=data.cabin,
        booking_class=data.booking_class,
        boarding_pass=data.boarding_pass,
    )
    try:
        row = await service.request_retro_credit(
            account_id=principal.account_id,
            claim=claim,
            rules=info.context.rules,
            chart=current_earning_chart(),
            now=_now(),
        )
    except DomainError as error:
        return _refusal(error)
    return RetroCreditRequested(requests=[RetroCreditRequest.from_model(row)])


async def request_by_boarding_pass(
    info: Info, data: str, ticket_number: str | None
) -> RequestRetroCreditResult:
    principal = require_member(info)
    try:
        rows = await service.request_by_boarding_pass(
            account_id=principal.account_id,
            data=data,
            ticket_number=ticket_number,
            rules=info.context.rules,
            chart=current_earning_chart(),
            now=_now(),
        )
    except DomainError as error:
        return _refusal(error)
    return RetroCreditRequested(requests=[RetroCreditRequest.from_model(row) for row in rows])


async def member_retro_credit_requests(*, account_id: int) -> list[RetroCreditRequest]:
    return [RetroCreditRequest.from_model(row) for row in await service.requests_of(account_id=account_id)]


async def member_receipts(*, account_id: int) -> list[PhotoCreditReceipt]:
    return [PhotoCreditReceipt.from_model(row) for row in await receipts_of(account_id=account_id)]


async def photo_credit_partners() -> list[PhotoCreditPartner]:
    return [
        PhotoCreditPartner(code=partner.code, name=partner.name)
        for partner in await active_partners_with(PartnerCapability.PHOTO_CREDIT)
    ]
