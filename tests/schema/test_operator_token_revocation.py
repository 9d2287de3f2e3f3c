"""Operator tokens through the admin GraphQL path (issue 19): only a minted (recorded) token is admitted,
and a revoked one is refused from the very next request on."""

from __future__ import annotations

import datetime as dt
from typing import Any

from httpx2 import AsyncClient

from gateway.operators import OperatorTokens
from loyalty.operators import OperatorToken, operator_tokens, revoke_token
from tests.factories import TEST_SECRET, admin_gql, make_partner

PARTNERS = "{ partners { code } }"


def _forbidden(body: dict[str, Any]) -> bool:
    return body.get("data") is None and [error["extensions"]["code"] for error in body["errors"]] == [
        "FORBIDDEN"
    ]


async def test_a_revoked_operator_token_is_refused_at_once(client: AsyncClient) -> None:
    await make_partner("swiss")
    tokens = OperatorTokens(TEST_SECRET)
    alice, alice_record = await tokens.mint(name="ops.alice", ttl_s=600)
    bob, _ = await tokens.mint(name="ops.bob", ttl_s=600)
    for token in (alice, bob):
        assert (await admin_gql(client, PARTNERS, token=token))["data"] == {"partners": [{"code": "swiss"}]}

    # when
    await revoke_token(id=alice_record.id, by="ops.carol", now=dt.datetime.now(dt.UTC))

    # then: the next request with it is refused; the other operator's token still works
    assert _forbidden(await admin_gql(client, PARTNERS, token=alice))
    assert (await admin_gql(client, PARTNERS, token=bob))["data"] == {"partners": [{"code": "swiss"}]}
    listed = {row.name: row.revoked_by for row in await operator_tokens(now=dt.datetime.now(dt.UTC))}
    assert listed == {"ops.alice": "ops.carol", "ops.bob": None}


async def test_only_a_recorded_unexpired_token_is_admitted(client: AsyncClient) -> None:
    await make_partner("swiss")
    tokens = OperatorTokens(TEST_SECRET)
    unrecorded = tokens.issue(name="ops.mallory", ttl_s=600)  # validly signed, never recorded
    assert _forbidden(await admin_gql(client, PARTNERS, token=unrecorded))
    token, record = await tokens.mint(name="ops.alice", ttl_s=600)
    await OperatorToken.filter(id=record.id).update(
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    )
    assert _forbidden(await admin_gql(client, PARTNERS, token=token))
    # nothing of a token is stored but its id
    stored = await OperatorToken.get(id=record.id)
    assert all(part not in repr(stored.__dict__) for part in token.split("."))
