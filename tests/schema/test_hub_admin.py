"""The operators' GraphQL (``/admin/graphql``) over the partner hub, end to end: an operator registers a
partner endpoint, a partner accrual goes through the inbox, the relay and the sender to a real receiver,
and the operator sees the delivery with its attempts, the unmatched accrual, and re-processes it. And the
hub's lists are keyset connections; the member schema at ``/graphql`` has none of these fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from httpx2 import AsyncClient

from gateway.operators import OperatorTokens
from gateway.settings import Settings
from loyalty.ledger.models import Currency
from loyalty.ledger.service import balances_of
from tests.factories import TEST_SECRET, admin_gql, enrolled_member, gql, make_member, make_partner
from tests.support import signed_delivery, wait_for
from tests.webhooks.receiver import Receiver, running_receiver, verify_standard_webhook
from webhooks.models import InboxState, PartnerInbox
from webhooks.outbound.service import raise_operational_event

ADD_ENDPOINT = """
mutation A($input: AddPartnerEndpointInput!) {
  addPartnerEndpoint(input: $input) {
    __typename
    ... on NewPartnerEndpoint { secret endpoint { id url eventTypes enabled } }
    ... on InputError { code field }
  }
}
"""
DELIVERIES = """
query D($endpointId: ID) {
  outboundDeliveries(endpointId: $endpointId) {
    edges { node { id endpointId webhookId eventType state attempts attemptLog { statusCode durationMs } } }
  }
}
"""
UNMATCHED = "{ unmatchedAccruals { edges { node { id webhookId errorCode state payload } } } }"
REPROCESS = "mutation { reprocessInbox { __typename ... on Queued { count } ... on InputError { code } } }"
ENDPOINTS = "{ partnerEndpoints { id partnerCode enabled eventTypes } }"
EVENTS = """
query E($first: Int!, $after: String) {
  operationalEvents(first: $first, after: $after) {
    edges { cursor node { id kind subject } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"outbound_allowed_hosts": "127.0.0.1"})


@pytest.fixture
async def operator_token(client: AsyncClient) -> str:
    """A minted (recorded) operator token: the app's lifespan opened the database."""
    token, _ = await OperatorTokens(TEST_SECRET).mint(name="ops.alice", ttl_s=600)
    return token


async def eventually(check: Any, timeout_s: float = 20) -> None:
    await wait_for(check, timeout_s=timeout_s, interval_s=0.1, what="the hub's background work")


async def deliver(client: AsyncClient, secret: str, event: dict[str, Any], webhook_id: str) -> None:
    body, headers = signed_delivery(secret, event, webhook_id=webhook_id)
    response = await client.post("/webhooks/partners/swiss", content=body, headers=headers)
    assert response.status_code == 202, response.text


def accrual(member: dict[str, str], transaction_id: str) -> dict[str, Any]:
    return {
        "type": "accrual.created",
        "data": {
            "member": member,
            "transactionId": transaction_id,
            "activityDate": "2026-03-01",
            "miles": 800,
        },
    }


async def test_an_operator_follows_an_accrual_out_to_the_partner_and_re_processes_an_unmatched_one(
    client: AsyncClient, operator_token: str, receiver: Receiver
) -> None:
    # given: a partner and an endpoint for accrual outcomes, added by an operator
    partner = await make_partner("swiss")
    refused = await admin_gql(
        client,
        ADD_ENDPOINT,
        {"input": {"partnerCode": "swiss", "url": "https://10.1.2.3/in", "eventTypes": ["accrual.credited"]}},
        token=operator_token,
    )
    assert refused["data"]["addPartnerEndpoint"] == {
        "__typename": "InputError",
        "code": "URL_HOST_NOT_ALLOWED",
        "field": "url",
    }
    added = await admin_gql(
        client,
        ADD_ENDPOINT,
        {
            "input": {
                "partnerCode": "swiss",
                "url": receiver.url(),
                "eventTypes": ["accrual.credited", "accrual.rejected"],
            }
        },
        token=operator_token,
    )
    result = added["data"]["addPartnerEndpoint"]
    assert result["__typename"] == "NewPartnerEndpoint" and result["secret"].startswith("whsec_")
    endpoint_id = result["endpoint"]["id"]
    assert isinstance(endpoint_id, str) and endpoint_id.isdigit()
    member = await make_member()

    # when: the partner sends an accrual for the member, and one naming an account nobody has
    await deliver(
        client, partner.signing_secret, accrual({"serviceCardNumber": member.card.number}, "LX-1"), "msg_1"
    )
    await deliver(client, partner.signing_secret, accrual({"accountNumber": "999999999"}, "LX-2"), "msg_2")

    # then: the partner hears of both, signed with the endpoint's secret
    async def two_received() -> bool:
        return len(receiver.requests) >= 2

    await eventually(two_received)
    types = sorted(orjson.loads(r.body)["type"] for r in receiver.requests)
    assert types == ["accrual.credited", "accrual.rejected"]
    assert all(verify_standard_webhook(result["secret"], r) for r in receiver.requests)

    # and the operator sees both deliveries with their attempts (the sender records an attempt once the
    # answer is in, a moment after the receiver has the request)
    async def both_recorded() -> bool:
        found = await admin_gql(client, DELIVERIES, {"endpointId": endpoint_id}, token=operator_token)
        return all(e["node"]["state"] != "pending" for e in found["data"]["outboundDeliveries"]["edges"])

    await eventually(both_recorded)
    seen = await admin_gql(client, DELIVERIES, {"endpointId": endpoint_id}, token=operator_token)
    deliveries = [edge["node"] for edge in seen["data"]["outboundDeliveries"]["edges"]]
    assert sorted((d["eventType"], d["state"], d["attempts"]) for d in deliveries) == [
        ("accrual.credited", "succeeded", 1),
        ("accrual.rejected", "succeeded", 1),
    ]
    assert all(d["attemptLog"][0]["statusCode"] == 200 and d["endpointId"] == endpoint_id for d in deliveries)
    # and the unmatched accrual, with its reason
    unmatched_page = await admin_gql(client, UNMATCHED, token=operator_token)
    unmatched = [edge["node"] for edge in unmatched_page["data"]["unmatchedAccruals"]["edges"]]
    assert [(u["webhookId"], u["errorCode"], u["state"]) for u in unmatched] == [
        ("msg_2", "MEMBER_NOT_FOUND", "unmatched")
    ]

    # when: support corrects the stored reference and the operator re-processes
    row = await PartnerInbox.get(webhook_id="msg_2")
    row.payload["data"]["member"] = {"accountNumber": member.member.account_number}
    await PartnerInbox.filter(id=row.id).update(payload=row.payload)
    queued = await admin_gql(client, REPROCESS, token=operator_token)
    assert queued["data"]["reprocessInbox"] == {"__typename": "Queued", "count": 1}

    # then: credited once
    async def processed() -> bool:
        return (await PartnerInbox.get(id=row.id)).state is InboxState.PROCESSED

    await eventually(processed)
    assert (await balances_of(account_id=member.member.id))[Currency.AWARD_MILES] == 1600


HUB_DOCUMENTS = (
    ENDPOINTS,
    UNMATCHED,
    "{ inboxDeadLetters { edges { node { id } } } }",
    "{ operationalEvents { edges { node { id } } } }",
    REPROCESS,
)


async def test_callers_without_an_operator_token_cannot_see_the_hub(client: AsyncClient) -> None:
    member = await enrolled_member(client)
    for query in HUB_DOCUMENTS:
        for token in (None, member["accessToken"]):  # a member's token is no operator's
            body = await admin_gql(client, query, token=token)
            assert body.get("data") is None, body
            assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]


async def test_the_member_schema_has_no_hub_fields(client: AsyncClient, operator_token: str) -> None:
    """Not even for an operator: /graphql does not know them (they are no longer in its SDL)."""
    for query in HUB_DOCUMENTS:
        body = await gql(client, query, token=operator_token)
        assert body.get("data") is None, body
        assert {error["extensions"]["code"] for error in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}


async def test_operational_events_are_read_a_keyset_page_at_a_time(
    client: AsyncClient, operator_token: str
) -> None:
    # given: five events, and a page read before a sixth arrives
    now = dt.datetime.now(dt.UTC)
    for number in range(5):
        await raise_operational_event("endpoint.disabled", f"endpoint {number}", {}, now=now)
    first = (await admin_gql(client, EVENTS, {"first": 2}, token=operator_token))["data"]["operationalEvents"]
    await raise_operational_event("endpoint.disabled", "endpoint 5", {}, now=now)

    # when: the operator follows the cursors to the end
    subjects = [edge["node"]["subject"] for edge in first["edges"]]
    page = first
    while page["pageInfo"]["hasNextPage"]:
        after = page["pageInfo"]["endCursor"]
        answer = await admin_gql(client, EVENTS, {"first": 2, "after": after}, token=operator_token)
        page = answer["data"]["operationalEvents"]
        subjects += [edge["node"]["subject"] for edge in page["edges"]]

    # then: newest first, each once, the later one not shifting the pages
    assert subjects == [f"endpoint {number}" for number in (4, 3, 2, 1, 0)]
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"first": 0}, "PAGE_SIZE_INVALID"),
        ({"first": 101}, "PAGE_SIZE_INVALID"),
        ({"first": 2, "after": "bm9wZQ=="}, "CURSOR_INVALID"),
        # a cursor of another shape (the statement's time-keyed one) is not this list's
        ({"first": 2, "after": "djE6MTc2NDk4MDAwMDAwMDAwMDoy"}, "CURSOR_INVALID"),
    ],
)
async def test_a_bad_page_size_or_cursor_is_a_coded_error(
    client: AsyncClient, operator_token: str, variables: dict[str, Any], code: str
) -> None:
    body = await admin_gql(client, EVENTS, variables, token=operator_token)
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
        (code, "first" if code == "PAGE_SIZE_INVALID" else "after")
    ]


async def test_an_id_that_names_no_endpoint_is_a_typed_error(
    client: AsyncClient, operator_token: str
) -> None:
    document = """
    mutation S($input: SetPartnerEndpointEnabledInput!) {
      setPartnerEndpointEnabled(input: $input) { __typename ... on InputError { code field } }
    }
    """
    for raw in ("not-a-number", "999999"):
        body = await admin_gql(
            client, document, {"input": {"id": raw, "enabled": False}}, token=operator_token
        )
        assert body["data"]["setPartnerEndpointEnabled"]["__typename"] == "InputError", body
        assert body["data"]["setPartnerEndpointEnabled"]["code"] == "ENDPOINT_NOT_FOUND"
