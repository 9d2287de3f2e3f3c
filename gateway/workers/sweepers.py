"""The sweeper of expired e-mailed codes: pending enrolments and e-mail verifications whose code has run
out are deleted, in batches, every ``expired_codes_sweep_s`` seconds (and once when the worker starts).

An expired row is refused already by its confirmation (``ENROLMENT_EXPIRED``, ``VERIFICATION_EXPIRED``);
the sweep only keeps the tables, and the hashes of PINs and passwords in an enrolment's details, from
piling up. Enrolment itself never deletes in bulk, so a burst of enrolments costs no bulk deletes.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from gateway.workers.loops import run_polling
from loyalty.addresses import purge_expired_verifications
from loyalty.enrolment import purge_expired_enrolments

SWEEP_BATCH = 500


async def sweep_expired_codes(*, now: dt.datetime, batch: int = SWEEP_BATCH) -> int:
    """One round: up to ``batch`` expired rows of each table; returns how many were deleted in all (a
    full batch of either, ``batch`` or more, makes ``run_polling`` go on at once)."""
    enrolments = await purge_expired_enrolments(now=now, limit=batch)
    verifications = await purge_expired_verifications(now=now, limit=batch)
    return max(enrolments, verifications)


async def run_expired_code_sweeper(stop: asyncio.Event, every_s: float, *, batch: int = SWEEP_BATCH) -> None:
    async def step() -> int:
        return await sweep_expired_codes(now=dt.datetime.now(dt.UTC), batch=batch)

    await run_polling("expired-code-sweeper", step, stop, batch=batch, every_s=every_s)
