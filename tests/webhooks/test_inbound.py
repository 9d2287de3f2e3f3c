"""``POST /webhooks/partners/{code}``: what a partner sees, and what is stored in the inbox afterwards.

Every refusal answers with a JSON ``error.code``, never a 500 or a traceback, and stores nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx2 import AsyncClient, Response
from svix.webhooks import Webhook

from gateway.settings import Settings
from loyalty.enrolment import EnrolledMember
from partners.models import Partner, PartnerState
from partners.service import NewPartner
from partners.signing import add_secret, generate_signing_secret, retire
from tests.factories import make_member, make_partner, partner_box_for_tests
from tests.support import signed_delivery
from webhooks.models import InboxState, PartnerInbox

URL = "/webhooks/partners/swiss"


def accrual(member: EnrolledMember, transaction_id: str = "T-1", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "member": {"serviceCardNumber": member.card.number},
        "transactionId": transaction_id,
        "activityDate": "2025-03-01",
        "miles": 1200,
    }
    data.update(extra)
    return {"type": "accrual.created", "data": data}


def signed_raw(secret: str, body: bytes, *, webhook_id: str | None = None) -> dict[str, str]:
    """Headers for an arbitrary body (not necessarily JSON), signed as a partner would."""
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    now = dt.datetime.now(dt.UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body.decode()),
        "content-type": "application/json",
    }


async def assert_refused(response: Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    assert await PartnerInbox.all().count() == 0


@pytest.fixture
async def partner(client: AsyncClient) -> NewPartner:
    return await make_partner("swiss")


@pytest.fixture
async def member(client: AsyncClient) -> EnrolledMember:
    return await make_member()


# --- accepted deliveries ---------------------------------------------------------------------------


async def test_signed_delivery_is_stored_and_answered_202(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given
    body, headers = signed_delivery(partner.signing_secret, accrual(member), webhook_id="msg_first")

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    assert response.status_code == 202, response.text
    payload = response.json()
    assert payload["duplicate"] is False
    rows = await PartnerInbox.all()
    assert len(rows) == 1
    row = rows[0]
    assert payload["id"] == row.id
    assert row.webhook_id == "msg_first"
    assert row.event_type == "accrual.created"
    assert row.payload == accrual(member)
    assert row.state in (InboxState.PENDING, InboxState.PROCESSED)
    swiss = await Partner.get(code="swiss")
    assert row.partner_id == swiss.id


async def test_same_webhook_id_again_is_a_duplicate_and_stores_nothing_more(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given
    body, headers = signed_delivery(partner.signing_secret, accrual(member))
    first = await client.post(URL, content=body, headers=headers)
    assert first.status_code == 202, first.text

    # when
    again = await client.post(URL, content=body, headers=headers)

    # then
    assert again.status_code == 200, again.text
    assert again.json() == {"id": first.json()["id"], "duplicate": True}
    assert await PartnerInbox.all().count() == 1


async def test_redelivery_with_a_fresh_signature_is_still_a_duplicate(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given: a partner retries later with the same webhook id, re-signed with a new timestamp
    first_body, first_headers = signed_delivery(
        partner.signing_secret, accrual(member), webhook_id="msg_retry"
    )
    first = await client.post(URL, content=first_body, headers=first_headers)
    assert first.status_code == 202, first.text
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    body, headers = signed_delivery(
        partner.signing_secret, accrual(member), webhook_id="msg_retry", timestamp=later
    )

    # when
    again = await client.post(URL, content=body, headers=headers)

    # then
    assert again.status_code == 200, again.text
    assert again.json() == {"id": first.json()["id"], "duplicate": True}
    assert await PartnerInbox.all().count() == 1


async def test_svix_header_names_are_accepted(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given
    body, headers = signed_delivery(
        partner.signing_secret, accrual(member), webhook_id="msg_svix", svix_names=True
    )
    assert "svix-signature" in headers
    assert "webhook-signature" not in headers

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    assert response.status_code == 202, response.text
    row = await PartnerInbox.get(id=response.json()["id"])
    assert row.webhook_id == "msg_svix"


async def test_both_active_secrets_are_accepted_during_rotation(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given: a second active secret next to the first
    second_secret = (await add_secret(code="swiss", box=partner_box_for_tests())).secret
    body_old, headers_old = signed_delivery(partner.signing_secret, accrual(member, "T-old"))
    body_new, headers_new = signed_delivery(second_secret, accrual(member, "T-new"))

    # when
    with_old = await client.post(URL, content=body_old, headers=headers_old)
    with_new = await client.post(URL, content=body_new, headers=headers_new)

    # then
    assert with_old.status_code == 202, with_old.text
    assert with_new.status_code == 202, with_new.text
    stored = await PartnerInbox.all().order_by("id").values_list("webhook_id", flat=True)
    assert list(stored) == [headers_old["webhook-id"], headers_new["webhook-id"]]  # type: ignore[comparison-overlap]


async def test_deactivated_secret_is_refused(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given: the first secret was rotated out
    await add_secret(code="swiss", box=partner_box_for_tests())
    await retire(code="swiss", kind="secret", material_id=partner.secret_id)
    body, headers = signed_delivery(partner.signing_secret, accrual(member))

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    await assert_refused(response, 401, "SIGNATURE_INVALID")


async def test_webhook_ids_are_unique_per_partner_only(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given: two partners happen to use the same webhook id
    other = await make_partner("lufthansa")
    body_swiss, headers_swiss = signed_delivery(partner.signing_secret, accrual(member), webhook_id="msg_1")
    body_lh, headers_lh = signed_delivery(other.signing_secret, accrual(member), webhook_id="msg_1")

    # when
    swiss = await client.post(URL, content=body_swiss, headers=headers_swiss)
    lufthansa = await client.post("/webhooks/partners/lufthansa", content=body_lh, headers=headers_lh)

    # then
    assert swiss.status_code == 202, swiss.text
    assert lufthansa.status_code == 202, lufthansa.text
    assert swiss.json()["id"] != lufthansa.json()["id"]
    assert await PartnerInbox.filter(webhook_id="msg_1").count() == 2


async def test_body_of_exactly_the_limit_is_accepted(
    client: AsyncClient, settings: Settings, partner: NewPartner, member: EnrolledMember
):
    # given: a signed event padded to exactly webhook_max_body_bytes
    limit = settings.webhook_max_body_bytes
    event = accrual(member, description="")
    padding = limit - len(signed_delivery(partner.signing_secret, event)[0])
    event["data"]["description"] = "x" * padding
    body, headers = signed_delivery(partner.signing_secret, event)
    assert len(body) == limit

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    assert response.status_code == 202, response.text
    assert await PartnerInbox.all().count() == 1


# --- refusals --------------------------------------------------------------------------------------


async def test_wrong_secret_is_refused(client: AsyncClient, partner: NewPartner, member: EnrolledMember):
    # given
    body, headers = signed_delivery(generate_signing_secret(), accrual(member))

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    await assert_refused(response, 401, "SIGNATURE_INVALID")


async def test_tampered_body_is_refused(client: AsyncClient, partner: NewPartner, member: EnrolledMember):
    # given: signed for 1200 miles, sent with 120000
    body, headers = signed_delivery(partner.signing_secret, accrual(member))
    tampered = body.replace(b'"miles":1200', b'"miles":120000')
    assert tampered != body

    # when
    response = await client.post(URL, content=tampered, headers=headers)

    # then
    await assert_refused(response, 401, "SIGNATURE_INVALID")


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("v1,!!!notbase64", id="not-base64"),
        pytest.param("garbage-without-comma", id="no-comma"),
        pytest.param("v1,abc,def", id="two-commas"),
        pytest.param("v1,\xff\xfe".encode("latin-1"), id="non-ascii"),
    ],
)
async def test_malformed_signature_header_is_a_400_not_a_500(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember, signature: str | bytes
):
    # given
    body, headers = signed_delivery(partner.signing_secret, accrual(member))
    sent: dict[str, str | bytes] = {**headers, "webhook-signature": signature}

    # when
    response = await client.post(URL, content=body, headers=sent)  # type: ignore[arg-type]

    # then
    await assert_refused(response, 400, "SIGNATURE_MALFORMED")


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
async def test_missing_header_is_refused(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember, missing: str
):
    # given
    body, headers = signed_delivery(partner.signing_secret, accrual(member))
    del headers[missing]

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    await assert_refused(response, 400, "HEADER_MISSING")
    assert missing in response.json()["error"]["message"]


async def test_unsigned_post_is_refused(client: AsyncClient, partner: NewPartner, member: EnrolledMember):
    # when
    response = await client.post(URL, json=accrual(member))

    # then
    await assert_refused(response, 400, "HEADER_MISSING")


async def test_too_long_webhook_id_is_refused(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given
    body, headers = signed_delivery(partner.signing_secret, accrual(member), webhook_id="m" * 129)

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    await assert_refused(response, 400, "WEBHOOK_ID_INVALID")


@pytest.mark.parametrize("offset_minutes", [-10, 10], ids=["10-min-old", "10-min-ahead"])
async def test_timestamp_outside_tolerance_is_refused(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember, offset_minutes: int
):
    # given: correctly signed, but not now
    stamp = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=offset_minutes)
    body, headers = signed_delivery(partner.signing_secret, accrual(member), timestamp=stamp)

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    await assert_refused(response, 401, "TIMESTAMP_OUT_OF_TOLERANCE")


@pytest.mark.parametrize("timestamp", ["yesterday", "1700000000.5", "0x6553f100", "9" * 5000])
async def test_non_numeric_timestamp_is_refused(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember, timestamp: str
):
    # given
    body, headers = signed_delivery(partner.signing_secret, accrual(member))
    headers["webhook-timestamp"] = timestamp

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    await assert_refused(response, 400, "TIMESTAMP_INVALID")


async def test_unknown_partner_is_refused(client: AsyncClient, partner: NewPartner, member: EnrolledMember):
    # given
    body, headers = signed_delivery(partner.signing_secret, accrual(member))

    # when
    response = await client.post("/webhooks/partners/nobody", content=body, headers=headers)

    # then
    await assert_refused(response, 404, "PARTNER_UNKNOWN")


async def test_suspended_partner_is_refused(client: AsyncClient, partner: NewPartner, member: EnrolledMember):
    # given
    await Partner.filter(code="swiss").update(state=PartnerState.SUSPENDED)
    body, headers = signed_delivery(partner.signing_secret, accrual(member))

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    await assert_refused(response, 403, "PARTNER_SUSPENDED")


async def test_body_over_the_limit_is_refused(
    client: AsyncClient, settings: Settings, partner: NewPartner, member: EnrolledMember
):
    # given: a signed event one byte over the limit
    limit = settings.webhook_max_body_bytes
    event = accrual(member, description="")
    padding = limit + 1 - len(signed_delivery(partner.signing_secret, event)[0])
    event["data"]["description"] = "x" * padding
    body, headers = signed_delivery(partner.signing_secret, event)
    assert len(body) == limit + 1

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    await assert_refused(response, 413, "BODY_TOO_LARGE")


async def test_streamed_body_over_the_limit_is_refused_without_content_length(
    client: AsyncClient, settings: Settings, partner: NewPartner
):
    # given: a chunked body, so only the bytes read so far tell the size
    chunk = b"x" * 64 * 1024
    chunks = settings.webhook_max_body_bytes // len(chunk) + 2

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(chunks):
            yield chunk

    headers = signed_raw(partner.signing_secret, b"{}")

    # when
    response = await client.post(URL, content=stream(), headers=headers)

    # then
    assert "content-length" not in response.request.headers
    await assert_refused(response, 413, "BODY_TOO_LARGE")


async def test_signed_non_json_body_is_refused(client: AsyncClient, partner: NewPartner):
    # given
    body = b"miles=1200&card=992012345678901"
    headers = signed_raw(partner.signing_secret, body)

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    await assert_refused(response, 400, "BODY_NOT_JSON")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(b'{"data": {"miles": 1}}', "EVENT_TYPE_MISSING", id="no-type"),
        pytest.param(b'{"type": "", "data": {}}', "EVENT_TYPE_MISSING", id="empty-type"),
        pytest.param(b'{"type": 7, "data": {}}', "EVENT_TYPE_MISSING", id="type-not-a-string"),
        pytest.param(b'{"type": "' + b"a" * 65 + b'", "data": {}}', "EVENT_TYPE_MISSING", id="type-too-long"),
        pytest.param(b'{"type": "accrual.created"}', "EVENT_DATA_MISSING", id="no-data"),
        pytest.param(b'{"type": "accrual.created", "data": [1]}', "EVENT_DATA_MISSING", id="data-not-object"),
        pytest.param(b'[{"type": "accrual.created"}]', "BODY_INVALID", id="array"),
        pytest.param(b'"accrual.created"', "BODY_INVALID", id="string"),
    ],
)
async def test_signed_json_that_is_not_an_event_is_refused(
    client: AsyncClient, partner: NewPartner, body: bytes, code: str
):
    # given
    headers = signed_raw(partner.signing_secret, body)

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    await assert_refused(response, 400, code)


async def test_get_is_not_allowed(client: AsyncClient, partner: NewPartner):
    # when
    response = await client.get(URL)

    # then
    await assert_refused(response, 405, "HTTP_405")


# --- what exactly is verified -----------------------------------------------------------------------


async def test_replay_with_an_extra_unsigned_webhook_id_is_refused(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given: a delivery sent with svix-* names, captured by someone on the path
    body, headers = signed_delivery(partner.signing_secret, accrual(member), svix_names=True)
    first = await client.post(URL, content=body, headers=headers)
    assert first.status_code == 202, first.text

    # when: replayed with an extra webhook-id header that nobody signed
    replay = await client.post(URL, content=body, headers={**headers, "webhook-id": "msg_replayed"})

    # then: the id we would store is the one checked, and it was not signed
    assert replay.status_code == 401, replay.text
    assert replay.json()["error"]["code"] == "SIGNATURE_INVALID"
    assert await PartnerInbox.all().count() == 1
    assert await PartnerInbox.filter(webhook_id="msg_replayed").count() == 0


async def test_configured_tolerance_above_five_minutes_is_honoured(
    client: AsyncClient, settings: Settings, partner: NewPartner, member: EnrolledMember
):
    # given: a 10-minute tolerance and a delivery signed 7 minutes ago
    settings.webhook_tolerance_s = 600
    stamp = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=7)
    body, headers = signed_delivery(partner.signing_secret, accrual(member), timestamp=stamp)

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    assert response.status_code == 202, response.text
    assert await PartnerInbox.all().count() == 1


async def test_configured_tolerance_below_five_minutes_is_honoured(
    client: AsyncClient, settings: Settings, partner: NewPartner, member: EnrolledMember
):
    # given: a 1-minute tolerance and a delivery signed 2 minutes ago
    settings.webhook_tolerance_s = 60
    stamp = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
    body, headers = signed_delivery(partner.signing_secret, accrual(member), timestamp=stamp)

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    await assert_refused(response, 401, "TIMESTAMP_OUT_OF_TOLERANCE")


@pytest.mark.parametrize(
    "arrangement",
    [
        pytest.param("{other} {valid}", id="wrong-then-right"),
        pytest.param("v2,{raw} {valid}", id="unknown-version-first"),
        pytest.param("{valid} v1a,{raw}", id="unknown-version-after"),
    ],
)
async def test_any_valid_v1_signature_in_the_header_is_enough(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember, arrangement: str
):
    # given: several space-separated signatures, one of them right
    body, headers = signed_delivery(partner.signing_secret, accrual(member))
    valid = headers["webhook-signature"]
    other = signed_delivery(generate_signing_secret(), accrual(member), webhook_id=headers["webhook-id"])[1]
    raw = valid.split(",", 1)[1]
    headers["webhook-signature"] = arrangement.format(valid=valid, other=other["webhook-signature"], raw=raw)

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    assert response.status_code == 202, response.text
    assert await PartnerInbox.all().count() == 1


async def test_only_unknown_signature_versions_are_refused(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given: the right HMAC, labelled with a version we do not know
    body, headers = signed_delivery(partner.signing_secret, accrual(member))
    headers["webhook-signature"] = "v2," + headers["webhook-signature"].split(",", 1)[1]

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    await assert_refused(response, 401, "SIGNATURE_INVALID")


async def test_body_that_is_not_utf8_is_refused(client: AsyncClient, partner: NewPartner):
    # given
    body = b'{"type": "accrual.created", "data": {"name": "M\xfcller"}}'  # Latin-1, not UTF-8
    with pytest.raises(UnicodeDecodeError):
        body.decode()
    headers = signed_raw(partner.signing_secret, b"{}")

    # when
    response = await client.post(URL, content=body, headers=headers)

    # then
    await assert_refused(response, 400, "BODY_NOT_UTF8")
