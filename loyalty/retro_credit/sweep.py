"""The operator's sweep over open retro-credit requests (``milesgate retro-credit sweep --as-of``).

Each open request is decided again as of that day: one whose flown data has arrived meanwhile (a
``flight.flown`` hook that did not run, a crash between registering and deciding) is decided now; one
that waited ``partner_data_wait_days`` without flown data is rejected (TICKET_NOT_FOUND). Decided
requests are never touched again, so a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from loyalty.earning.chart import EarningChart
from loyalty.retro_credit.decision import decide
from loyalty.retro_credit.models import OPEN_STATES, RetroCreditRequest, RetroCreditState
from loyalty.rules import ProgrammeRules


@dataclass(frozen=True, slots=True)
class SweepReport:
    looked_at: int
    accepted: int
    rejected: int
    still_pending: int


async def count_open() -> int:
    return await RetroCreditRequest.filter(state__in=list(OPEN_STATES)).count()


async def sweep_open_requests(
    *,
    as_of: dt.date,
    rules: ProgrammeRules,
    chart: EarningChart,
    batch: int = 200,
    progress: Callable[[int], object] | None = None,
) -> SweepReport:
    """Decide every open request as of ``as_of`` (idempotent), ``batch`` rows at a time by id."""
    now = dt.datetime.combine(as_of, dt.time.min, tzinfo=dt.UTC)
    counts = {state: 0 for state in RetroCreditState}
    looked_at, last_id = 0, 0
    while True:
        rows = (
            await RetroCreditRequest.filter(state__in=list(OPEN_STATES), id__gt=last_id)
            .order_by("id")
            .limit(batch)
            .values_list("id", flat=True)
        )
        ids = [int(value) for value in rows]  # type: ignore[call-overload]
        if not ids:
            break
        for request_id in ids:
            decided = await decide(request_id=request_id, rules=rules, chart=chart, now=now)
            counts[decided.state] += 1
        looked_at += len(ids)
        last_id = ids[-1]
        if progress is not None:
            progress(len(ids))
    return SweepReport(
        looked_at=looked_at,
        accepted=counts[RetroCreditState.ACCEPTED],
        rejected=counts[RetroCreditState.REJECTED],
        still_pending=looked_at - counts[RetroCreditState.ACCEPTED] - counts[RetroCreditState.REJECTED],
    )
