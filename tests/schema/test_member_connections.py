"""The member's lists that grow with time as Relay connections (keyset cursors) beside the deprecated plain
lists: the same items in the same order, a page at a time, each page one statement whatever its size,
and the coded errors for a bad page size or cursor."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from httpx2 import AsyncClient

from loyalty.consents.models import ConsentPurpose
from loyalty.consents.service import record_consent
from loyalty.crediting import post
from loyalty.ledger.models import Currency, PostingSource
from loyalty.members.models import Member
from loyalty.rewards import service as rewards
from loyalty.rewards.catalogue import current_catalogue
from loyalty.rules import current_rules
from tests.factories import enrolled_member, gql
from tests.support import statements, without_session_check

REDEMPTIONS = """
query R($first: Int!, $after: String) {
  me {
    redemptionsConnection(first: $first, after: $after) {
      edges { cursor node { id rewardCode } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""
CONSENTS = """
query C($first: Int!, $after: String) {
  me { consentHistoryConnection(first: $first, after: $after) {
    edges { node { purpose given } } pageInfo { hasNextPage endCursor } } }
}
"""


async def _member_with_redemptions(client: AsyncClient, count: int) -> tuple[str, int]:
    enrolled = await enrolled_member(client)
    account_id = (await Member.get(account_number=enrolled["accountNumber"])).id
    cheapest = min(current_catalogue().rewards, key=lambda reward: reward.miles)
    await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: cheapest.miles * count},
        source=PostingSource.TEST,
        idempotency_key="connections-miles",
        activity_date=dt.date.today() - dt.timedelta(days=1),
        rule_version="test",
        rules=current_rules(),
    )
    now = dt.datetime.now(dt.UTC)
    for number in range(count):
        await rewards.redeem(
            account_id=account_id,
            reward_code=cheapest.code,
            idempotency_key=f"connections-{number}",
            rules=current_rules(),
            now=now,  # the same instant for all: the id breaks the tie
        )
    return enrolled["accessToken"], account_id


async def _all_pages(client: AsyncClient, token: str, first: int) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        body = await gql(client, REDEMPTIONS, {"first": first, "after": after}, token=token)
        assert "errors" not in body, body
        page = body["data"]["me"]["redemptionsConnection"]
        nodes += [edge["node"] for edge in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] is False
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        after = page["pageInfo"]["endCursor"]


async def test_redemptions_page_through_in_the_order_of_the_deprecated_list(client: AsyncClient) -> None:
    token, _ = await _member_with_redemptions(client, 5)

    paged = await _all_pages(client, token, first=2)

    listed = (await gql(client, "{ me { redemptions { id rewardCode } } }", token=token))["data"]["me"]
    assert paged == listed["redemptions"] and len(paged) == 5
    assert len({node["id"] for node in paged}) == 5


async def test_a_page_is_the_same_statements_whatever_its_size(client: AsyncClient) -> None:
    token, _ = await _member_with_redemptions(client, 6)
    counts = []
    for first in (1, 6, 50):
        with statements() as seen:
            body = await gql(client, REDEMPTIONS, {"first": first}, token=token)
        assert len(body["data"]["me"]["redemptionsConnection"]["edges"]) == min(first, 6)
        counts.append(len(without_session_check(seen)))
    assert counts[0] == counts[1] == counts[2], counts


async def test_a_row_added_between_pages_neither_shifts_nor_repeats_the_next(client: AsyncClient) -> None:
    enrolled = await enrolled_member(client)
    token = enrolled["accessToken"]
    account_id = (await Member.get(account_number=enrolled["accountNumber"])).id
    start = dt.datetime.now(dt.UTC)

    async def decide(given: bool, minutes: int) -> None:
        await record_consent(
            account_id=account_id,
            purpose=ConsentPurpose.PERSONALISATION,
            given=given,
            text_version="v1",
            now=start + dt.timedelta(minutes=minutes),
            rules=current_rules(),
        )

    for minutes, given in enumerate([True, False, True]):
        await decide(given, minutes)
    first = (await gql(client, CONSENTS, {"first": 2}, token=token))["data"]["me"]["consentHistoryConnection"]
    await decide(False, 10)  # newer than anything read: it belongs before the first page
    after = first["pageInfo"]["endCursor"]
    second = await gql(client, CONSENTS, {"first": 2, "after": after}, token=token)
    rest = second["data"]["me"]["consentHistoryConnection"]

    seen = [edge["node"]["given"] for edge in first["edges"] + rest["edges"]]
    enrolment_decisions = len(seen) - 3  # what enrolment itself recorded, oldest of all
    assert seen[:3] == [True, False, True] and enrolment_decisions >= 0
    assert rest["pageInfo"]["hasNextPage"] is (enrolment_decisions > 1)


@pytest.mark.parametrize(
    ("field", "variables", "code", "argument"),
    [
        ("redemptionsConnection", {"first": 0}, "PAGE_SIZE_INVALID", "first"),
        ("statusHistoryConnection", {"first": 101}, "PAGE_SIZE_INVALID", "first"),
        ("receiptsConnection", {"first": 5, "after": "bm9wZQ=="}, "CURSOR_INVALID", "after"),
        # an id-keyed cursor (the operators' lists, cardHistory) handed to a time-keyed list
        ("retroCreditRequestsConnection", {"first": 5, "after": "djE6Mw=="}, "CURSOR_INVALID", "after"),
    ],
)
async def test_a_bad_page_size_or_cursor_is_a_coded_error(
    client: AsyncClient, field: str, variables: dict[str, Any], code: str, argument: str
) -> None:
    token = (await enrolled_member(client))["accessToken"]
    document = (
        f"query Q($first: Int!, $after: String) {{ me {{ {field}(first: $first, after: $after) "
        "{ edges { cursor } } } }"
    )
    body = await gql(client, document, variables, token=token)
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [(code, argument)]


async def test_every_new_connection_answers_an_empty_first_page(client: AsyncClient) -> None:
    token = (await enrolled_member(client))["accessToken"]
    fields = [
        "statusHistoryConnection",
        "retroCreditRequestsConnection",
        "receiptsConnection",
        "cardOrdersConnection",
    ]
    document = "{ me { " + " ".join(
        f"{f} {{ edges {{ cursor }} pageInfo {{ hasNextPage }} }}" for f in fields
    )
    body = await gql(
        client, document + " cardHistoryConnection { edges { node { number } } } } }", token=token
    )
    assert "errors" not in body, body
    for field in fields:
        assert body["data"]["me"][field] == {"edges": [], "pageInfo": {"hasNextPage": False}}
    assert len(body["data"]["me"]["cardHistoryConnection"]["edges"]) == 1  # the card issued at enrolment
