"""Outbound partner webhooks against a real HTTP receiver on loopback, with the sender's clock in the
test's hands: the retry schedule, 410, Retry-After, five days of failures, no redirects, the host
allow-list, the per-endpoint rate limit, replay, and the messages domain events and refusals make."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import orjson
import pytest

from gateway.backends.memory import MemoryPubSub, MemoryRateLimiter
from gateway.settings import Settings
from gateway.workers.event_relay import default_handlers, relay_once
from loyalty.errors import ValidationFailed
from loyalty.rules import current_rules
from partners.models import PartnerKind
from tests.factories import make_member, make_partner, partner_box_for_tests
from tests.webhooks.receiver import Receiver, running_receiver, verify_standard_webhook
from tests.webhooks.test_worker import accrual_event, store, unknown_card_number
from webhooks.outbound.models import (
    DeliveryAttempt,
    DeliveryState,
    EndpointState,
    OperationalEvent,
    OutboundDelivery,
)
from webhooks.outbound.policy import DeliveryPolicy, check_url, host_allowed, retry_after_s
from webhooks.outbound.sender import OutboundSender
from webhooks.outbound.service import (
    NewEndpoint,
    create_endpoint,
    get_endpoint,
    publish,
    replay_failed,
    replay_message,
    set_endpoint_enabled,
)
from webhooks.worker import process_inbox_row

HANDLERS = default_handlers(current_rules())
"""What the served relay runs, under the programme rules the service loads."""

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
POLICY = DeliveryPolicy(allowed_hosts=("127.0.0.1",), allow_http=True)


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def at(self, seconds: float) -> None:
        self.now = T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(trust_env=False) as client:
        yield client


def sender_for(http: httpx2.AsyncClient, clock: Clock, policy: DeliveryPolicy = POLICY) -> OutboundSender:
    return OutboundSender(
        box=partner_box_for_tests(),
        policy=policy,
        rate_limiter=MemoryRateLimiter(),
        client=http,
        clock=clock,
        check_dns=False,
    )


async def endpoint_for(
    receiver: Receiver, partner: str = "swiss", types: tuple[str, ...] = ("redemption.created",), **extra: Any
) -> NewEndpoint:
    return await create_endpoint(
        partner_code=partner,
        url=receiver.url(),
        event_types=types,
        box=partner_box_for_tests(),
        policy=POLICY,
        **extra,
    )


async def a_message(now: dt.datetime = T0, redemption_id: int = 1) -> str:
    message = await publish(
        event_type="redemption.created", data={"redemptionId": redemption_id, "miles": 3000}, now=now
    )
    return message.webhook_id


async def attempt_times(clock: Clock, sender: OutboundSender, seconds: list[float]) -> list[int]:
    """Run the sender at each of these moments; how many deliveries it handled each time."""
    handled = []
    for second in seconds:
        clock.at(second)
        handled.append(await sender.run_once())
    return handled


# ----- the pure rules ---------------------------------------------------------------------------------


def test_the_default_schedule_is_svix_s() -> None:
    delays = [POLICY.delay_before(step) for step in range(9)]
    assert delays[:8] == [dt.timedelta(seconds=s) for s in (0, 5, 300, 1800, 7200, 18000, 36000, 36000)]
    assert delays[8] is None


def test_retry_after_takes_seconds_or_an_http_date() -> None:
    assert retry_after_s("120", now=T0) == 120
    assert retry_after_s("Mon, 02 Mar 2026 08:10:00 GMT", now=T0) == 600
    assert retry_after_s("soon", now=T0) is None and retry_after_s(None, now=T0) is None


@pytest.mark.parametrize(
    ("host", "allowed", "expected"),
    [
        ("hooks.swiss.example", ("hooks.swiss.example",), True),
        ("a.swiss.example", ("*.swiss.example",), True),
        ("swiss.example", ("*.swiss.example",), False),
        ("evilswiss.example", ("*.swiss.example",), False),
        ("HOOKS.Swiss.Example.", ("hooks.swiss.example",), True),
        ("169.254.169.254", ("127.0.0.1",), False),
    ],
)
def test_host_allow_list(host: str, allowed: tuple[str, ...], expected: bool) -> None:
    assert host_allowed(host, allowed) is expected


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://127.0.0.1/hook", "URL_SCHEME_NOT_ALLOWED"),
        ("http://user:pw@127.0.0.1/hook", "URL_CREDENTIALS_NOT_ALLOWED"),
        ("http://169.254.169.254/latest/meta-data", "URL_HOST_NOT_ALLOWED"),
        ("http://[::1]:80/hook", "URL_HOST_NOT_ALLOWED"),
        ("http://127.0.0.1:99999/hook", "URL_INVALID"),
        ("/relative", "URL_SCHEME_NOT_ALLOWED"),
    ],
)
def test_urls_outside_the_rules_are_refused(url: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_url(url, POLICY)
    assert refused.value.code == code


def test_http_is_refused_where_only_https_is_allowed() -> None:
    strict = DeliveryPolicy(allowed_hosts=("hooks.swiss.example",), allow_http=False)
    assert check_url("https://hooks.swiss.example/in", strict)
    with pytest.raises(ValidationFailed) as refused:
        check_url("http://hooks.swiss.example/in", strict)
    assert refused.value.code == "URL_SCHEME_NOT_ALLOWED"


# ----- delivery ---------------------------------------------------------------------------------------


async def test_a_failing_endpoint_is_retried_on_schedule_until_it_answers_2xx(
    db: Settings, receiver: Receiver, http: httpx2.AsyncClient
) -> None:
    # given: an endpoint that fails three times, then accepts
    await make_partner("swiss")
    endpoint = await endpoint_for(receiver)
    webhook_id = await a_message()
    receiver.answer(500, times=3)
    clock = Clock(T0)
    sender = sender_for(http, clock)

    # when: the sender runs at and just before each due time
    handled = await attempt_times(clock, sender, [0, 4, 5, 304, 305, 2104, 2105, 9999])

    # then: attempts at 0, 5 s, 5 min 5 s and 35 min 5 s (immediately, +5 s, +5 min, +30 min)
    assert handled == [1, 0, 1, 0, 1, 0, 1, 0]
    delivery = await OutboundDelivery.get(endpoint_id=endpoint.endpoint.id)
    assert delivery.state is DeliveryState.SUCCEEDED and delivery.attempts == 4
    attempts = await DeliveryAttempt.filter(delivery_id=delivery.id).order_by("id")
    assert [a.status_code for a in attempts] == [500, 500, 500, 200]
    assert [(a.attempted_at - T0).total_seconds() for a in attempts] == [0, 5, 305, 2105]
    # and every attempt is the same message, signed with the endpoint's secret
    assert {r.headers["webhook-id"] for r in receiver.requests} == {webhook_id}
    assert all(verify_standard_webhook(endpoint.secret, r) for r in receiver.requests)
    assert [int(r.headers["webhook-timestamp"]) for r in receiver.requests] == [
        int((T0 + dt.timedelta(seconds=s)).timestamp()) for s in (0, 5, 305, 2105)
    ]
    body = orjson.loads(receiver.requests[0].body)
    assert body["type"] == "redemption.created" and body["data"]["redemptionId"] == 1
    assert len({r.body for r in receiver.requests}) == 1


async def test_a_used_up_schedule_leaves_a_dead_letter_that_replay_sends_again(
    db: Settings, receiver: Receiver, http: httpx2.AsyncClient
) -> None:
    # given: a short schedule and an endpoint down for all of it
    await make_partner("swiss")
    endpoint = await endpoint_for(receiver)
    webhook_id = await a_message()
    receiver.answer(503, times=2)
    clock = Clock(T0)
    sender = sender_for(
        http, clock, DeliveryPolicy(schedule_s=(0, 5), allowed_hosts=("127.0.0.1",), allow_http=True)
    )
    await attempt_times(clock, sender, [0, 5, 100])
    delivery = await OutboundDelivery.get(endpoint_id=endpoint.endpoint.id)
    assert (delivery.state, delivery.attempts, delivery.last_status) == (DeliveryState.FAILED, 2, 503)

    # when: an operator replays the endpoint's failures since before the message
    clock.at(200)
    assert await replay_failed(endpoint.endpoint.id, since=T0 - dt.timedelta(hours=1), now=clock.now) == 1
    assert await replay_failed(endpoint.endpoint.id, since=T0 + dt.timedelta(hours=1), now=clock.now) == 0
    await sender.run_once()

    # then: sent again, same webhook id, and it got through
    delivery = await OutboundDelivery.get(id=delivery.id)
    assert (delivery.state, delivery.attempts) == (DeliveryState.SUCCEEDED, 3)
    assert [r.headers["webhook-id"] for r in receiver.requests] == [webhook_id] * 3
    # and replaying one message sends it once more
    assert await replay_message(webhook_id, now=clock.now) == 1
    await sender.run_once()
    assert len(receiver.requests) == 4


async def test_410_disables_the_endpoint_and_tells_the_operators(
    db: Settings, receiver: Receiver, http: httpx2.AsyncClient
) -> None:
    await make_partner("swiss")
    endpoint = await endpoint_for(receiver)
    await a_message()
    receiver.answer(410)
    clock = Clock(T0)
    sender = sender_for(http, clock)

    await sender.run_once()
    await a_message(redemption_id=2)  # a later message is not even tried
    clock.at(60)
    assert await sender.run_once() == 0

    stored = await get_endpoint(endpoint.endpoint.id)
    assert stored.state is EndpointState.DISABLED and "410" in (stored.disabled_reason or "")
    events = await OperationalEvent.all()
    assert [e.kind for e in events] == ["endpoint.disabled"]
    assert len(receiver.requests) == 1
    # and once enabled again, what waited goes out
    await set_endpoint_enabled(endpoint.endpoint.id, enabled=True, now=clock.now)
    assert await sender.run_once() == 0  # the second message was published while it was disabled...
    assert await OutboundDelivery.filter(endpoint_id=endpoint.endpoint.id).count() == 1


async def test_429_and_503_wait_as_long_as_retry_after_says(
    db: Settings, receiver: Receiver, http: httpx2.AsyncClient
) -> None:
    await make_partner("swiss")
    endpoint = await endpoint_for(receiver)
    await a_message()
    receiver.answer(429, headers={"Retry-After": "120"})
    clock = Clock(T0)
    sender = sender_for(http, clock)

    handled = await attempt_times(clock, sender, [0, 5, 119, 120])

    assert handled == [1, 0, 0, 1]
    delivery = await OutboundDelivery.get(endpoint_id=endpoint.endpoint.id)
    assert delivery.state is DeliveryState.SUCCEEDED


async def test_an_endpoint_failing_for_five_days_is_disabled(
    db: Settings, receiver: Receiver, http: httpx2.AsyncClient
) -> None:
    # given: an endpoint that never answers 2xx, and a message a day
    await make_partner("swiss")
    endpoint = await endpoint_for(receiver)
    receiver.answer(500, times=10_000)
    clock = Clock(T0)
    sender = sender_for(http, clock)
    for day in range(6):
        clock.at(day * 86_400)
        await a_message(clock.now, redemption_id=day)
        await sender.run_once()
        state = (await get_endpoint(endpoint.endpoint.id)).state
        # then: enabled while the failures last less than five days, disabled once they reach five
        assert state is (EndpointState.DISABLED if day >= 5 else EndpointState.ENABLED), day
    assert [e.kind for e in await OperationalEvent.all()] == ["endpoint.disabled"]


async def test_a_success_ends_a_run_of_failures(
    db: Settings, receiver: Receiver, http: httpx2.AsyncClient
) -> None:
    await make_partner("swiss")
    endpoint = await endpoint_for(receiver)
    receiver.answer(500)
    clock = Clock(T0)
    sender = sender_for(http, clock)
    await a_message()
    await sender.run_once()
    assert (await get_endpoint(endpoint.endpoint.id)).failing_since == T0
    await attempt_times(clock, sender, [5])
    assert (await get_endpoint(endpoint.endpoint.id)).failing_since is None


async def test_redirects_are_not_followed(db: Settings, receiver: Receiver, http: httpx2.AsyncClient) -> None:
    await make_partner("swiss")
    endpoint = await endpoint_for(receiver)
    await a_message()
    receiver.answer(302, headers={"Location": receiver.url("/elsewhere")})
    sender = sender_for(http, Clock(T0))

    await sender.run_once()

    assert [r.path for r in receiver.requests] == ["/hook"]
    delivery = await OutboundDelivery.get(endpoint_id=endpoint.endpoint.id)
    assert (delivery.state, delivery.last_status) == (DeliveryState.PENDING, 302)


async def test_hosts_off_the_allow_list_are_refused_at_registration_and_before_each_attempt(
    db: Settings, receiver: Receiver, http: httpx2.AsyncClient
) -> None:
    await make_partner("swiss")
    with pytest.raises(ValidationFailed) as refused:
        await create_endpoint(
            partner_code="swiss",
            url="http://10.0.0.7/hook",
            event_types=["redemption.created"],
            box=partner_box_for_tests(),
            policy=POLICY,
        )
    assert refused.value.code == "URL_HOST_NOT_ALLOWED"
    # an endpoint allowed once, whose host the operators then take off the list, gets nothing
    endpoint = await endpoint_for(receiver)
    await a_message()
    sender = sender_for(
        http, Clock(T0), DeliveryPolicy(allowed_hosts=("hooks.swiss.example",), allow_http=True)
    )
    await sender.run_once()
    assert receiver.requests == []
    delivery = await OutboundDelivery.get(endpoint_id=endpoint.endpoint.id)
    assert (delivery.last_error or "").startswith("URL_HOST_NOT_ALLOWED")


async def test_a_name_that_resolves_to_a_private_address_is_refused(
    db: Settings, receiver: Receiver, http: httpx2.AsyncClient
) -> None:
    # given: the operators allowed a name, and the name points at loopback
    await make_partner("swiss")
    policy = DeliveryPolicy(allowed_hosts=("localhost",), allow_http=True)
    endpoint = await create_endpoint(
        partner_code="swiss",
        url=f"http://localhost:{receiver.port}/hook",
        event_types=["redemption.created"],
        box=partner_box_for_tests(),
        policy=policy,
    )
    await a_message()
    sender = sender_for(http, Clock(T0), policy)
    sender.check_dns = True

    await sender.run_once()

    assert receiver.requests == []
    delivery = await OutboundDelivery.get(endpoint_id=endpoint.endpoint.id)
    assert (delivery.last_error or "").startswith("URL_HOST_NOT_PUBLIC")


async def test_the_per_endpoint_rate_limit_postpones_without_spending_attempts(
    db: Settings, receiver: Receiver, http: httpx2.AsyncClient
) -> None:
    await make_partner("swiss")
    endpoint = await endpoint_for(receiver, rate_limit_per_s=2)
    for number in range(5):
        await a_message(redemption_id=number)
    clock = Clock(T0)
    sender = sender_for(http, clock)

    await sender.run_once()

    assert len(receiver.requests) == 2
    waiting = await OutboundDelivery.filter(endpoint_id=endpoint.endpoint.id, state=DeliveryState.PENDING)
    assert len(waiting) == 3 and all(d.attempts == 0 and (d.next_attempt_at or T0) > T0 for d in waiting)


# ----- what gets published ----------------------------------------------------------------------------


async def test_accruals_credited_and_refused_are_told_to_the_partner_that_sent_them(
    db: Settings, receiver: Receiver, http: httpx2.AsyncClient
) -> None:
    # given: two airlines with endpoints for accrual outcomes
    await make_partner("swiss")
    await make_partner("austrian", PartnerKind.AIRLINE)
    swiss = await endpoint_for(receiver, types=("accrual.credited", "accrual.rejected"))
    await create_endpoint(
        partner_code="austrian",
        url=receiver.url("/austrian"),
        event_types=["accrual.credited", "accrual.rejected"],
        box=partner_box_for_tests(),
        policy=POLICY,
    )
    member = await make_member()
    good = await store("swiss", accrual_event({"serviceCardNumber": member.card.number}, "LX-7", miles=900))
    bad = await store("swiss", accrual_event({"serviceCardNumber": unknown_card_number()}, "LX-8"))

    # when: the worker applies both and the relay and the sender run
    await process_inbox_row(good.id, current_rules())
    await process_inbox_row(bad.id, current_rules())
    while await relay_once(MemoryPubSub(), handlers=HANDLERS):
        pass
    await sender_for(http, Clock(dt.datetime.now(dt.UTC))).run_once()

    # then: swiss hears both outcomes, austrian nothing
    assert {r.path for r in receiver.requests} == {"/hook"}
    bodies = {orjson.loads(r.body)["type"]: orjson.loads(r.body)["data"] for r in receiver.requests}
    assert bodies["accrual.credited"]["transactionId"] == "LX-7"
    assert bodies["accrual.credited"]["accountNumber"] == member.member.account_number
    assert bodies["accrual.credited"]["amounts"] == {"AWARD_MILES": 900}
    assert bodies["accrual.rejected"]["transactionId"] == "LX-8"
    assert bodies["accrual.rejected"]["code"] == "CARD_NOT_FOUND" and bodies["accrual.rejected"]["unmatched"]
    assert all(verify_standard_webhook(swiss.secret, r) for r in receiver.requests)
    # and the relay running again publishes nothing twice
    await relay_once(MemoryPubSub(), handlers=HANDLERS)
    assert await OutboundDelivery.all().count() == 2


async def test_an_offer_activation_reaches_the_offer_s_partner_only(
    db: Settings, receiver: Receiver, http: httpx2.AsyncClient
) -> None:
    from loyalty.offers.models import OfferKind
    from loyalty.offers.service import activate_offer, add_offer

    # given: a shop's offer, and endpoints of the shop and of another partner for activations
    await make_partner("shopx", PartnerKind.SHOP)
    await make_partner("swiss")
    shop = await endpoint_for(receiver, partner="shopx", types=("offer.activated",))
    await create_endpoint(
        partner_code="swiss",
        url=receiver.url("/swiss"),
        event_types=["offer.activated"],
        box=partner_box_for_tests(),
        policy=POLICY,
    )
    now = dt.datetime.now(dt.UTC)
    await add_offer(
        code="SHOPX-DOUBLE",
        partner_code="shopx",
        kind=OfferKind.EARN,
        title="Double miles",
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=1),
        bonus_miles=500,
    )
    member = await make_member()

    # when: the member activates it
    await activate_offer(account_id=member.member.id, code="SHOPX-DOUBLE", now=now)
    while await relay_once(MemoryPubSub(), handlers=HANDLERS):
        pass
    await sender_for(http, Clock(dt.datetime.now(dt.UTC))).run_once()

    # then: the shop hears of it, nobody else
    assert [r.path for r in receiver.requests] == ["/hook"]
    body = orjson.loads(receiver.requests[0].body)
    assert body["type"] == "offer.activated"
    assert body["data"]["offerCode"] == "SHOPX-DOUBLE"
    assert body["data"]["accountNumber"] == member.member.account_number
    assert verify_standard_webhook(shop.secret, receiver.requests[0])


async def test_a_retro_credit_decision_reaches_the_airline_whose_flown_data_decided_it(
    db: Settings, receiver: Receiver, http: httpx2.AsyncClient
) -> None:
    from loyalty.retro_credit.service import request_retro_credit
    from partners.charts import current_earning_chart
    from partners.models import Partner
    from tests.loyalty.retro_credit_helpers import NOW, claim, flown

    # given: the airline that flew the member, and another, both subscribed to decisions
    await make_partner("lufthansa")
    await make_partner("swiss")
    airline = await endpoint_for(receiver, partner="lufthansa", types=("retro_credit.decided",))
    await create_endpoint(
        partner_code="swiss",
        url=receiver.url("/swiss"),
        event_types=["retro_credit.decided"],
        box=partner_box_for_tests(),
        policy=POLICY,
    )
    member = await make_member()
    await flown(int((await Partner.get(code="lufthansa")).id))

    # when: the member asks for the flight's miles, and the request is decided against the flown data
    request = await request_retro_credit(
        account_id=member.member.id,
        claim=claim(),
        rules=current_rules(),
        chart=current_earning_chart(),
        now=NOW,
    )
    while await relay_once(MemoryPubSub(), handlers=HANDLERS):
        pass
    await sender_for(http, Clock(dt.datetime.now(dt.UTC))).run_once()

    # then: only that airline hears the decision
    assert [r.path for r in receiver.requests] == ["/hook"]
    body = orjson.loads(receiver.requests[0].body)
    assert body["type"] == "retro_credit.decided"
    assert body["data"]["requestId"] == request.id and body["data"]["state"] == "ACCEPTED"
    assert verify_standard_webhook(airline.secret, receiver.requests[0])


async def test_a_receipt_upload_reaches_the_shop_with_its_picture(
    db: Settings, receiver: Receiver, http: httpx2.AsyncClient
) -> None:
    import base64
    import hashlib

    from loyalty.photo_credit.uploads import upload_receipt
    from partners.models import Partner
    from tests.gateway.test_credit_uploads import receipt_picture

    await make_partner("shopx", PartnerKind.SHOP)
    shop = await endpoint_for(receiver, partner="shopx", types=("receipt.submitted",))
    member = await make_member()
    picture = receipt_picture()

    upload = await upload_receipt(
        account_id=member.member.id,
        partner_id=int((await Partner.get(code="shopx")).id),
        partner_code="shopx",
        image=picture,
        content_type="image/png",
        rules=current_rules().photo_credit,
        now=dt.datetime.now(dt.UTC),
    )
    while await relay_once(MemoryPubSub(), handlers=HANDLERS):
        pass
    await sender_for(http, Clock(dt.datetime.now(dt.UTC))).run_once()

    [received] = receiver.requests
    body = orjson.loads(received.body)
    assert body["type"] == "receipt.submitted"
    assert body["data"]["receiptId"] == upload.receipt_id
    assert body["data"]["member"] == {"accountNumber": member.member.account_number}
    image = base64.b64decode(body["data"]["image"])
    assert hashlib.sha256(image).hexdigest() == body["data"]["sha256"] == upload.sha256
    assert verify_standard_webhook(shop.secret, received)
