"""The event-type catalogue: what is refused on arrival (type, capability, schema), and what each accepted
event type does once the worker has applied it."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from httpx2 import AsyncClient, Response
from jsonschema import Draft202012Validator

from loyalty.enrolment import EnrolledMember
from loyalty.flown.models import Cabin, FlownSegment
from loyalty.flown.service import find_flown
from loyalty.ledger.models import Currency, ExpiryProtection, Posting, ProtectionReason
from loyalty.ledger.service import balances_of
from loyalty.offers.models import OfferKind
from loyalty.offers.service import activate_offer, add_offer
from loyalty.photo_credit.models import ReceiptOutcome, ReceiptVerdict
from partners.models import Partner, PartnerCapability, PartnerKind
from partners.service import NewPartner, update_partner
from tests.factories import make_member, make_partner
from tests.support import signed_delivery
from tests.waiting import settled_inbox_row
from webhooks.catalogue import CATALOGUE, SCHEMA_DIR
from webhooks.handlers import HANDLERS
from webhooks.models import InboxState, PartnerInbox

WAIT_S = 5.0


def event(event_type: str, **data: Any) -> dict[str, Any]:
    return {"type": event_type, "data": data}


def card(member: EnrolledMember) -> dict[str, str]:
    return {"serviceCardNumber": member.card.number}


def accrual(member: EnrolledMember, transaction_id: str = "T-1", miles: int = 1000) -> dict[str, Any]:
    return event(
        "accrual.created",
        member=card(member),
        transactionId=transaction_id,
        activityDate="2025-03-01",
        miles=miles,
    )


def flown(holder: EnrolledMember | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ticketNumber": "2201234567890",
        "couponNumber": 1,
        "carrier": "LH",
        "flightNumber": "0400",
        "flightDate": "2025-03-01",
        "origin": "FRA",
        "destination": "JFK",
        "cabin": "business",
        "bookingClass": "J",
        "passenger": {"surname": "HOPPER", "givenName": "GRACE"},
    }
    if holder is not None:
        data["member"] = card(holder)
    data.update(extra)
    return {"type": "flight.flown", "data": data}


async def send(
    client: AsyncClient, partner: NewPartner, body: dict[str, Any], webhook_id: str | None = None
) -> Response:
    payload, headers = signed_delivery(partner.signing_secret, body, webhook_id=webhook_id)
    return await client.post(f"/webhooks/partners/{partner.code}", content=payload, headers=headers)


async def applied(client: AsyncClient, partner: NewPartner, body: dict[str, Any]) -> PartnerInbox:
    """Deliver, expect 202, and wait (bounded) for the in-process worker to settle the row."""
    response = await send(client, partner, body)
    assert response.status_code == 202, response.text
    return await settled_inbox_row(response.json()["id"], timeout_s=WAIT_S)


async def award_miles(account_id: int) -> int:
    return (await balances_of(account_id=account_id))[Currency.AWARD_MILES]


@pytest.fixture
async def airline(client: AsyncClient) -> NewPartner:
    return await make_partner("swiss", PartnerKind.AIRLINE)


@pytest.fixture
async def shop(client: AsyncClient) -> NewPartner:
    return await make_partner("worldshop", PartnerKind.SHOP)


@pytest.fixture
async def bank(client: AsyncClient) -> NewPartner:
    return await make_partner("dkb", PartnerKind.BANK)


@pytest.fixture
async def member(client: AsyncClient) -> EnrolledMember:
    return await make_member()


# --- the catalogue itself ------------------------------------------------------------------------------


def test_every_schema_file_is_a_valid_schema_and_every_type_has_a_handler() -> None:
    for path in SCHEMA_DIR.glob("*.json"):
        Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))
    assert set(CATALOGUE) == set(HANDLERS)
    assert set(CATALOGUE) >= {
        "accrual.created",
        "accrual.reversed",
        "flight.flown",
        "receipt.verified",
        "card.protection.changed",
    }
    assert {path.stem for path in SCHEMA_DIR.glob("*.json")} == set(CATALOGUE) | {"common"}


# --- refused on arrival --------------------------------------------------------------------------------


async def assert_refused(response: Response, status: int, code: str, path: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    if path is not None:
        assert error["path"] == path, error
    assert await PartnerInbox.all().count() == 0


async def test_unknown_event_type_is_refused(
    client: AsyncClient, airline: NewPartner, member: EnrolledMember
):
    response = await send(client, airline, event("member.renamed", member=card(member)))
    await assert_refused(response, 400, "EVENT_TYPE_UNKNOWN", "type")


@pytest.mark.parametrize(
    ("kind", "body_type"),
    [
        pytest.param(PartnerKind.SHOP, "flight.flown", id="shop-sends-flown-data"),
        pytest.param(PartnerKind.AIRLINE, "receipt.verified", id="airline-sends-photo-credit"),
        pytest.param(PartnerKind.AIRLINE, "card.protection.changed", id="airline-sends-card-protection"),
        pytest.param(PartnerKind.LOUNGE, "accrual.created", id="lounge-sends-accrual"),
    ],
)
async def test_event_type_outside_the_partners_capabilities_is_refused(
    client: AsyncClient, member: EnrolledMember, kind: PartnerKind, body_type: str
):
    # given
    partner = await make_partner("partner", kind)
    bodies = {
        "accrual.created": accrual(member),
        "flight.flown": flown(member),
        "receipt.verified": event(
            "receipt.verified", receiptId="R-1", member=card(member), outcome="rejected", reason="blurred"
        ),
        "card.protection.changed": event(
            "card.protection.changed",
            noticeId="N-1",
            member=card(member),
            cardReference="C-1",
            product="STANDARD",
            change="ISSUED",
            effectiveDate="2025-01-01",
        ),
    }

    # when
    response = await send(client, partner, bodies[body_type])

    # then
    await assert_refused(response, 403, "EVENT_TYPE_NOT_ALLOWED", "type")
    assert "capability" in response.json()["error"]["message"]


async def test_the_capability_is_checked_before_the_payload(client: AsyncClient, member: EnrolledMember):
    # given: a lounge (no accrual capability) sends an accrual that also breaks its schema
    lounge = await make_partner("lounge", PartnerKind.LOUNGE)
    body = accrual(member)
    body["data"]["miles"] = -5

    # when
    response = await send(client, lounge, body)

    # then: the documented 403 comes first, not 400 PAYLOAD_INVALID
    await assert_refused(response, 403, "EVENT_TYPE_NOT_ALLOWED", "type")


@pytest.mark.parametrize("body_type", ["accrual.created", "receipt.verified", "card.protection.changed"])
async def test_a_card_number_with_a_wrong_check_digit_is_refused_on_arrival(
    client: AsyncClient, member: EnrolledMember, body_type: str
):
    # given: the member's own number with its last digit changed, so the Luhn check fails
    number = member.card.number
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    grouped = " ".join(wrong[i : i + 4] for i in range(0, len(wrong), 4))
    partner = await make_partner(
        "partner", PartnerKind.BANK if body_type.startswith("card") else PartnerKind.SHOP
    )
    bodies = {
        "accrual.created": accrual(member),
        "receipt.verified": event(
            "receipt.verified", receiptId="R-1", member=card(member), outcome="rejected", reason="blurred"
        ),
        "card.protection.changed": event(
            "card.protection.changed",
            noticeId="N-1",
            member=card(member),
            cardReference="C-1",
            product="STANDARD",
            change="ISSUED",
            effectiveDate="2025-01-01",
        ),
    }
    body = bodies[body_type]
    body["data"]["member"] = {"serviceCardNumber": grouped}

    # when
    response = await send(client, partner, body)

    # then: refused at once (nothing stored, no dead letter later)
    await assert_refused(response, 400, "CARD_NUMBER_CHECK_DIGIT", "data.member.serviceCardNumber")


async def test_a_card_number_of_another_length_is_left_to_the_worker(
    client: AsyncClient, airline: NewPartner, member: EnrolledMember
):
    # given: a legacy 16-digit number (the worker answers CARD_NUMBER_LEGACY_16_DIGIT, as before)
    body = accrual(member)
    body["data"]["member"] = {"serviceCardNumber": "9920123456789012"}

    # when
    row = await applied(client, airline, body)

    # then
    assert row.state is InboxState.FAILED
    assert row.error_code == "CARD_NUMBER_LEGACY_16_DIGIT"


async def test_capabilities_changed_by_an_operator_apply_at_once(
    client: AsyncClient, airline: NewPartner, member: EnrolledMember
):
    # given: the airline loses its accrual capability
    await update_partner(code="swiss", capabilities={PartnerCapability.FLOWN_DATA})

    # when
    response = await send(client, airline, accrual(member))

    # then
    await assert_refused(response, 403, "EVENT_TYPE_NOT_ALLOWED")


@pytest.mark.parametrize(
    ("change", "path"),
    [
        pytest.param({"transactionId": ""}, "data.transactionId", id="empty-transaction-id"),
        pytest.param({"miles": -5}, "data.miles", id="negative-miles"),
        pytest.param({"miles": 0}, "data.miles", id="credits-nothing"),
        pytest.param({"miles": True}, "data.miles", id="boolean-miles"),
        pytest.param({"miles": 1.5}, "data.miles", id="fractional-miles"),
        pytest.param({"activityDate": "yesterday"}, "data.activityDate", id="bad-date"),
        pytest.param({"activityDate": "2025-02-30"}, "data.activityDate", id="impossible-date"),
        pytest.param({"member": {}}, "data.member", id="no-member-reference"),
        pytest.param(
            {"member": {"serviceCardNumber": "9920" + "²" * 11}},
            "data.member.serviceCardNumber",
            id="non-ascii-digits",
        ),
        pytest.param({"category": "flight"}, "data", id="flight-without-flight"),
        pytest.param(
            {"category": "purchase", "purchase": {"amount": 10}},
            "data.purchase",
            id="purchase-without-currency",
        ),
        pytest.param({"category": "lottery"}, "data.category", id="unknown-category"),
    ],
)
async def test_accrual_that_breaks_its_schema_is_refused_with_the_path(
    client: AsyncClient, airline: NewPartner, member: EnrolledMember, change: dict[str, Any], path: str
):
    # given
    body = accrual(member)
    body["data"].update(change)

    # when
    response = await send(client, airline, body)

    # then
    await assert_refused(response, 400, "PAYLOAD_INVALID", path)
    assert response.json()["error"]["message"].startswith(path)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        pytest.param(
            event("accrual.reversed", transactionId="R-1", activityDate="2025-03-02"),
            "data",
            id="reversal-no-original",
        ),
        pytest.param(flown(ticketNumber="123"), "data.ticketNumber", id="flown-short-ticket"),
        pytest.param(flown(origin="Frankfurt"), "data.origin", id="flown-bad-airport"),
        pytest.param(flown(passenger={}), "data.passenger", id="flown-no-surname"),
    ],
)
async def test_other_events_that_break_their_schema_are_refused(
    client: AsyncClient, airline: NewPartner, body: dict[str, Any], path: str
):
    await assert_refused(await send(client, airline, body), 400, "PAYLOAD_INVALID", path)


@pytest.mark.parametrize(
    ("data", "path"),
    [
        pytest.param(
            {"outcome": "approved", "activityDate": "2025-03-01"}, "data", id="approved-without-miles"
        ),
        pytest.param({"outcome": "rejected"}, "data", id="rejected-without-reason"),
        pytest.param({"outcome": "maybe", "reason": "x"}, "data.outcome", id="unknown-outcome"),
    ],
)
async def test_receipt_verdict_that_breaks_its_schema_is_refused(
    client: AsyncClient, shop: NewPartner, member: EnrolledMember, data: dict[str, Any], path: str
):
    body = event("receipt.verified", receiptId="R-1", member=card(member), **data)
    await assert_refused(await send(client, shop, body), 400, "PAYLOAD_INVALID", path)


# --- accrual.created and accrual.reversed --------------------------------------------------------------


async def test_accrual_with_a_category_and_its_details_is_credited(
    client: AsyncClient, airline: NewPartner, member: EnrolledMember
):
    body = accrual(member)
    body["data"].update(
        category="flight",
        flight={
            "carrier": "LX",
            "flightNumber": "14",
            "origin": "ZRH",
            "destination": "JFK",
            "cabin": "economy",
        },
    )
    row = await applied(client, airline, body)
    assert row.state is InboxState.PROCESSED, row.error_code
    assert await award_miles(member.member.id) == 1000


async def test_reversal_claws_the_miles_back_once(
    client: AsyncClient, airline: NewPartner, member: EnrolledMember
):
    # given: an accrual of 1000 miles
    credited = await applied(client, airline, accrual(member, "LX-1"))
    assert credited.state is InboxState.PROCESSED, credited.error_code
    reversal = event(
        "accrual.reversed",
        transactionId="LX-1-REFUND",
        originalTransactionId="LX-1",
        member=card(member),
        activityDate="2025-03-05",
        reason="refund",
    )

    # when
    reversed_row = await applied(client, airline, reversal)

    # then: the miles are gone, by a reversal posting of the original
    assert reversed_row.state is InboxState.PROCESSED, reversed_row.error_code
    assert reversed_row.account_id == member.member.id
    assert await award_miles(member.member.id) == 0
    swiss = await Partner.get(code="swiss")
    original = await Posting.get(idempotency_key=f"accrual:{swiss.id}:LX-1")
    mirror = await Posting.get(source="REVERSAL")
    assert mirror.idempotency_key == f"reversal:{original.id}"
    # and the same reversal under a new webhook id is a duplicate
    again = await send(
        client, airline, {**reversal, "data": {**reversal["data"], "transactionId": "LX-1-REFUND-B"}}
    )
    assert again.status_code == 200, again.text
    assert again.json() == {"id": reversed_row.id, "duplicate": True}
    assert await Posting.filter(source="REVERSAL").count() == 1
    assert await award_miles(member.member.id) == 0


@pytest.mark.parametrize("case", ["unknown-original", "other-member", "other-partner"])
async def test_reversal_that_cannot_apply_fails_and_changes_nothing(
    client: AsyncClient, airline: NewPartner, member: EnrolledMember, case: str
):
    # given: an accrual of 1000 miles by swiss
    assert (await applied(client, airline, accrual(member, "LX-2"))).state is InboxState.PROCESSED
    sender = airline
    data: dict[str, Any] = {
        "transactionId": "REV-1",
        "originalTransactionId": "LX-2",
        "activityDate": "2025-03-05",
    }
    if case == "unknown-original":
        data["originalTransactionId"] = "LX-404"
    elif case == "other-member":
        other = await make_member("other@example.com")
        data["member"] = card(other)
    else:
        sender = await make_partner("lufthansa")

    # when
    row = await applied(client, sender, event("accrual.reversed", **data))

    # then
    expected = "MEMBER_MISMATCH" if case == "other-member" else "ORIGINAL_ACCRUAL_NOT_FOUND"
    assert (row.state, row.error_code) == (InboxState.FAILED, expected)
    assert await award_miles(member.member.id) == 1000
    assert await Posting.filter(source="REVERSAL").count() == 0


# --- flight.flown --------------------------------------------------------------------------------------


async def test_flown_data_is_stored_for_retro_credit(
    client: AsyncClient, airline: NewPartner, member: EnrolledMember
):
    # when
    row = await applied(client, airline, flown(member, fare={"amount": 812.5, "currency": "EUR"}))

    # then
    assert row.state is InboxState.PROCESSED, row.error_code
    assert row.account_id == member.member.id
    found = await find_flown(
        flight_date=dt.date(2025, 3, 1), carrier="LH", flight_number="400", ticket_number="2201234567890"
    )
    assert len(found) == 1
    segment = found[0]
    assert (segment.account_id, segment.origin, segment.destination) == (member.member.id, "FRA", "JFK")
    assert (segment.cabin, segment.booking_class, segment.passenger_surname) == (
        Cabin.BUSINESS,
        "J",
        "HOPPER",
    )
    assert segment.details == {"fare": {"amount": 812.5, "currency": "EUR"}}
    assert (
        await find_flown(
            flight_date=dt.date(2025, 3, 1), carrier="LH", flight_number="400", account_id=member.member.id
        )
        == found
    )


async def test_flown_data_for_an_unknown_member_is_kept_unassigned(
    client: AsyncClient, airline: NewPartner, member: EnrolledMember
):
    # given: flown data without a member, and one naming an account nobody holds
    first = await applied(client, airline, flown())
    second = await applied(
        client, airline, flown(ticketNumber="2209999999999", member={"accountNumber": "000000001"})
    )

    # then: both stored, for retro credit to match by ticket and name later
    assert (first.state, second.state) == (InboxState.PROCESSED, InboxState.PROCESSED)
    segments = await FlownSegment.all().order_by("id")
    assert [(s.ticket_number, s.account_id, s.member_reference) for s in segments] == [
        ("2201234567890", None, ""),
        ("2209999999999", None, "000000001"),
    ]


async def test_the_same_flown_coupon_again_is_a_duplicate(
    client: AsyncClient, airline: NewPartner, member: EnrolledMember
):
    first = await applied(client, airline, flown(member))
    again = await send(client, airline, flown(member))
    assert again.status_code == 200, again.text
    assert again.json() == {"id": first.id, "duplicate": True}
    assert await FlownSegment.all().count() == 1


# --- receipt.verified ----------------------------------------------------------------------------------


async def test_approved_receipt_credits_the_miles(
    client: AsyncClient, shop: NewPartner, member: EnrolledMember
):
    # when
    row = await applied(
        client,
        shop,
        event(
            "receipt.verified",
            receiptId="R-7",
            member=card(member),
            outcome="approved",
            miles=450,
            activityDate="2025-02-20",
        ),
    )

    # then
    assert row.state is InboxState.PROCESSED, row.error_code
    assert await award_miles(member.member.id) == 450
    verdict = await ReceiptVerdict.get(receipt_id="R-7")
    assert (verdict.outcome, verdict.miles, verdict.account_id) == (
        ReceiptOutcome.APPROVED,
        450,
        member.member.id,
    )
    posting = await Posting.get(id=verdict.posting_id)
    assert (posting.source, posting.partner_reference) == ("PHOTO_CREDIT", "worldshop:R-7")


async def test_rejected_receipt_records_the_reason_and_credits_nothing(
    client: AsyncClient, shop: NewPartner, member: EnrolledMember
):
    row = await applied(
        client,
        shop,
        event(
            "receipt.verified",
            receiptId="R-8",
            member=card(member),
            outcome="rejected",
            reason="receipt unreadable",
        ),
    )
    assert row.state is InboxState.PROCESSED, row.error_code
    verdict = await ReceiptVerdict.get(receipt_id="R-8")
    assert (verdict.outcome, verdict.reason, verdict.posting_id) == (
        ReceiptOutcome.REJECTED,
        "receipt unreadable",
        None,
    )
    assert await Posting.all().count() == 0


# --- card.protection.changed ---------------------------------------------------------------------------


async def test_card_protection_follows_the_card_rules(
    client: AsyncClient, bank: NewPartner, member: EnrolledMember
):
    # when: the bank reports a standard card issued, then a broken condition on a statement notice
    issued = await applied(
        client,
        bank,
        event(
            "card.protection.changed",
            noticeId="N-1",
            member=card(member),
            cardReference="C-1",
            product="STANDARD",
            change="ISSUED",
            effectiveDate="2025-01-15",
        ),
    )
    assert issued.state is InboxState.PROCESSED, issued.error_code
    periods = await ExpiryProtection.filter(account_id=member.member.id)
    # held 3 months before it protects
    assert [(p.reason, p.starts_on, p.ends_on) for p in periods] == [
        (ProtectionReason.CREDIT_CARD, dt.date(2025, 4, 15), None)
    ]
    broken = await applied(
        client,
        bank,
        event(
            "card.protection.changed",
            noticeId="N-2",
            member=card(member),
            cardReference="C-1",
            product="STANDARD",
            change="CONDITIONS_BROKEN",
            effectiveDate="2025-08-10",
        ),
    )

    # then: expiry resumes in the quarter after the notice
    assert broken.state is InboxState.PROCESSED, broken.error_code
    periods = await ExpiryProtection.filter(account_id=member.member.id)
    assert [(p.starts_on, p.ends_on) for p in periods] == [(dt.date(2025, 4, 15), dt.date(2025, 9, 30))]


# --- business keys ---------------------------------------------------------------------------------------


async def test_business_keys_are_per_partner(
    client: AsyncClient, airline: NewPartner, member: EnrolledMember
):
    # given: two partners use the same transaction id
    other = await make_partner("lufthansa")

    # when
    first = await applied(client, airline, accrual(member, "SAME-1", miles=100))
    second = await applied(client, other, accrual(member, "SAME-1", miles=200))

    # then: both credited
    assert (first.state, second.state) == (InboxState.PROCESSED, InboxState.PROCESSED)
    assert await award_miles(member.member.id) == 300


async def test_same_webhook_id_with_another_transaction_is_still_a_duplicate(
    client: AsyncClient, airline: NewPartner, member: EnrolledMember
):
    webhook_id = f"msg_{uuid.uuid4().hex}"
    first = await send(client, airline, accrual(member, "A-1"), webhook_id)
    again = await send(client, airline, accrual(member, "A-2"), webhook_id)
    assert first.status_code == 202, first.text
    assert (again.status_code, again.json()) == (200, {"id": first.json()["id"], "duplicate": True})
    assert await PartnerInbox.all().count() == 1


# --- offers ----------------------------------------------------------------------------------------------


async def test_an_activated_offer_adds_its_bonus_to_the_next_accrual_once(
    client: AsyncClient, shop: NewPartner, member: EnrolledMember
):
    # given: a running earn offer of the shop, activated by the member
    now = dt.datetime.now(dt.UTC)
    await add_offer(
        code="SHOP-BONUS",
        partner_code="worldshop",
        kind=OfferKind.EARN,
        title="500 extra miles",
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=1),
        bonus_miles=500,
    )
    await activate_offer(account_id=member.member.id, code="SHOP-BONUS", now=now)

    # when: two accruals with today's activity date
    def today(transaction_id: str) -> dict[str, Any]:
        body = accrual(member, transaction_id, miles=100)
        body["data"]["activityDate"] = now.date().isoformat()
        return body

    first = await applied(client, shop, today("P-1"))
    second = await applied(client, shop, today("P-2"))

    # then: the bonus came once, with the first
    assert (first.state, second.state) == (InboxState.PROCESSED, InboxState.PROCESSED)
    assert await award_miles(member.member.id) == 100 + 500 + 100
    assert await Posting.filter(account_id=member.member.id, source="OFFER_BONUS").count() == 1
