"""Member messages that follow from domain events and from the quarterly expiry warning.

Non-essential messages (miles credited, status reached, miles about to expire) respect consent: e-mail
only with EMAIL consent and a verified address (the code e-mailed to it was entered: at enrolment or
with ``loyalty.addresses``), push only with PUSH consent; a member never asked gets none.
Messages a service needs (reset codes) are sent by their own flows regardless. Each message is in the
member's language and carries a dedupe key, so a re-run or a redelivered event never sends it twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from loyalty.consents.models import ConsentPurpose
from loyalty.consents.service import current_consents
from loyalty.events.models import DomainEvent, EventType
from loyalty.ledger.expiry import miles_expiring_for
from loyalty.ledger.models import Lot, PostingSource
from loyalty.ledger.quarters import add_months, quarter_end
from loyalty.members.models import Member
from loyalty.notifications.models import Channel, Notification
from loyalty.notifications.service import render, seal_payload

TIER_NAMES = {"FTL": "Frequent Traveller", "SEN": "Senator", "HON": "HON Circle", "BASE": "Member"}
SOURCE_NAMES: dict[str, str] = {
    PostingSource.PARTNER_ACCRUAL: "a partner activity",
    PostingSource.FLIGHT_ACCRUAL: "a flight",
    PostingSource.PHOTO_CREDIT: "a photographed receipt",
    PostingSource.FIRST_APP_LOGIN_BONUS: "your first app login",
    PostingSource.PROGRAMME_BONUS: "a programme bonus",
    PostingSource.REVERSAL: "a cancelled redemption",
    PostingSource.CHALLENGE: "a completed challenge",
    PostingSource.OFFER_BONUS: "an activated offer",
}
"""The member's words for a credit's source, keyed by value (the ``posting.created`` event holds strings)."""
CREDIT_SOURCES = frozenset(SOURCE_NAMES)
"""Retro credits are told by their decision's message (retro_credit_decided), not by a second one."""
RETRO_CREDIT_OUTCOMES = {"ACCEPTED": "retro_credit_accepted", "REJECTED": "retro_credit_rejected"}
STATUS_MESSAGES = frozenset({"ACHIEVED", "RENEWED", "LIFETIME"})
PUSH_RECIPIENT = "member:{account_number}"
"""Push goes to the member's devices through the push provider, which knows them by account number."""


async def _consented_channels(member: Member) -> list[tuple[Channel, str]]:
    consents = await current_consents(account_id=member.id)

    def given(purpose: ConsentPurpose) -> bool:
        record = consents[purpose]
        return record is not None and record.given

    channels: list[tuple[Channel, str]] = []
    if given(ConsentPurpose.EMAIL) and member.email and member.email_verified_at and member.erased_at is None:
        channels.append((Channel.EMAIL, member.email))
    if given(ConsentPurpose.PUSH) and member.erased_at is None:
        channels.append((Channel.PUSH, PUSH_RECIPIENT.format(account_number=member.account_number)))
    return channels


async def send_with_consent(
    *, account_id: int, template: str, payload: Callable[[Member], dict[str, Any]], dedupe: str
) -> int:
    """Enqueue ``template`` on every channel the member consented to, once per ``dedupe`` key and channel.

    Call it inside the transaction of the change it reports. Returns how many messages were enqueued.
    """
    member = await Member.get_or_none(id=account_id)
    if member is None:
        return 0
    sent = 0
    for channel, recipient in await _consented_channels(member):
        key = f"{dedupe}:{channel.value}"
        if await Notification.exists(dedupe_key=key):
            continue
        values = payload(member)
        render(template, member.language, values)  # a broken template fails here, in the caller
        await Notification.create(
            account_id=member.id,
            channel=channel,
            recipient=recipient,
            template=template,
            language=member.language,
            payload=seal_payload(values, template=template, recipient=recipient),
            dedupe_key=key,
        )
        sent += 1
    return sent


async def notify_for_event(event: DomainEvent) -> int:
    """The messages a domain event causes (called by the event relay, in its transaction)."""
    data = event.payload
    if event.type is EventType.POSTING_CREATED:
        miles = int(data.get("amounts", {}).get("AWARD_MILES", 0))
        source = str(data.get("source", ""))
        if miles <= 0 or source not in CREDIT_SOURCES:
            return 0
        return await send_with_consent(
            account_id=event.account_id,
            template="miles_credited",
            payload=lambda m: {"given_name": m.given_name, "miles": miles, "source": SOURCE_NAMES[source]},
            dedupe=f"event:{event.id}",
        )
    if event.type is EventType.RETRO_CREDIT_DECIDED and data.get("state") in RETRO_CREDIT_OUTCOMES:
        return await send_with_consent(
            account_id=event.account_id,
            template=RETRO_CREDIT_OUTCOMES[str(data["state"])],
            payload=lambda m: _retro_credit_payload(m, data),
            dedupe=f"event:{event.id}",
        )
    if event.type is EventType.STATUS_CHANGED and data.get("change") in STATUS_MESSAGES:
        tier = str(data.get("toTier"))
        valid_until = data.get("validUntil") or "-"
        return await send_with_consent(
            account_id=event.account_id,
            template="status_reached",
            payload=lambda m: {
                "given_name": m.given_name,
                "tier_name": TIER_NAMES.get(tier, tier),
                "valid_until": valid_until,
            },
            dedupe=f"event:{event.id}",
        )
    return 0


def _retro_credit_payload(member: Member, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "given_name": member.given_name,
        "flight": data.get("flight", ""),
        "flight_date": data.get("flightDate", ""),
        "route": f"{data.get('origin', '')}-{data.get('destination', '')}",
        "miles": int(data.get("awardMiles") or 0),
        "points": int(data.get("points") or 0),
        "reason": data.get("reason") or "",
        "reason_text": data.get("reasonText") or "",
    }


def warning_quarter_end(as_of: dt.date, warning_months: int) -> dt.date | None:
    """The quarter end the expiry warning is about on ``as_of``: this quarter's, once it is no more than
    ``warning_months`` away; None earlier in the quarter."""
    end = quarter_end(as_of)
    return end if add_months(as_of, warning_months) >= end else None


def _expiring_payload(miles: int, end: dt.date) -> Callable[[Member], dict[str, Any]]:
    return lambda member: {"given_name": member.given_name, "miles": miles, "expires_on": end.isoformat()}


async def warn_expiring(*, as_of: dt.date, warning_months: int, batch: int = 500) -> int:
    """Warn every member whose miles expire at the coming quarter end (once per member and quarter)."""
    end = warning_quarter_end(as_of, warning_months)
    if end is None:
        return 0
    sent = 0
    last_account = 0
    while True:
        accounts = sorted(
            {
                int(account)
                for (account,) in await Lot.filter(
                    expires_on__gte=as_of, expires_on__lte=end, remaining__gt=0, account_id__gt=last_account
                )
                .order_by("account_id")
                .limit(batch)
                .values_list("account_id")
            }
        )
        if not accounts:
            return sent
        last_account = accounts[-1]
        for account, expiring in zip(
            accounts, await miles_expiring_for(account_ids=accounts, today=as_of), strict=True
        ):
            miles = sum(amount for day, amount in expiring if day == end)
            if miles <= 0:
                continue
            sent += await send_with_consent(
                account_id=account,
                template="miles_expiring",
                payload=_expiring_payload(miles, end),
                dedupe=f"expiring:{end.isoformat()}:{account}",
            )
