"""Turning a stored accrual event into a ledger posting.

``accrual.created`` credits award miles (and, for airlines, status points) to the member named by
service card number or account number. The partner's transaction id is the business key: the same
transaction under a new webhook id posts nothing more. ``accrual.reversed`` claws the original back.
The catalogue's JSON Schemas check shapes on arrival; the checks here guard rows stored before them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from loyalty.crediting import post
from loyalty.errors import NotFound, ValidationFailed
from loyalty.identifiers import validate_account_number
from loyalty.ledger.models import Currency, Posting, PostingSource
from loyalty.ledger.reversal import reverse_posting
from loyalty.ledger.service import PostingResult, PostingSpec, posting_spec
from loyalty.members.cards import resolve_card_for_accrual
from loyalty.members.models import Member
from loyalty.rules import ProgrammeRules

ACCRUAL_CURRENCIES = {
    "miles": Currency.AWARD_MILES,
    "points": Currency.POINTS,
    "qualifyingPoints": Currency.QUALIFYING_POINTS,
    "honCirclePoints": Currency.HON_CIRCLE_POINTS,
}
MAX_AMOUNT = 10_000_000


async def resolve_member(reference: Any, rules: ProgrammeRules) -> int:
    """The account id for ``{"serviceCardNumber": …}`` or ``{"accountNumber": …}``."""
    if not isinstance(reference, dict):
        raise ValidationFailed("data.member names the member.", field="data.member", code="MEMBER_MISSING")
    if isinstance(reference.get("serviceCardNumber"), str):
        card = await resolve_card_for_accrual(reference["serviceCardNumber"], rules)
        return card.account_id
    if isinstance(reference.get("accountNumber"), str):
        number = validate_account_number(reference["accountNumber"], rules.identifiers, field="data.member")
        member = await Member.get_or_none(account_number=number).only("id")
        if member is None:
            raise NotFound("No member has this account number.", field="data.member", code="MEMBER_NOT_FOUND")
        return int(member.id)
    raise ValidationFailed(
        "data.member has a serviceCardNumber or an accountNumber.", field="data.member", code="MEMBER_MISSING"
    )


def _amounts(data: dict[str, Any]) -> dict[Currency, int]:
    amounts: dict[Currency, int] = {}
    for key, currency in ACCRUAL_CURRENCIES.items():
        value = data.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_AMOUNT:
            raise ValidationFailed(
                f"data.{key} is a whole number from 0.", field=f"data.{key}", code="AMOUNT_INVALID"
            )
        if value:
            amounts[currency] = value
    if not amounts:
        raise ValidationFailed("The accrual credits nothing.", field="data.miles", code="AMOUNT_INVALID")
    return amounts


def _activity_date(data: dict[str, Any]) -> dt.date:
    try:
        return dt.date.fromisoformat(str(data.get("activityDate")))
    except ValueError as exc:
        raise ValidationFailed(
            "data.activityDate is a date (YYYY-MM-DD).", field="data.activityDate", code="DATE_INVALID"
        ) from exc


def transaction_id_of(data: dict[str, Any]) -> str:
    """The partner's transaction id of an ``accrual.created`` event's data."""
    transaction_id = data.get("transactionId")
    if not isinstance(transaction_id, str) or not 0 < len(transaction_id) <= 100:
        raise ValidationFailed(
            "data.transactionId identifies the partner's transaction.",
            field="data.transactionId",
            code="TRANSACTION_ID_MISSING",
        )
    return transaction_id


def accrual_posting(
    *, partner_id: int, partner_code: str, data: dict[str, Any], account_id: int, rules: ProgrammeRules
) -> PostingSpec:
    """The posting an ``accrual.created`` event's data makes for the member it names (``account_id``)."""
    transaction_id = transaction_id_of(data)
    return posting_spec(
        account_id=account_id,
        amounts=_amounts(data),
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=f"accrual:{partner_id}:{transaction_id}",
        activity_date=_activity_date(data),
        rule_version=rules.version,
        partner_reference=f"{partner_code}:{transaction_id}",
        description=str(data.get("description", ""))[:200],
    )


async def credit_accrual(
    *, partner_id: int, partner_code: str, event: dict[str, Any], rules: ProgrammeRules
) -> tuple[int, PostingResult]:
    """Post one ``accrual.created`` event; returns the account id and the posting."""
    data = event["data"]
    transaction_id_of(data)
    account_id = await resolve_member(data.get("member"), rules)
    spec = accrual_posting(
        partner_id=partner_id, partner_code=partner_code, data=data, account_id=account_id, rules=rules
    )
    result = await post(
        account_id=account_id,
        amounts=spec.amounts,
        source=spec.source,
        idempotency_key=spec.idempotency_key,
        activity_date=spec.activity_date,
        rule_version=spec.rule_version,
        rules=rules,
        partner_reference=spec.partner_reference,
        description=spec.description,
    )
    return account_id, result


async def reverse_accrual(
    *, partner_id: int, event: dict[str, Any], rules: ProgrammeRules
) -> tuple[int, PostingResult]:
    """Post one ``accrual.reversed`` event: the mirror of the partner's original accrual, once.

    The original is found by the partner's transaction id; a member named in the event must be the one
    credited. Miles the member has spent since cannot be taken back (INSUFFICIENT_BALANCE).
    """
    data = event["data"]
    original_id = str(data.get("originalTransactionId", ""))
    original = await Posting.get_or_none(idempotency_key=f"accrual:{partner_id}:{original_id}").only(
        "id", "account_id"
    )
    if original is None:
        raise NotFound(
            "No accrual of this partner has this transaction id.",
            field="data.originalTransactionId",
            code="ORIGINAL_ACCRUAL_NOT_FOUND",
        )
    if data.get("member") is not None and await resolve_member(data["member"], rules) != original.account_id:
        raise ValidationFailed(
            "The original accrual credited another member.", field="data.member", code="MEMBER_MISMATCH"
        )
    reason = str(data.get("reason", "refund"))
    result = await reverse_posting(
        posting_id=original.id,
        activity_date=_activity_date(data),
        rule_version=rules.version,
        rules=rules,
        description=str(data.get("description") or f"Partner {reason} of {original_id}")[:200],
    )
    return int(original.account_id), result
