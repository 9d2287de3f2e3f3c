"""The inbox in batches: a partition's leading accruals credited together, in one transaction.

``process_inbox_row`` settles one row in two transactions and some twenty statements. A worker that
reads twenty messages of a partition hands their inbox ids here first: the leading rows that are fresh
``accrual.created`` deliveries (pending, never attempted) whose members are known are locked, credited
with one statement per kind of row (``loyalty.crediting.post_credits``) and marked processed, all in one
transaction; the rows this takes are returned, and the rest goes one by one as before. Exactly once
holds as for one row: the rows are locked, a posting's idempotency key is the partner's transaction,
and the rows are marked in the transaction that credits them.

Whatever a batch cannot take - another event type, a retried row, an unknown member, a malformed
accrual, a rail or card-spend accrual, a blocked service card number, a member named by a co-branded
credit card, an activity whose miles would have expired already, a refusal while writing - ends the batch before it (or rolls the whole batch back), and the
one-by-one path then settles that row with its usual outcome (failed, unmatched, announced). PostgreSQL
only: the embedded database takes every row one by one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from tortoise.transactions import in_transaction

from loyalty.crediting import post_credits
from loyalty.errors import DomainError
from loyalty.fixed_sql import dialect, fetch
from loyalty.identifiers import validate_account_number, validate_service_card_number
from loyalty.ledger.batch import BatchNotApplicable
from loyalty.ledger.quarters import expiry_date
from loyalty.ledger.service import PostingSpec
from loyalty.offers.models import OfferKind
from loyalty.offers.service import apply_offer_bonus
from loyalty.rules import ProgrammeRules
from webhooks.accruals import accrual_posting, transaction_id_of
from webhooks.models import InboxState

log = logging.getLogger(__name__)

BATCHED_EVENT_TYPE = "accrual.created"
LOCK_SQL = """
SELECT i.id, i.partner_id, p.code AS partner_code, i.event_type, i.payload, i.state, i.attempts,
       i.next_attempt_at
FROM partner_inbox i JOIN partners p ON p.id = i.partner_id
WHERE i.id = ANY($1::bigint[]) ORDER BY i.id FOR UPDATE OF i
"""
"""The rows, locked, with their partner's code (which the postings' references name)."""
CARDS_SQL = (
    "SELECT number, account_id FROM service_cards WHERE number = ANY($1::text[]) AND state <> 'BLOCKED'"
)
"""A blocked number is not credited here: the one-by-one path applies its rule (credit before the block day)."""
ONE_BY_ONE_CATEGORIES = frozenset({"rail", "card_spend"})
"""Accruals whose amounts come from the rail chart or that count for miles to status: credit_accrual's own."""
MEMBERS_SQL = "SELECT account_number, id FROM members WHERE account_number = ANY($1::text[])"
ACTIVATIONS_SQL = """
SELECT DISTINCT a.account_id, o.partner_code FROM offer_activations a JOIN offers o ON o.id = a.offer_id
WHERE a.account_id = ANY($1::bigint[]) AND a.bonus_posting_id IS NULL AND o.kind = $2
  AND o.partner_code = ANY($3::text[])
"""
SETTLE_SQL = """
UPDATE partner_inbox p SET state = $3, account_id = v.account_id, processed_at = $4::timestamptz,
                           attempts = p.attempts + 1
FROM unnest($1::bigint[], $2::bigint[]) AS v(id, account_id)
WHERE p.id = v.id
"""


@dataclass(frozen=True, slots=True)
class _Accrual:
    inbox_id: int
    partner_code: str
    data: dict[str, Any]
    card: str | None
    account_number: str | None
    spec: PostingSpec
    """The posting, computed once; its ``account_id`` is filled in when the member is known."""


async def apply_batch(inbox_ids: Sequence[int], rules: ProgrammeRules) -> int:
    """Settle the leading rows of ``inbox_ids`` a batch can take; returns how many (0: none, go one by one).

    A row settled before (or named twice) counts as taken: it needs nothing more."""
    if len(inbox_ids) < 2 or dialect() != "postgres":
        return 0
    try:
        async with in_transaction():
            return await _apply(list(inbox_ids), rules)
    except (BatchNotApplicable, DomainError) as exc:
        log.debug("inbox batch rolled back, one by one instead: %s", exc)
    except Exception:
        log.warning("inbox batch failed; one by one instead", exc_info=True)
    return 0


async def _apply(inbox_ids: list[int], rules: ProgrammeRules) -> int:
    rows = {int(row["id"]): row for row in await fetch(LOCK_SQL, inbox_ids)}
    taken, accruals = _leading(inbox_ids, rows, rules)
    if not accruals:
        return taken
    accounts = await _members(accruals)
    known = 0
    while known < len(accruals) and _account_of(accruals[known], accounts) is not None:
        known += 1
    if known < len(accruals):
        # The first accrual whose member is unknown waits for the one-by-one path (it parks it
        # unmatched), and everything after it too: a partition's rows stay in order.
        taken = inbox_ids.index(accruals[known].inbox_id)
        accruals = accruals[:known]
    if not accruals:
        return taken
    specs = [replace(accrual.spec, account_id=_known_account(accrual, accounts)) for accrual in accruals]
    results = await post_credits(specs, rules=rules)
    await _offer_bonuses(accruals, specs, [results[spec.idempotency_key].created for spec in specs], rules)
    await fetch(
        SETTLE_SQL,
        [accrual.inbox_id for accrual in accruals],
        [spec.account_id for spec in specs],
        InboxState.PROCESSED.value,
        dt.datetime.now(dt.UTC),
    )
    return taken


def _leading(inbox_ids: list[int], rows: dict[int, Any], rules: ProgrammeRules) -> tuple[int, list[_Accrual]]:
    """How many leading ids a batch takes, and the accruals among them to credit."""
    accruals: list[_Accrual] = []
    seen: set[int] = set()
    cards: dict[str, str] = {}
    for position, inbox_id in enumerate(inbox_ids):
        row = rows.get(inbox_id)
        if row is None:
            return position, accruals
        if inbox_id in seen or row["state"] != InboxState.PENDING.value:
            seen.add(inbox_id)
            continue
        accrual = _fresh_accrual(row, rules, cards)
        if accrual is None:
            return position, accruals
        seen.add(inbox_id)
        accruals.append(accrual)
    return len(inbox_ids), accruals


def _fresh_accrual(row: Any, rules: ProgrammeRules, cards: dict[str, str]) -> _Accrual | None:
    """The row as an accrual a batch can credit; None sends it (and what follows) one by one.

    ``cards`` holds the card numbers the batch has checked already (raw to normalised): one member's
    deliveries share a partition, so a batch names the same cards many times."""
    if row["event_type"] != BATCHED_EVENT_TYPE or row["attempts"] or row["next_attempt_at"] is not None:
        return None
    payload = row["payload"]
    event = orjson.loads(payload) if isinstance(payload, str | bytes) else payload
    data = event.get("data") if isinstance(event, dict) else None
    if not isinstance(data, dict):
        return None
    member = data.get("member")
    if not isinstance(member, dict):
        return None
    if data.get("category") in ONE_BY_ONE_CATEGORIES:
        return None
    code = str(row["partner_code"])
    try:
        # amounts, date and transaction id as the posting will read them (the member comes later)
        spec = accrual_posting(
            partner_id=int(row["partner_id"]), partner_code=code, data=data, account_id=0, rules=rules
        )
        if expiry_date(spec.activity_date, rules.expiry.validity_months) < dt.datetime.now(dt.UTC).date():
            return None  # too old unless the member's protection keeps it: credit_accrual decides
        card = member.get("serviceCardNumber")
        number = member.get("accountNumber")
        if isinstance(card, str):
            if card not in cards:
                cards[card] = validate_service_card_number(card, rules.identifiers)
            return _Accrual(int(row["id"]), code, data, cards[card], None, spec)
        if isinstance(number, str):
            valid = validate_account_number(number, rules.identifiers, field="data.member")
            return _Accrual(int(row["id"]), code, data, None, valid, spec)
    except DomainError:
        return None
    return None


async def _members(accruals: list[_Accrual]) -> dict[str, int]:
    """Account ids by card number (``card:``) and account number (``account:``), in two statements."""
    found: dict[str, int] = {}
    cards = sorted({accrual.card for accrual in accruals if accrual.card is not None})
    numbers = sorted({accrual.account_number for accrual in accruals if accrual.account_number is not None})
    if cards:
        found.update(
            {f"card:{row['number']}": int(row["account_id"]) for row in await fetch(CARDS_SQL, cards)}
        )
    if numbers:
        found.update(
            {f"account:{row['account_number']}": int(row["id"]) for row in await fetch(MEMBERS_SQL, numbers)}
        )
    return found


def _account_of(accrual: _Accrual, accounts: dict[str, int]) -> int | None:
    if accrual.card is not None:
        return accounts.get(f"card:{accrual.card}")
    return accounts.get(f"account:{accrual.account_number}")


def _known_account(accrual: _Accrual, accounts: dict[str, int]) -> int:
    account_id = _account_of(accrual, accounts)
    if account_id is None:  # pragma: no cover - _apply keeps only accruals of known members
        raise BatchNotApplicable("an accrual's member is unknown")
    return account_id


async def _offer_bonuses(
    accruals: list[_Accrual],
    specs: list[PostingSpec],
    created: list[bool],
    rules: ProgrammeRules,
) -> None:
    """The bonus of an activated offer of the partner, for each newly credited accrual (as one by one)."""
    credited = [(accrual, spec) for accrual, spec, new in zip(accruals, specs, created, strict=True) if new]
    if not credited:
        return
    rows = await fetch(
        ACTIVATIONS_SQL,
        sorted({spec.account_id for _, spec in credited}),
        OfferKind.EARN.value,
        sorted({accrual.partner_code for accrual, _ in credited}),
    )
    waiting = {(int(row["account_id"]), str(row["partner_code"])) for row in rows}
    for accrual, spec in credited:
        if (spec.account_id, accrual.partner_code) in waiting:
            await apply_offer_bonus(
                account_id=spec.account_id,
                partner_code=accrual.partner_code,
                activity_on=spec.activity_date,
                transaction_id=transaction_id_of(accrual.data),
                rules=rules,
            )
