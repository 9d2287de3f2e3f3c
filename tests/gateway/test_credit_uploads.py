"""Pictures members upload for credit: receipts for photo credit (then the partner's signed
``receipt.verified``), and boarding-pass pictures for retro credit; limits and refusals."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

import pytest
import zxingcpp
from httpx2 import AsyncClient, Response
from PIL import Image, ImageDraw

from loyalty.events.models import DomainEvent, EventType
from loyalty.members.models import Member
from loyalty.photo_credit.models import ReceiptState, ReceiptUpload
from partners.models import PartnerKind
from partners.service import NewPartner
from tests.factories import enrolled_member, gql, make_partner
from tests.loyalty.retro_credit_helpers import boarding_pass
from tests.support import signed_delivery
from tests.waiting import settled_inbox_row
from webhooks.models import InboxState, PartnerInbox

RECEIPTS = """
query Receipts { me { balances { awardMiles } receipts { receiptId partnerCode state miles reason decidedAt } } }
"""
PARTNERS = "query { photoCreditPartners { code name } }"


def receipt_picture(text: str = "WorldShop 2025-09-01 EUR 89.00", image_format: str = "PNG") -> bytes:
    page = Image.new("RGB", (320, 480), color="white")
    ImageDraw.Draw(page).text((20, 20), text, fill="black")
    buffer = io.BytesIO()
    page.save(buffer, format=image_format)
    return buffer.getvalue()


async def upload(
    client: AsyncClient, token: str | None, partner: str, body: bytes, content_type: str = "image/png"
) -> Response:
    headers = {"content-type": content_type}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await client.post(f"/photo-credit/receipts?partner={partner}", content=body, headers=headers)


async def verdict(client: AsyncClient, shop: NewPartner, **data: Any) -> PartnerInbox:
    body, headers = signed_delivery(
        shop.signing_secret, {"type": "receipt.verified", "data": data}, webhook_id=f"msg_{uuid.uuid4().hex}"
    )
    response = await client.post(f"/webhooks/partners/{shop.code}", content=body, headers=headers)
    assert response.status_code == 202, response.text
    return await settled_inbox_row(response.json()["id"], timeout_s=5.0)


@pytest.fixture
async def shop(client: AsyncClient) -> NewPartner:
    return await make_partner("worldshop", PartnerKind.SHOP)


async def test_a_receipt_waits_for_the_partner_then_is_credited(
    client: AsyncClient, shop: NewPartner
) -> None:
    # given
    enrolled = await enrolled_member(client)
    token = enrolled["accessToken"]
    assert (await gql(client, PARTNERS))["data"]["photoCreditPartners"] == [
        {"code": "worldshop", "name": "WORLDSHOP"}
    ]

    # when: the member uploads a receipt
    response = await upload(client, token, "worldshop", receipt_picture())

    # then: stored, announced to the partner, visible as SUBMITTED
    assert response.status_code == 201, response.text
    receipt_id = response.json()["receiptId"]
    assert response.json()["state"] == "SUBMITTED" and response.json()["contentType"] == "image/png"
    member = await Member.get(account_number=enrolled["accountNumber"])
    [event] = await DomainEvent.filter(account_id=member.id, type=EventType.RECEIPT_SUBMITTED)
    assert event.payload["receiptId"] == receipt_id and event.payload["partner"] == "worldshop"
    mine = (await gql(client, RECEIPTS, token=token))["data"]["me"]
    assert [(r["receiptId"], r["state"]) for r in mine["receipts"]] == [(receipt_id, "SUBMITTED")]

    # when: the partner approves it
    row = await verdict(
        client,
        shop,
        receiptId=receipt_id,
        member={"accountNumber": enrolled["accountNumber"]},
        outcome="approved",
        miles=300,
        activityDate="2025-09-01",
    )

    # then
    assert row.state is InboxState.PROCESSED, row.error_code
    mine = (await gql(client, RECEIPTS, token=token))["data"]["me"]
    [seen] = mine["receipts"]
    assert (seen["state"], seen["miles"], seen["reason"]) == ("APPROVED", 300, None)
    assert seen["decidedAt"] and mine["balances"]["awardMiles"] == 300


async def test_a_rejected_receipt_shows_the_reason(client: AsyncClient, shop: NewPartner) -> None:
    enrolled = await enrolled_member(client)
    receipt_id = (await upload(client, enrolled["accessToken"], "worldshop", receipt_picture())).json()[
        "receiptId"
    ]
    await verdict(
        client,
        shop,
        receiptId=receipt_id,
        member={"accountNumber": enrolled["accountNumber"]},
        outcome="rejected",
        reason="receipt older than 6 months",
    )
    [seen] = (await gql(client, RECEIPTS, token=enrolled["accessToken"]))["data"]["me"]["receipts"]
    assert (seen["state"], seen["miles"], seen["reason"]) == ("REJECTED", 0, "receipt older than 6 months")


async def test_a_verdict_naming_another_member_changes_nothing(client: AsyncClient, shop: NewPartner) -> None:
    owner = await enrolled_member(client)
    other = await enrolled_member(client, email="other@example.com")
    receipt_id = (await upload(client, owner["accessToken"], "worldshop", receipt_picture())).json()[
        "receiptId"
    ]
    row = await verdict(
        client,
        shop,
        receiptId=receipt_id,
        member={"accountNumber": other["accountNumber"]},
        outcome="approved",
        miles=300,
        activityDate="2025-09-01",
    )
    assert (row.state, row.error_code) == (InboxState.FAILED, "MEMBER_MISMATCH")
    assert (await ReceiptUpload.get(receipt_id=receipt_id)).state is ReceiptState.SUBMITTED


async def test_receipt_refusals(client: AsyncClient, shop: NewPartner) -> None:
    enrolled = await enrolled_member(client)
    token = enrolled["accessToken"]
    await make_partner("swiss", PartnerKind.AIRLINE)
    picture = receipt_picture()
    cases = [
        (await upload(client, None, "worldshop", picture), 401, "UNAUTHENTICATED"),
        (await upload(client, token, "swiss", picture), 404, "PARTNER_NOT_AVAILABLE"),
        (await upload(client, token, "nobody", picture), 404, "PARTNER_NOT_AVAILABLE"),
        (await upload(client, token, "worldshop", picture, "image/gif"), 415, "IMAGE_TYPE_NOT_ALLOWED"),
        (await upload(client, token, "worldshop", b"not a picture"), 415, "IMAGE_TYPE_NOT_ALLOWED"),
        (await upload(client, token, "worldshop", b""), 422, "IMAGE_EMPTY"),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    assert await ReceiptUpload.all().count() == 0
    assert (await upload(client, token, "worldshop", picture)).status_code == 201
    twice = await upload(client, token, "worldshop", picture)
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "DUPLICATE_RECEIPT")
    assert await ReceiptUpload.all().count() == 1


async def test_a_receipt_too_large_is_refused_before_it_is_read(
    client: AsyncClient, shop: NewPartner
) -> None:
    enrolled = await enrolled_member(client)
    huge = b"\x89PNG" + b"0" * 8_000_001
    response = await upload(client, enrolled["accessToken"], "worldshop", huge)
    assert (response.status_code, response.json()["error"]["code"]) == (413, "IMAGE_TOO_LARGE")


async def test_a_boarding_pass_picture_asks_for_retro_credit(client: AsyncClient) -> None:
    enrolled = await enrolled_member(client)
    day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=10)
    data = boarding_pass(name="LOVELACE/ADA MRS", day=day)
    barcode = Image.fromarray(zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.PDF417).to_image(scale=3))
    page = Image.new("L", (barcode.width + 200, barcode.height + 200), color=255)
    page.paste(barcode, (100, 100))
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    headers = {"authorization": f"Bearer {enrolled['accessToken']}", "content-type": "image/png"}

    response = await client.post("/retro-credit/boarding-pass", content=buffer.getvalue(), headers=headers)

    assert response.status_code == 201, response.text
    [request] = response.json()["requests"]
    assert (request["state"], request["flight"], request["flightDate"]) == (
        "PENDING_PARTNER",
        "LH400",
        day.isoformat(),
    )
    again = await client.post("/retro-credit/boarding-pass", content=buffer.getvalue(), headers=headers)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "DUPLICATE_REQUEST")
