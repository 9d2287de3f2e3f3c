"""Enrolment, the signed-in member's card and balances, and PIN sign-in through GraphQL."""

from __future__ import annotations

import datetime as dt

import pytest
from httpx2 import AsyncClient

from loyalty.identifiers import luhn_valid
from loyalty.ledger.models import Balance, Currency
from loyalty.members.models import CardState, Member, PendingEnrolment, ServiceCard
from tests.factories import ENROL_MEMBER, ME, enrol_through_graphql, enrolled_member, enrolment_input, gql


async def test_enrol_then_me_shows_card_and_zero_balance(client: AsyncClient) -> None:
    # when
    enrolled = await enrol_through_graphql(client, advertisingConsent=True)
    # then
    assert enrolled["__typename"] == "EnrolMemberSuccess"
    account, scn = enrolled["accountNumber"], enrolled["serviceCardNumber"]
    assert len(account) == 9 and account.isdigit()
    assert len(scn) == 15 and scn.startswith("9920") and luhn_valid(scn)
    me = (await gql(client, ME, token=enrolled["accessToken"]))["data"]["me"]
    assert me["accountNumber"] == account
    assert me["card"] == {
        "number": scn,
        "numberGrouped": " ".join([scn[0:4], scn[4:8], scn[8:12], scn[12:]]),
        "state": "ACTIVE",
        "tier": "BASE",
        "holderName": "Ada Lovelace",
    }
    assert set(me["balances"].values()) == {0}
    member = await Member.get(account_number=account)
    assert member.pin_hash.startswith("$argon2") and "739152" not in member.pin_hash
    assert await ServiceCard.filter(account_id=member.id, state=CardState.ACTIVE).count() == 1
    assert await Balance.filter(account_id=member.id).count() == len(Currency)


async def test_without_advertising_consent_the_card_starts_with_9999(client: AsyncClient) -> None:
    enrolled = await enrolled_member(client)
    assert enrolled["serviceCardNumber"].startswith("9999")


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"pin": "123456"}, "pin", "PIN_TOO_SIMPLE"),
        ({"pin": "12345"}, "pin", "PIN_FORMAT"),
        ({"email": "not-an-address"}, "email", "EMAIL_INVALID"),
        ({"givenName": "   "}, "givenName", "NAME_REQUIRED"),
        ({"familyName": "Dr0p<table>"}, "familyName", "NAME_INVALID"),
        ({"country": "Germany"}, "country", "COUNTRY_INVALID"),
        # issue 21: checked against the ISO lists and email-validator, not by shape alone
        ({"country": "XX"}, "country", "COUNTRY_INVALID"),
        ({"language": "xx"}, "language", "LANGUAGE_INVALID"),
        ({"language": "de-XX"}, "language", "LANGUAGE_INVALID"),
        ({"email": "ada@example..com"}, "email", "EMAIL_INVALID"),
        ({"email": "ada..lovelace@example.com"}, "email", "EMAIL_INVALID"),
        ({"email": "ada@exa_mple.com"}, "email", "EMAIL_INVALID"),
        ({"dateOfBirth": "2099-01-01"}, "dateOfBirth", "DOB_INVALID"),
        ({"dateOfBirth": "2026-01-01"}, "dateOfBirth", "DOB_INVALID"),
    ],
)
async def test_bad_enrolment_input_is_a_typed_error_and_changes_nothing(
    client: AsyncClient, overrides: dict[str, str], field: str, code: str
) -> None:
    result = (await gql(client, ENROL_MEMBER, {"input": enrolment_input(**overrides)}))["data"]["enrolMember"]
    assert result["__typename"] == "InputError"
    assert (result["field"], result["code"]) == (field, code)
    assert await Member.all().count() == 0
    assert await PendingEnrolment.all().count() == 0


async def test_a_language_with_a_region_and_a_lower_case_country_are_enrolled_normalised(
    client: AsyncClient,
) -> None:
    result = await enrol_through_graphql(client, country="ch", language="de-CH", email="Ada@Example.COM")
    assert result["__typename"] == "EnrolMemberSuccess"
    member = await Member.get(account_number=result["accountNumber"])
    assert (member.country, member.language, member.email) == ("CH", "de-ch", "ada@example.com")


async def test_children_can_enrol(client: AsyncClient) -> None:
    result = await enrol_through_graphql(client, dateOfBirth="2019-05-01")
    assert result["__typename"] == "EnrolMemberSuccess"


async def test_me_needs_a_valid_token(client: AsyncClient) -> None:
    for token in (None, "not-a-jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."):
        body = await gql(client, ME, token=token)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_statement_pages_through_credits_newest_first(client: AsyncClient) -> None:
    from loyalty.crediting import post as post_miles
    from loyalty.ledger.models import PostingSource
    from loyalty.rules import current_rules

    enrolled = await enrolled_member(client)
    member = await Member.get(account_number=enrolled["accountNumber"])
    for index, miles in enumerate([500, 1200, 3400]):
        await post_miles(
            account_id=member.id,
            amounts={Currency.AWARD_MILES: miles},
            source=PostingSource.PARTNER_ACCRUAL,
            idempotency_key=f"statement-{index}",
            activity_date=dt.date(2026, 11, 1 + index),
            rule_version="test",
            rules=current_rules(),
            partner_reference=f"swiss:T{index}",
            description=f"flight {index}",
        )
    query = """
    query S($after: String) { me { statement(first: 2, after: $after) {
      edges { cursor node { description partnerCode amounts { currency amount } } }
      pageInfo { hasNextPage endCursor } } } }
    """
    first = (await gql(client, query, token=enrolled["accessToken"]))["data"]["me"]["statement"]
    assert [edge["node"]["description"] for edge in first["edges"]] == ["flight 2", "flight 1"]
    assert first["edges"][0]["node"]["partnerCode"] == "swiss"
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await gql(client, query, {"after": first["pageInfo"]["endCursor"]}, token=enrolled["accessToken"])
    page = rest["data"]["me"]["statement"]
    assert [edge["node"]["description"] for edge in page["edges"]] == ["flight 0"]
    assert page["pageInfo"]["hasNextPage"] is False
