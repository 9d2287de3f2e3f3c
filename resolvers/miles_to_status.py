"""Miles to status: the member's offer this year, and the exchange (one loyalty call each)."""

from __future__ import annotations

import datetime as dt

from loyalty.miles_to_status import service
from loyalty.miles_to_status.models import StatusExchange
from loyalty.rules import ProgrammeRules
from loyalty.status.progress import StatusProgress, status_progress


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


async def miles_to_status_offer(*, account_id: int, rules: ProgrammeRules) -> service.ExchangeOffer:
    return await service.offer(account_id=account_id, today=_today(), rules=rules)


async def exchange_miles_for_status(
    *, account_id: int, packages: int, request_id: str, rules: ProgrammeRules
) -> tuple[StatusExchange, int, StatusProgress]:
    """The exchange, the award miles left and the status afterwards."""
    today = _today()
    exchange = await service.exchange_miles_for_status(
        account_id=account_id, packages=packages, request_id=request_id, today=today, rules=rules
    )
    offer = await service.offer(account_id=account_id, today=today, rules=rules)
    return exchange, offer.award_miles, await status_progress(account_id=account_id, today=today, rules=rules)
