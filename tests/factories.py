"""Test data in one place: members, partners and GraphQL documents used by several test modules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from httpx2 import AsyncClient
from starlette.applications import Starlette

from gateway.partner_secrets import partner_secret_box
from gateway.services import services
from gateway.settings import Settings
from gateway.tokens import TokenService
from loyalty.enrolment import EnrolledMember, Enrolment, enrol
from loyalty.members.models import Member, SessionLevel
from loyalty.rules import current_rules
from partners.models import PartnerCapability, PartnerKind
from partners.secret_box import SecretBox
from partners.service import NewPartner, add_partner

ENROL_MEMBER = """
mutation Enrol($input: EnrolMemberInput!) {
  enrolMember(input: $input) {
    __typename
    ... on EnrolMemberSuccess {
      serviceCardNumber accountNumber accessToken expiresIn
      member { accountNumber givenName tier }
    }
    ... on InputError { code field message }
  }
}
"""

ME = """
query Me {
  me {
    accountNumber givenName familyName
    card { number numberGrouped state tier holderName }
    balances { awardMiles points qualifyingPoints honCirclePoints lifetimeQualifyingPoints }
  }
}
"""


def enrolment_input(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "givenName": "Ada",
        "familyName": "Lovelace",
        "email": "ada@example.com",
        "dateOfBirth": "1990-12-10",
        "country": "DE",
        "pin": "739152",
    }
    data.update(overrides)
    return data


async def gql(
    client: AsyncClient, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def make_member(
    email: str = "member@example.com", *, advertising_consent: bool = True
) -> EnrolledMember:
    return await enrol(
        enrolment=Enrolment(
            given_name="Grace",
            family_name="Hopper",
            email=email,
            date_of_birth=dt.date(1985, 3, 4),
            country="DE",
            pin="739152",
            advertising_consent=advertising_consent,
        ),
        rules=current_rules(),
    )


TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256-0123456789"


def partner_box_for_tests() -> SecretBox:
    """The box the test app encrypts partner secrets with (every test stack uses TEST_SECRET)."""
    return partner_secret_box(Settings(secret_key=TEST_SECRET))


async def make_partner(
    code: str = "swiss",
    kind: PartnerKind = PartnerKind.AIRLINE,
    *,
    capabilities: set[PartnerCapability] | None = None,
) -> NewPartner:
    return await add_partner(
        code=code, name=code.upper(), kind=kind, box=partner_box_for_tests(), capabilities=capabilities
    )


async def enrolled_member(client: AsyncClient, **overrides: Any) -> dict[str, Any]:
    """Enrol through GraphQL; the success result (account and card numbers, access token)."""
    body = await gql(client, ENROL_MEMBER, {"input": enrolment_input(**overrides)})
    result: dict[str, Any] = body["data"]["enrolMember"]
    assert result["__typename"] == "EnrolMemberSuccess", result
    return result


async def identified_token(app: Starlette, account_number: str) -> str:
    """An access token at IDENTIFIED level (as after a refresh): for step-up tests."""
    member = await Member.get(account_number=account_number)
    tokens: TokenService = services(app).tokens
    return tokens.issue(
        account_id=member.id, level=SessionLevel.IDENTIFIED, generation=member.session_generation
    )
