"""Messages caused by domain events and the quarterly expiry warning (issue 7): consent, language, once."""

from __future__ import annotations

import datetime as dt

from gateway.backends.memory import MemoryPubSub
from gateway.settings import Settings
from gateway.workers.event_relay import MAX_DISPATCH_ATTEMPTS, default_handlers, relay_once
from loyalty.consents.models import ConsentPurpose
from loyalty.consents.service import record_consent
from loyalty.crediting import post
from loyalty.events.models import DomainEvent
from loyalty.ledger.models import Currency, PostingSource
from loyalty.notifications.events import notify_for_event, warn_expiring, warning_quarter_end
from loyalty.notifications.models import Channel, Notification
from loyalty.rules import current_rules
from tests.factories import make_member

HANDLERS = default_handlers(current_rules())
"""What the served relay runs, under the programme rules the service loads."""

RULES = current_rules()
NOW = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)


async def _member(*purposes: ConsentPurpose, email: str = "member@example.com") -> int:
    account = int((await make_member(email)).member.id)
    for purpose in purposes:
        await record_consent(
            account_id=account, purpose=purpose, given=True, text_version="v1", now=NOW, rules=RULES
        )
    return account


async def _credit(account: int, key: str, day: dt.date = dt.date(2026, 11, 1), **amounts: int) -> None:
    await post(
        account_id=account,
        amounts={Currency(name): amount for name, amount in amounts.items()},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=key,
        activity_date=day,
        rule_version="test",
        rules=RULES,
        today=day,
    )


async def test_credits_are_told_on_the_consented_channels_once(db: Settings) -> None:
    both = await _member(ConsentPurpose.EMAIL, ConsentPurpose.PUSH)
    silent = await _member(email="silent@example.com")
    await _credit(both, "a", AWARD_MILES=1200)
    await _credit(silent, "b", AWARD_MILES=800)
    pubsub = MemoryPubSub()
    assert await relay_once(pubsub, handlers=HANDLERS) == 2
    rows = await Notification.filter(template="miles_credited").order_by("channel")
    assert [(row.account_id, row.channel) for row in rows] == [(both, Channel.EMAIL), (both, Channel.PUSH)]
    assert rows[0].payload == {"given_name": "Grace", "miles": 1200, "source": "a partner activity"}
    # A redelivered event sends nothing again.
    event = await DomainEvent.get(account_id=both)
    assert await notify_for_event(event) == 0


async def test_status_reached_is_told(db: Settings) -> None:
    account = await _member(ConsentPurpose.EMAIL)
    await _credit(account, "status", dt.date(2026, 3, 1), POINTS=700, QUALIFYING_POINTS=400)
    await relay_once(MemoryPubSub(), handlers=HANDLERS)
    [row] = await Notification.filter(template="status_reached")
    assert row.payload["tier_name"] == "Frequent Traveller"
    assert row.payload["valid_until"] == "2028-02-29"


async def test_a_failing_handler_holds_the_event_then_sets_it_aside(db: Settings) -> None:
    account = await _member()
    await _credit(account, "first", AWARD_MILES=100)
    await _credit(account, "second", AWARD_MILES=200)
    first, second = await DomainEvent.filter(account_id=account).order_by("id")

    async def fussy(event: DomainEvent) -> None:
        if event.id == first.id:
            raise RuntimeError("partner endpoint table missing")

    pubsub = MemoryPubSub()
    for attempt in range(1, MAX_DISPATCH_ATTEMPTS):
        assert await relay_once(pubsub, handlers=[fussy]) == 0  # the second waits behind the first
        await first.refresh_from_db()
        assert first.dispatch_attempts == attempt
    assert await relay_once(pubsub, handlers=[fussy]) == 2
    await first.refresh_from_db()
    assert first.published_at is not None
    assert first.dispatch_error == "RuntimeError: partner endpoint table missing"
    await second.refresh_from_db()
    assert (second.published_at is not None, second.dispatch_error) == (True, None)


def test_the_warning_starts_two_months_before_the_quarter_end() -> None:
    assert warning_quarter_end(dt.date(2026, 10, 30), 2) is None
    assert warning_quarter_end(dt.date(2026, 10, 31), 2) == dt.date(2026, 12, 31)
    assert warning_quarter_end(dt.date(2026, 12, 31), 2) == dt.date(2026, 12, 31)


async def test_expiry_warnings_go_once_per_quarter(db: Settings) -> None:
    account = await _member(ConsentPurpose.EMAIL)
    await _credit(account, "old", dt.date(2023, 11, 10), AWARD_MILES=900)  # expires 31.12.2026
    await _credit(account, "new", dt.date(2025, 11, 10), AWARD_MILES=400)  # expires 31.12.2028
    other = await _member(email="other@example.com")  # no e-mail consent
    await _credit(other, "other-old", dt.date(2023, 12, 1), AWARD_MILES=300)

    assert await warn_expiring(as_of=dt.date(2026, 11, 2), warning_months=2, batch=1) == 1
    [row] = await Notification.filter(template="miles_expiring")
    assert (row.account_id, row.payload["miles"], row.payload["expires_on"]) == (account, 900, "2026-12-31")
    assert await warn_expiring(as_of=dt.date(2026, 11, 20), warning_months=2) == 0
