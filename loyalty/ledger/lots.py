"""Award-miles lots: every credit is a lot with its own expiry; debits take lots in expiry order.

All functions here run inside the posting's transaction, after the member's balance rows are locked,
so lots are always locked in the same order (balance first, then lots) and never deadlock.
"""

from __future__ import annotations

import datetime as dt

from loyalty.ledger.models import Lot, LotAllocation
from loyalty.ledger.quarters import expiry_date


class LotsOutOfStep(RuntimeError):
    """The member's lots hold fewer miles than the balance: the ledger needs `milesgate ledger verify`."""


async def open_lot(*, posting_id: int, account_id: int, amount: int, earned_on: dt.date, months: int) -> Lot:
    """A credit of award miles: valid ``months`` from the activity date, to the end of that quarter."""
    return await Lot.create(
        posting_id=posting_id,
        account_id=account_id,
        amount=amount,
        remaining=amount,
        earned_on=earned_on,
        expires_on=expiry_date(earned_on, months),
    )


async def consume_fifo(*, posting_id: int, account_id: int, amount: int) -> list[LotAllocation]:
    """Take ``amount`` miles from the member's lots, the one expiring first first (rows locked)."""
    lots = (
        await Lot.filter(account_id=account_id, remaining__gt=0)
        .order_by("expires_on", "id")
        .select_for_update()
    )
    allocations: list[LotAllocation] = []
    left = amount
    for lot in lots:
        if left == 0:
            break
        taken = min(left, lot.remaining)
        allocations.append(await _take(lot, posting_id=posting_id, amount=taken))
        left -= taken
    if left:
        raise LotsOutOfStep(f"account {account_id}: lots are {left} miles short of the balance")
    return allocations


async def take_from_lot(*, lot: Lot, posting_id: int, amount: int) -> LotAllocation:
    """Take miles from one given (already locked) lot, as expiry does."""
    return await _take(lot, posting_id=posting_id, amount=amount)


async def _take(lot: Lot, *, posting_id: int, amount: int) -> LotAllocation:
    lot.remaining -= amount
    await lot.save(update_fields=["remaining"])
    return await LotAllocation.create(
        posting_id=posting_id, lot_id=lot.id, account_id=lot.account_id, amount=amount
    )


async def restore_allocations(
    *,
    original_posting_id: int,
    posting_id: int,
    account_id: int,
    amount: int,
    earned_on: dt.date,
    months: int,
) -> None:
    """Give a reversed debit's miles back to the lots it took them from, with their original expiry.

    Miles the debit took before lots existed go to a new lot dated like the original debit.
    """
    taken = await LotAllocation.filter(posting_id=original_posting_id, amount__gt=0).order_by("id")
    lots = {
        lot.id: lot
        for lot in await Lot.filter(id__in=[a.lot_id for a in taken], account_id=account_id)
        .order_by("expires_on", "id")
        .select_for_update()
    }
    left = amount
    for allocation in taken:
        back = min(left, allocation.amount)
        if back:
            await _take(lots[allocation.lot_id], posting_id=posting_id, amount=-back)
            left -= back
    if left:
        await open_lot(
            posting_id=posting_id, account_id=account_id, amount=left, earned_on=earned_on, months=months
        )


async def take_back_credit(
    *, original_posting_id: int, posting_id: int, account_id: int, amount: int
) -> None:
    """A reversed credit takes its miles from its own lot first, then from the lots expiring first."""
    own = await Lot.filter(posting_id=original_posting_id, account_id=account_id).select_for_update().first()
    left = amount
    if own is not None and own.remaining > 0:
        taken = min(left, own.remaining)
        await _take(own, posting_id=posting_id, amount=taken)
        left -= taken
    if left:
        await consume_fifo(posting_id=posting_id, account_id=account_id, amount=left)
