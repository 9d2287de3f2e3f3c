"""Consents over GraphQL (issue 7): current choices, history, and the card a base member's choice issues."""

from __future__ import annotations

from httpx2 import AsyncClient

from tests.factories import enrolled_member, gql

SET = """
mutation Set($purpose: ConsentPurpose!, $given: Boolean!, $version: String!) {
  setConsent(purpose: $purpose, given: $given, textVersion: $version) {
    __typename
    ... on ConsentRecorded { consent { purpose given textVersion } newServiceCard { number } }
    ... on InputError { code field }
  }
}
"""
READ = "query { me { consents { purpose given textVersion } consentHistory { purpose given } } }"


async def test_set_and_read_consents(client: AsyncClient) -> None:
    enrolled = await enrolled_member(client, advertisingConsent=True)
    token = enrolled["accessToken"]

    personalised = await gql(
        client, SET, {"purpose": "PERSONALISATION", "given": True, "version": "v3"}, token=token
    )
    result = personalised["data"]["setConsent"]
    assert result["__typename"] == "ConsentRecorded"
    assert result["consent"] == {"purpose": "PERSONALISATION", "given": True, "textVersion": "v3"}
    assert result["newServiceCard"] is None

    withdrawn = await gql(
        client, SET, {"purpose": "ADVERTISING", "given": False, "version": "v3"}, token=token
    )
    new_card = withdrawn["data"]["setConsent"]["newServiceCard"]
    assert new_card["number"].startswith("9999")

    me = (await gql(client, READ, token=token))["data"]["me"]
    assert {c["purpose"]: c["given"] for c in me["consents"]} == {
        "ADVERTISING": False,
        "PERSONALISATION": True,
        "PUSH": False,
        "EMAIL": False,
    }
    assert me["consentHistory"][0] == {"purpose": "ADVERTISING", "given": False}
    assert len(me["consentHistory"]) == 3  # enrolment, personalisation, withdrawal

    bad = await gql(client, SET, {"purpose": "PUSH", "given": True, "version": ""}, token=token)
    assert bad["data"]["setConsent"] == {
        "__typename": "InputError",
        "code": "CONSENT_TEXT_VERSION_INVALID",
        "field": "textVersion",
    }


async def test_consents_need_a_signed_in_member(client: AsyncClient) -> None:
    body = await gql(client, SET, {"purpose": "PUSH", "given": True, "version": "v1"})
    assert body["data"] is None or body["data"]["setConsent"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
