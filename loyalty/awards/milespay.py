"""MilesPay (DOMAIN.md 7): miles pay the next eligible card purchase, up to the member's preset cap.

- The member opts in with a cap (``[milespay] minimum_miles`` to ``maximum_cap_miles``); a new opt-in
  replaces the active one; opting out ends it.
- The bank partner's ``card.transaction`` event then debits, once per (partner, transaction id): the
  purchase's EUR value at ``eur_per_mile``, rounded down to whole miles, at most the cap and at most the
  balance. Fewer than ``minimum_miles`` and the purchase is paid in cash: nothing is debited and the
  opt-in stays for the next one. A debit uses the opt-in up (USED): the member opts in again for the next.
- The debit is a REDEMPTION posting through the posting path, with the balance rows locked, so it never
  overdraws, whatever runs concurrently.
- Either way the purchase is decided (``MilesPayOutcome``): paid with miles, or in cash and why, which
  the bank hears (``milespay.decided``, ``webhooks.handlers``) to bill the card accordingly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from tortoise.transactions import in_transaction

from loyalty.awards.config import MilesPayRules
from loyalty.awards.models import MilesPayDebit, MilesPayOptIn, MilesPayState
from loyalty.crediting import post
from loyalty.errors import ValidationFailed
from loyalty.events.models import EventType
from loyalty.events.service import record
from loyalty.ledger.models import Balance, CounterAccount, Currency, PostingSource
from loyalty.members.models import Member
from loyalty.rules import ProgrammeRules


@dataclass(frozen=True, slots=True)
class CardTransaction:
    """A bank partner's card purchase of a member, its amount already in EUR."""

    partner_code: str
    transaction_id: str
    eur_amount: Decimal
    transaction_date: dt.date


class PaidInCash(StrEnum):
    """Why a purchase was paid in cash."""

    NO_OPT_IN = "NO_OPT_IN"
    """The member had no active MilesPay opt-in (none, opted out, or used up by an earlier purchase)."""
    TOO_FEW_MILES = "TOO_FEW_MILES"
    """The purchase, the cap or the balance came to fewer miles than the minimum."""


@dataclass(frozen=True, slots=True)
class MilesPayOutcome:
    """What a card purchase came to: miles debited (``debit``), or paid in cash (``cash_reason``)."""

    debit: MilesPayDebit | None
    cash_reason: PaidInCash | None
    decided_before: bool = False
    """The transaction was decided before (a repeat): nothing new happened."""


async def active_opt_in(*, account_id: int) -> MilesPayOptIn | None:
    return (
        await MilesPayOptIn.filter(account_id=account_id, state=MilesPayState.ACTIVE).order_by("-id").first()
    )


async def set_milespay(
    *, account_id: int, enabled: bool, cap_miles: int | None, rules: MilesPayRules, now: dt.datetime
) -> MilesPayOptIn | None:
    """Opt in with a cap (replacing an active opt-in), or opt out; the active opt-in afterwards."""
    if enabled and (cap_miles is None or not rules.minimum_miles <= cap_miles <= rules.maximum_cap_miles):
        raise ValidationFailed(
            f"The cap is {rules.minimum_miles} to {rules.maximum_cap_miles} miles.",
            field="capMiles",
            code="MILESPAY_CAP_INVALID",
        )
    async with in_transaction():
        await Member.filter(id=account_id).select_for_update(no_key=True).first()
        await MilesPayOptIn.filter(account_id=account_id, state=MilesPayState.ACTIVE).update(
            state=MilesPayState.OFF, ended_at=now
        )
        if not enabled:
            return None
        assert cap_miles is not None
        return await MilesPayOptIn.create(account_id=account_id, cap_miles=cap_miles, created_at=now)


def miles_for(eur_amount: Decimal, *, cap_miles: int, balance: int, rules: MilesPayRules) -> int:
    """Miles a purchase takes: its EUR value at the rate, rounded down, at most the cap and the balance;
    0 below the minimum (EUR 45.67 at 0.01 with a 10,000 cap: 4,567 miles)."""
    wanted = int((eur_amount / rules.eur_per_mile).to_integral_value(rounding=ROUND_DOWN))
    miles = min(wanted, cap_miles, balance)
    return miles if miles >= rules.minimum_miles else 0


async def apply_card_transaction(
    *,
    account_id: int,
    transaction: CardTransaction,
    milespay: MilesPayRules,
    rules: ProgrammeRules,
    now: dt.datetime,
    answered: Callable[[], Awaitable[bool]] | None = None,
) -> MilesPayOutcome:
    """Debit the purchase under the member's active opt-in, once per transaction, or say why it is paid
    in cash (no opt-in, or fewer miles than the minimum). Call inside the caller's transaction.

    ``answered``, asked with the member's row locked, says whether the purchase was decided already by
    other means (the bank has its answer, which is all a cash decision leaves): then nothing is decided
    again (``decided_before``, no debit, no reason)."""
    # The member's row first: two deliveries of one purchase decide one after the other, and the second
    # finds the first's debit (or, through ``answered``, its answer).
    await Member.filter(id=account_id).select_for_update(no_key=True).first()
    if answered is not None and await answered():
        return MilesPayOutcome(debit=None, cash_reason=None, decided_before=True)
    done = await MilesPayDebit.get_or_none(
        partner_code=transaction.partner_code, transaction_id=transaction.transaction_id
    )
    if done is not None:
        return MilesPayOutcome(debit=done, cash_reason=None, decided_before=True)
    opt_in = (
        await MilesPayOptIn.filter(account_id=account_id, state=MilesPayState.ACTIVE)
        .select_for_update()
        .first()
    )
    if opt_in is None:
        return MilesPayOutcome(debit=None, cash_reason=PaidInCash.NO_OPT_IN)
    balance = (
        await Balance.filter(account_id=account_id, currency=Currency.AWARD_MILES).select_for_update().first()
    )
    miles = miles_for(
        transaction.eur_amount,
        cap_miles=opt_in.cap_miles,
        balance=balance.amount if balance else 0,
        rules=milespay,
    )
    if not miles:
        return MilesPayOutcome(debit=None, cash_reason=PaidInCash.TOO_FEW_MILES)
    result = await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: -miles},
        source=PostingSource.REDEMPTION,
        idempotency_key=f"milespay:{transaction.partner_code}:{transaction.transaction_id}",
        activity_date=transaction.transaction_date,
        rule_version=f"{rules.version}+milespay",
        rules=rules,
        partner_reference=f"{transaction.partner_code}:{transaction.transaction_id}"[:120],
        description=f"MilesPay card purchase {transaction.transaction_id}"[:200],
        counter_account=CounterAccount.REDEMPTION,
    )
    opt_in.state, opt_in.ended_at = MilesPayState.USED, now
    await opt_in.save(update_fields=["state", "ended_at"])
    debit = await MilesPayDebit.create(
        account_id=account_id,
        opt_in_id=opt_in.id,
        posting_id=result.posting_id,
        partner_code=transaction.partner_code,
        transaction_id=transaction.transaction_id,
        miles=miles,
        eur_value=(miles * milespay.eur_per_mile).quantize(Decimal("0.01")),
        created_at=now,
    )
    await record(
        account_id=account_id,
        type=EventType.REDEMPTION_CREATED,
        posting_id=result.posting_id,
        payload={
            "redemptionId": f"milespay:{debit.id}",
            "rewardCode": "MILESPAY",
            "miles": miles,
            "state": "REDEEMED",
            "transactionId": transaction.transaction_id,
        },
    )
    return MilesPayOutcome(debit=debit, cash_reason=None)
