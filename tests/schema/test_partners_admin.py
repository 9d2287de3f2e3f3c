"""The operators' GraphQL (``/admin/graphql``) on the partner registry: operators may, members and anonymous
callers may not."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from httpx2 import AsyncClient
from joserfc import jwt
from joserfc.jwk import OctKey
from starlette.applications import Starlette

from gateway.operators import AUDIENCE, OperatorTokens
from gateway.tokens import derive_key
from partners import models as partner_models
from partners.models import Partner, PartnerCapability, PartnerSecret, PartnerState
from schema.partners import enums as schema_partner_enums
from tests.factories import TEST_SECRET, admin_gql, enrolled_member, make_member, make_partner
from tests.support import signed_delivery

PARTNERS = """
query { partners { code name kind state capabilities earningConfig
  signingKeys { id kind fingerprint label usable expiresAt revokedAt } } }
"""
ADD_PARTNER = """
mutation Add($input: AddPartnerInput!) {
  addPartner(input: $input) {
    __typename
    ... on NewSigningSecret { signingSecret signingKey { id kind usable }
      partner { code kind capabilities earningConfig state } }
    ... on InputError { code field message }
  }
}
"""
SET_STATE = """
mutation S($code: String!, $state: PartnerState!) {
  setPartnerState(input: {code: $code, state: $state}) { __typename ... on Partner { state } ... on InputError { code } }
}
"""
UPDATE = """
mutation U($input: UpdatePartnerInput!) {
  updatePartner(input: $input) {
    __typename ... on Partner { name capabilities earningConfig } ... on InputError { code field }
  }
}
"""
ADD_SECRET = """
mutation A($code: String!) {
  addPartnerSigningSecret(input: {code: $code, label: "rotation"}) {
    __typename ... on NewSigningSecret { signingSecret signingKey { id label usable } } ... on InputError { code }
  }
}
"""
ADD_KEY = """
mutation K($code: String!, $key: String!) {
  addPartnerPublicKey(input: {code: $code, publicKey: $key}) {
    __typename ... on SigningKey { id kind usable } ... on InputError { code field }
  }
}
"""
REVOKE = """
mutation R($code: String!, $kind: SigningKeyKind!, $id: ID!, $expiresAt: DateTime, $force: Boolean! = false) {
  revokePartnerSigningKey(input: {code: $code, kind: $kind, id: $id, expiresAt: $expiresAt, force: $force}) {
    __typename ... on SigningKey { usable revokedAt expiresAt } ... on InputError { code }
  }
}
"""


@pytest.fixture
async def operator_token(client: AsyncClient) -> str:
    """A minted (recorded) operator token: the app's lifespan opened the database."""
    token, _ = await OperatorTokens(TEST_SECRET).mint(name="ops.alice", ttl_s=600)
    return token


def new_partner_input(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"code": "swiss", "name": "SWISS", "kind": "AIRLINE"}
    data.update(overrides)
    return data


def forbidden(body: dict[str, Any]) -> bool:
    return body.get("data") is None and [error["extensions"]["code"] for error in body["errors"]] == [
        "FORBIDDEN"
    ]


async def test_operator_registers_a_partner_and_sees_its_secret_once(
    client: AsyncClient, operator_token: str
):
    # when
    body = await admin_gql(client, ADD_PARTNER, {"input": new_partner_input()}, token=operator_token)

    # then
    result = body["data"]["addPartner"]
    assert result["__typename"] == "NewSigningSecret", body
    assert result["signingSecret"].startswith("whsec_")
    assert result["partner"] == {
        "code": "swiss",
        "kind": "AIRLINE",
        "capabilities": ["ACCRUAL", "FLOWN_DATA"],
        "earningConfig": "default",
        "state": "ACTIVE",
    }
    assert result["signingKey"]["kind"] == "SECRET" and result["signingKey"]["usable"] is True
    # and listing never shows it again
    listed = await admin_gql(client, PARTNERS, token=operator_token)
    assert result["signingSecret"] not in str(listed)
    assert [p["code"] for p in listed["data"]["partners"]] == ["swiss"]
    assert len(listed["data"]["partners"][0]["signingKeys"]) == 1


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        pytest.param({"code": "Bad Code"}, "PARTNER_CODE_INVALID", id="bad-code"),
        pytest.param(
            {"earningConfig": "no spaces please"}, "EARNING_CONFIG_INVALID", id="bad-earning-config"
        ),
        pytest.param({"name": " "}, "PARTNER_NAME_REQUIRED", id="blank-name"),
    ],
)
async def test_invalid_partner_input_is_a_typed_error(
    client: AsyncClient, operator_token: str, overrides: dict[str, Any], code: str
):
    body = await admin_gql(
        client, ADD_PARTNER, {"input": new_partner_input(**overrides)}, token=operator_token
    )
    assert body["data"]["addPartner"]["__typename"] == "InputError"
    assert body["data"]["addPartner"]["code"] == code
    assert await Partner.all().count() == 0


async def test_a_partner_code_is_registered_once(client: AsyncClient, operator_token: str):
    await admin_gql(client, ADD_PARTNER, {"input": new_partner_input()}, token=operator_token)
    again = await admin_gql(
        client, ADD_PARTNER, {"input": new_partner_input(name="Other")}, token=operator_token
    )
    assert again["data"]["addPartner"]["code"] == "PARTNER_EXISTS"


async def test_members_and_anonymous_callers_cannot_use_admin_operations(client: AsyncClient, app: Starlette):
    # given: a member with a valid access token, and a partner
    member = await enrolled_member(client)
    await make_partner("swiss")
    member_token = member["accessToken"]
    # a token signed with the members' key but claiming the admin audience and role
    forged = jwt.encode(
        {"alg": "HS256"},
        {
            "iss": "milesgate",
            "aud": AUDIENCE,
            "sub": "mallory",
            "role": "admin",
            "exp": int(time.time()) + 600,
        },
        OctKey.import_key(derive_key(TEST_SECRET, "milesgate access tokens")),
        algorithms=["HS256"],
    )
    # an operator token of another installation
    foreign = OperatorTokens("another-installation-secret-0123456789abcdef").issue(name="eve")
    # an expired operator token
    expired = jwt.encode(
        {"alg": "HS256"},
        {"iss": "milesgate", "aud": AUDIENCE, "sub": "bob", "role": "admin", "exp": int(time.time()) - 10},
        OctKey.import_key(derive_key(TEST_SECRET, "milesgate operator tokens")),
        algorithms=["HS256"],
    )

    for token in (member_token, forged, foreign, expired, None):
        # when
        queried = await admin_gql(client, PARTNERS, token=token)
        added = await admin_gql(client, ADD_PARTNER, {"input": new_partner_input(code="evil")}, token=token)
        suspended = await admin_gql(client, SET_STATE, {"code": "swiss", "state": "SUSPENDED"}, token=token)
        secret = await admin_gql(client, ADD_SECRET, {"code": "swiss"}, token=token)

        # then
        assert all(forbidden(body) for body in (queried, added, suspended, secret)), (token, queried, added)
    assert await Partner.filter(code="evil").count() == 0
    assert (await Partner.get(code="swiss")).state is PartnerState.ACTIVE
    assert await PartnerSecret.all().count() == 1


async def test_suspending_by_graphql_refuses_deliveries(client: AsyncClient, operator_token: str):
    # given
    partner = await make_partner("swiss")
    member = await make_member()
    event: dict[str, object] = {
        "type": "accrual.created",
        "data": {
            "member": {"serviceCardNumber": member.card.number},
            "transactionId": "T-1",
            "activityDate": "2025-03-01",
            "miles": 10,
        },
    }

    # when
    body = await admin_gql(client, SET_STATE, {"code": "swiss", "state": "SUSPENDED"}, token=operator_token)
    payload, headers = signed_delivery(partner.signing_secret, event)
    refused = await client.post("/webhooks/partners/swiss", content=payload, headers=headers)
    await admin_gql(client, SET_STATE, {"code": "swiss", "state": "ACTIVE"}, token=operator_token)
    accepted = await client.post("/webhooks/partners/swiss", content=payload, headers=headers)

    # then
    assert body["data"]["setPartnerState"] == {"__typename": "Partner", "state": "SUSPENDED"}
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "PARTNER_SUSPENDED"
    assert accepted.status_code == 202, accepted.text


async def test_update_partner(client: AsyncClient, operator_token: str):
    await make_partner("swiss")
    body = await admin_gql(
        client,
        UPDATE,
        {"input": {"code": "swiss", "capabilities": ["ACCRUAL", "PHOTO_CREDIT"], "earningConfig": "lx-2026"}},
        token=operator_token,
    )
    assert body["data"]["updatePartner"] == {
        "__typename": "Partner",
        "name": "SWISS",
        "capabilities": ["ACCRUAL", "PHOTO_CREDIT"],
        "earningConfig": "lx-2026",
    }
    assert (await Partner.get(code="swiss")).capabilities == {
        PartnerCapability.ACCRUAL,
        PartnerCapability.PHOTO_CREDIT,
    }
    missing = await admin_gql(
        client, UPDATE, {"input": {"code": "nobody", "name": "x"}}, token=operator_token
    )
    assert missing["data"]["updatePartner"]["code"] == "PARTNER_NOT_FOUND"


async def test_rotation_through_graphql(client: AsyncClient, operator_token: str):
    # given: a partner with its first secret
    partner = await make_partner("swiss")
    first_id = str(partner.secret_id)

    # when: a second secret is added, the first set to expire, then revoked
    added = (await admin_gql(client, ADD_SECRET, {"code": "swiss"}, token=operator_token))["data"][
        "addPartnerSigningSecret"
    ]
    expiring = await admin_gql(
        client,
        REVOKE,
        {"code": "swiss", "kind": "SECRET", "id": first_id, "expiresAt": "2999-01-01T00:00:00+00:00"},
        token=operator_token,
    )
    revoked = await admin_gql(
        client, REVOKE, {"code": "swiss", "kind": "SECRET", "id": first_id}, token=operator_token
    )
    last = await admin_gql(
        client,
        REVOKE,
        {"code": "swiss", "kind": "SECRET", "id": added["signingKey"]["id"]},
        token=operator_token,
    )
    unknown = await admin_gql(
        client, REVOKE, {"code": "swiss", "kind": "SECRET", "id": "999999"}, token=operator_token
    )

    # then
    assert added["__typename"] == "NewSigningSecret"
    assert added["signingKey"] == {"id": added["signingKey"]["id"], "label": "rotation", "usable": True}
    assert expiring["data"]["revokePartnerSigningKey"]["usable"] is True
    assert expiring["data"]["revokePartnerSigningKey"]["expiresAt"].startswith("2999-01-01")
    assert revoked["data"]["revokePartnerSigningKey"]["usable"] is False
    assert revoked["data"]["revokePartnerSigningKey"]["revokedAt"] is not None
    assert last["data"]["revokePartnerSigningKey"] == {"__typename": "InputError", "code": "LAST_SIGNING_KEY"}
    assert unknown["data"]["revokePartnerSigningKey"]["code"] == "SIGNING_KEY_NOT_FOUND"
    listed = await admin_gql(client, PARTNERS, token=operator_token)
    assert [key["usable"] for key in listed["data"]["partners"][0]["signingKeys"]] == [False, True]


async def test_public_key_through_graphql(client: AsyncClient, operator_token: str):
    await make_partner("swiss")
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = "whpk_" + base64.b64encode(raw).decode()
    added = await admin_gql(client, ADD_KEY, {"code": "swiss", "key": key}, token=operator_token)
    bad = await admin_gql(client, ADD_KEY, {"code": "swiss", "key": "not a key"}, token=operator_token)
    assert added["data"]["addPartnerPublicKey"]["kind"] == "PUBLIC_KEY"
    assert bad["data"]["addPartnerPublicKey"] == {
        "__typename": "InputError",
        "code": "PUBLIC_KEY_INVALID",
        "field": "publicKey",
    }


@pytest.mark.parametrize("name", ["PartnerKind", "PartnerState", "PartnerCapability"])
def test_the_schema_shows_the_registrys_own_partner_enums(name: str) -> None:
    """One definition (``loyalty.partner_vocabulary``): the registry stores and the schema shows the same
    class, so a value added to one cannot be missing from the other."""
    assert getattr(partner_models, name) is getattr(schema_partner_enums, name)
