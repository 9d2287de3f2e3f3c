"""Member messages that follow from domain events and from the quarterly expiry warning.

Non-essential messages (miles credited, status reached, miles about to expire) respect consent: e-mail
only with EMAIL consent and a verified address (the code e-mailed to it was entered: at enrolment or
with ``loyalty.addresses``), push only with PUSH consent; a member never asked gets none.
Messages a service needs (reset codes) are sent by their own flows regardless. Each message is in the
member's language and carries a dedupe key, so a re-run or a redelivered event never sends it twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from loyalty.consents.models import ConsentPurpose
from loyalty.consents.service import given_consents
from loyalty.events.models import DomainEvent, EventType
from loyalty.fixed_sql import dialect, fetch
from loyalty.ledger.expiry import miles_expiring_for
from loyalty.ledger.models import Lot, PostingSource
from loyalty.ledger.quarters import add_months, quarter_end
from loyalty.members.models import Member
from loyalty.notifications.models import Channel, Notification, NotificationState
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
NOTIFIED = frozenset({EventType.POSTING_CREATED, EventType.RETRO_CREDIT_DECIDED, EventType.STATUS_CHANGED})
"""The domain event types that may cause a member message (``message_for_event``)."""
PUSH_RECIPIENT = "member:{account_number}"
"""Push goes to the member's devices through the push provider, which knows them by account number."""


@dataclass(frozen=True, slots=True)
class MessageRequest:
    """One message to enqueue on every channel the member consented to (see ``send_many_with_consent``)."""

    account_id: int
    template: str
    payload: Callable[[Member], dict[str, Any]]
    dedupe: str


CHANNEL_PURPOSES = (ConsentPurpose.EMAIL, ConsentPurpose.PUSH)


def _consented_channels(member: Member, given: set[tuple[int, ConsentPurpose]]) -> list[tuple[Channel, str]]:
    channels: list[tuple[Channel, str]] = []
    if member.erased_at is not None:
        return channels
    if (member.id, ConsentPurpose.EMAIL) in given and member.email and member.email_verified_at:
        channels.append((Channel.EMAIL, member.email))
    if (member.id, ConsentPurpose.PUSH) in given:
        channels.append((Channel.PUSH, PUSH_RECIPIENT.format(account_number=member.account_number)))
    return channels


async def send_with_consent(
    *, account_id: int, template: str, payload: Callable[[Member], dict[str, Any]], dedupe: str
) -> int:
    """Enqueue ``template`` on every channel the member consented to, once per ``dedupe`` key and channel.

    Call it inside the transaction of the change it reports. Returns how many messages were enqueued.
    """
    return await send_many_with_consent(
        [MessageRequest(account_id=account_id, template=template, payload=payload, dedupe=dedupe)]
    )


async def send_many_with_consent(requests: Sequence[MessageRequest]) -> int:
    """``send_with_consent`` for many requests at once, their messages written in the requests' order:
    four statements whatever their number (members, consents, dedupe keys taken, one multi-row insert).

    Call it inside the transaction of the changes they report. Returns how many messages were enqueued;
    a broken template raises before anything is written."""
    if not requests:
        return 0
    members = {
        member.id: member
        for member in await Member.filter(id__in=sorted({request.account_id for request in requests}))
    }
    if not members:
        return 0
    given = await given_consents(account_ids=sorted(members), purposes=CHANNEL_PURPOSES)
    planned: list[tuple[MessageRequest, Member, Channel, str, str]] = []
    for request in requests:
        member = members.get(request.account_id)
        if member is None:
            continue
        for channel, recipient in _consented_channels(member, given):
            planned.append((request, member, channel, recipient, f"{request.dedupe}:{channel.value}"))
    if not planned:
        return 0
    taken = {
        str(key)
        for key in await Notification.filter(dedupe_key__in=[key for *_, key in planned]).values_list(
            "dedupe_key", flat=True
        )
    }
    rows: list[Notification] = []
    for request, member, channel, recipient, key in planned:
        if key in taken:
            continue
        taken.add(key)
        values = request.payload(member)
        render(request.template, member.language, values)  # a broken template fails here, in the caller
        rows.append(
            Notification(
                account_id=member.id,
                channel=channel,
                recipient=recipient,
                template=request.template,
                language=member.language,
                payload=seal_payload(values, template=request.template, recipient=recipient),
                dedupe_key=key,
            )
        )
    await _insert(rows)
    return len(rows)


INSERT_NOTIFICATIONS_SQL = """
INSERT INTO notifications (account_id, channel, recipient, template, language, payload, state, attempts,
                           created_at, dedupe_key)
SELECT a, c, r, t, l, p, $7::text, 0, $8::timestamptz, k
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $9::text[])
     AS n(a, c, r, t, l, p, k)
"""
"""PostgreSQL: the messages in one statement (in their order), whatever their number."""


async def _insert(rows: Sequence[Notification]) -> None:
    if not rows:
        return
    if dialect() != "postgres":
        await Notification.bulk_create(rows)
        return
    await fetch(
        INSERT_NOTIFICATIONS_SQL,
        [row.account_id for row in rows],
        [row.channel.value for row in rows],
        [row.recipient for row in rows],
        [row.template for row in rows],
        [row.language for row in rows],
        [orjson.dumps(row.payload).decode() for row in rows],
        NotificationState.PENDING.value,
        dt.datetime.now(dt.UTC),
        [row.dedupe_key for row in rows],
    )


def message_for_event(event: DomainEvent) -> MessageRequest | None:
    """The member message a domain event causes, if any (decided from the event alone)."""
    data = event.payload
    dedupe = f"event:{event.id}"
    if event.type is EventType.POSTING_CREATED:
        amounts = data.get("amounts")
        miles = int(amounts.get("AWARD_MILES", 0)) if isinstance(amounts, dict) else 0
        source = str(data.get("source", ""))
        if miles <= 0 or source not in CREDIT_SOURCES:
            return None
        return MessageRequest(
            account_id=event.account_id,
            template="miles_credited",
            payload=lambda m: {"given_name": m.given_name, "miles": miles, "source": SOURCE_NAMES[source]},
            dedupe=dedupe,
        )
    if event.type is EventType.RETRO_CREDIT_DECIDED and data.get("state") in RETRO_CREDIT_OUTCOMES:
        return MessageRequest(
            account_id=event.account_id,
            template=RETRO_CREDIT_OUTCOMES[str(data["state"])],
            payload=lambda m: _retro_credit_payload(m, data),
            dedupe=dedupe,
        )
    if event.type is EventType.STATUS_CHANGED and data.get("change") in STATUS_MESSAGES:
        tier = str(data.get("toTier"))
        valid_until = data.get("validUntil") or "-"
        return MessageRequest(
            account_id=event.account_id,
            template="status_reached",
            payload=lambda m: {
                "given_name": m.given_name,
                "tier_name": TIER_NAMES.get(tier, tier),
                "valid_until": valid_until,
            },
            dedupe=dedupe,
        )
    return None


async def notify_for_event(event: DomainEvent) -> int:
    """The messages a domain event causes (called by the event relay, in its transaction)."""
    return await notify_for_events([event])


async def notify_for_events(events: Sequence[DomainEvent]) -> int:
    """``notify_for_event`` for a batch of events, in their order, with four statements in all (none for
    events that cause no message); the event relay's batched path."""
    requests = [request for event in events if (request := message_for_event(event)) is not None]
    return await send_many_with_consent(requests)


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
