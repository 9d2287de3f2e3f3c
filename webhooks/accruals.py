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
from loyalty.earning.rail import rail_earning
from loyalty.errors import NotFound, ValidationFailed
from loyalty.identifiers import validate_account_number
from loyalty.ledger.card_protection import member_by_credit_card
from loyalty.ledger.expiry import check_not_expired
from loyalty.ledger.models import Currency, Posting, PostingSource
from loyalty.ledger.reversal import reverse_posting
from loyalty.ledger.service import PostingResult, PostingSpec, posting_spec
from loyalty.members.cards import resolve_card_for_accrual
from loyalty.members.models import Member
from loyalty.miles_to_status.service import record_card_miles
from loyalty.rules import ProgrammeRules
from partners.charts import current_rail_chart

ACCRUAL_CURRENCIES = {
    "miles": Currency.AWARD_MILES,
    "points": Currency.POINTS,
    "qualifyingPoints": Currency.QUALIFYING_POINTS,
    "honCirclePoints": Currency.HON_CIRCLE_POINTS,
}
MAX_AMOUNT = 10_000_000


async def resolve_member(
    reference: Any, rules: ProgrammeRules, *, activity_on: dt.date | None, partner_code: str
) -> int:
    """The account id for ``{"serviceCardNumber": …}``, ``{"accountNumber": …}`` or, from a bank,
    ``{"creditCardReference": …}`` (the reference it reported the member's co-branded card under).

    ``activity_on`` is the day of the activity the event credits: a blocked number is refused for activity
    from the day of its block on (CARD_BLOCKED, ``loyalty.members.cards.resolve_card_for_accrual``); None
    for an event that credits nothing new (a reversal's member check, a bank's card report).
    """
    if not isinstance(reference, dict):
        raise ValidationFailed("data.member names the member.", field="data.member", code="MEMBER_MISSING")
    if isinstance(reference.get("serviceCardNumber"), str):
        card = await resolve_card_for_accrual(reference["serviceCardNumber"], rules, activity_on=activity_on)
        return card.account_id
    if isinstance(reference.get("accountNumber"), str):
        number = validate_account_number(reference["accountNumber"], rules.identifiers, field="data.member")
        member = await Member.get_or_none(account_number=number).only("id")
        if member is None:
            raise NotFound("No member has this account number.", field="data.member", code="MEMBER_NOT_FOUND")
        return int(member.id)
    if isinstance(reference.get("creditCardReference"), str):
        return await member_by_credit_card(
            partner_code=partner_code,
            card_reference=reference["creditCardReference"],
            field="data.member.creditCardReference",
        )
    raise ValidationFailed(
        "data.member has a serviceCardNumber, an accountNumber or a creditCardReference.",
        field="data.member",
        code="MEMBER_MISSING",
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


RAIL_CHART_CURRENCIES = ("points", "qualifyingPoints", "honCirclePoints")


def _rail_amounts(data: dict[str, Any]) -> dict[Currency, int]:
    """A rail partner's segment (``category: rail``): the partner's miles, and the Points, Qualifying Points
    and HON Circle Points of the rail chart (DOMAIN.md 3.4), which the partner does not send itself."""
    for key in RAIL_CHART_CURRENCIES:
        if data.get(key):
            raise ValidationFailed(
                f"data.{key} of a rail segment comes from the programme's rail chart: leave it out.",
                field=f"data.{key}",
                code="AMOUNT_INVALID",
            )
    segment = data.get("rail")
    if not isinstance(segment, dict):
        raise ValidationFailed("data.rail names the rail segment.", field="data.rail", code="RAIL_MISSING")
    earning = rail_earning(
        current_rail_chart(),
        product=str(segment.get("product", "")),
        travel_class=str(segment.get("travelClass", "")),
        field="data.rail",
    )
    miles = data.get("miles", 0)
    amounts = _amounts({"miles": miles}) if miles else {}
    for currency, amount in (
        (Currency.POINTS, earning.points),
        (Currency.QUALIFYING_POINTS, earning.qualifying_points),
        (Currency.HON_CIRCLE_POINTS, earning.hon_circle_points),
    ):
        if amount:
            amounts[currency] = amount
    if not amounts:
        raise ValidationFailed("The rail segment credits nothing.", field="data.rail", code="AMOUNT_INVALID")
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


def accrual_amounts(data: dict[str, Any]) -> dict[Currency, int]:
    """What an ``accrual.created`` event credits: a rail segment by the rail chart, anything else as sent."""
    return _rail_amounts(data) if data.get("category") == "rail" else _amounts(data)


def accrual_posting(
    *, partner_id: int, partner_code: str, data: dict[str, Any], account_id: int, rules: ProgrammeRules
) -> PostingSpec:
    """The posting an ``accrual.created`` event's data makes for the member it names (``account_id``)."""
    transaction_id = transaction_id_of(data)
    return posting_spec(
        account_id=account_id,
        amounts=accrual_amounts(data),
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=f"accrual:{partner_id}:{transaction_id}",
        activity_date=_activity_date(data),
        rule_version=rules.version,
        partner_reference=f"{partner_code}:{transaction_id}",
        description=str(data.get("description", ""))[:200],
    )


async def credit_accrual(
    *,
    partner_id: int,
    partner_code: str,
    event: dict[str, Any],
    rules: ProgrammeRules,
    today: dt.date | None = None,
) -> tuple[int, PostingResult]:
    """Post one ``accrual.created`` event; returns the account id and the posting.

    Award miles for an activity so old that they would have expired already (before ``today``, by the
    expiry rule of DOMAIN.md 5) are refused (ACTIVITY_TOO_OLD) rather than credited as live miles.
    """
    data = event["data"]
    transaction_id_of(data)
    activity_date = _activity_date(data)
    amounts = accrual_amounts(data)
    account_id = await resolve_member(
        data.get("member"), rules, activity_on=activity_date, partner_code=partner_code
    )
    if Currency.AWARD_MILES in amounts:
        await check_not_expired(
            account_id=account_id,
            activity_date=activity_date,
            today=today or dt.datetime.now(dt.UTC).date(),
            rules=rules,
            field="data.activityDate",
        )
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
    if result.created and data.get("category") == "card_spend" and Currency.AWARD_MILES in amounts:
        # miles earned with a co-branded card: what the miles-to-status exchange counts (DOMAIN.md 3.4)
        await record_card_miles(
            account_id=account_id,
            partner_code=partner_code,
            posting_id=result.posting_id,
            earned_on=activity_date,
            miles=amounts[Currency.AWARD_MILES],
        )
    return account_id, result


async def reverse_accrual(
    *, partner_id: int, partner_code: str, event: dict[str, Any], rules: ProgrammeRules
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
    named = data.get("member")
    if (
        named is not None
        and await resolve_member(named, rules, activity_on=None, partner_code=partner_code)
        != original.account_id
    ):
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
