"""The sweeper of expired e-mailed codes deletes pending enrolments and e-mail verifications whose code has
run out, in batches, and leaves the open ones (issue 18: enrolment no longer deletes in bulk itself)."""

from __future__ import annotations

import asyncio
import datetime as dt

from gateway.backends import open_backends
from gateway.settings import Settings
from gateway.workers.background import background_loops
from gateway.workers.sweepers import run_expired_code_sweeper, sweep_expired_codes
from loyalty.members.models import AddressVerification, PendingEnrolment
from loyalty.rules import current_rules
from tests.factories import partner_box_for_tests
from tests.waiting import eventually


async def _rows(expired: int, open_: int) -> dt.datetime:
    """Rows of each table, ``expired`` a minute past their expiry and ``open_`` 30 minutes before it,
    around the time of the call (never of the module's import: a long suite would expire the open ones);
    returns that time."""
    now = dt.datetime.now(dt.UTC)
    for index in range(expired + open_):
        expires_at = now - dt.timedelta(minutes=1) if index < expired else now + dt.timedelta(minutes=30)
        await PendingEnrolment.create(
            public_id=f"enrolment-{index}",
            email=f"a{index}@example.com",
            code_hash="x",
            expires_at=expires_at,
        )
        await AddressVerification.create(
            public_id=f"verification-{index}",
            account_id=1,
            email=f"a{index}@example.com",
            code_hash="x",
            expires_at=expires_at,
        )
    return now


async def test_a_round_deletes_a_batch_of_expired_rows_of_each_table(db: Settings) -> None:
    now = await _rows(expired=5, open_=2)

    assert await sweep_expired_codes(now=now, batch=3) == 3  # a full batch: the loop goes on at once
    assert await sweep_expired_codes(now=now, batch=3) == 2
    assert await sweep_expired_codes(now=now, batch=3) == 0

    assert sorted(row.public_id for row in await PendingEnrolment.all()) == [
        "enrolment-5",
        "enrolment-6",
    ]
    assert sorted(row.public_id for row in await AddressVerification.all()) == [
        "verification-5",
        "verification-6",
    ]


async def test_the_worker_runs_the_sweeper(db: Settings) -> None:
    await _rows(expired=7, open_=1)
    stop = asyncio.Event()
    task = asyncio.create_task(run_expired_code_sweeper(stop, 3600, batch=2))
    try:
        # A round purges the enrolments, then the verifications: wait for both tables, not only the first.
        async def left_in_both() -> tuple[int, int]:
            return await PendingEnrolment.all().count(), await AddressVerification.all().count()

        await eventually(left_in_both, lambda left: left == (1, 1), what="the expired codes swept")
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_the_sweeper_is_one_of_the_workers_loops(settings: Settings) -> None:
    backends = await open_backends(None)
    try:
        loops = background_loops(
            settings, backends.ports, box=partner_box_for_tests(), rules=current_rules(), consumer="test"
        )
        assert "expired-code-sweeper" in loops
    finally:
        await backends.close()
