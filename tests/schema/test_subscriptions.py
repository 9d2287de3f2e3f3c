"""Live balances and status over graphql-transport-ws: authenticated at connection time, pushed when miles
post or the tier changes, a limited number per connection. Across gateway processes on PostgreSQL and
Redis: tests/gateway/test_live_updates.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from gateway.app import create_app
from gateway.services import services
from gateway.settings import Settings
from loyalty.crediting import post
from loyalty.ledger.models import Currency, PostingSource
from loyalty.members.models import Member
from loyalty.rules import current_rules
from partners.models import PartnerKind
from partners.service import add_partner
from tests.factories import enrolled_member_sync
from tests.support import signed_delivery

PROTOCOL = "graphql-transport-ws"
MY_BALANCES = "subscription Live { myBalances { awardMiles points } }"


def _next_payload(ws: Any) -> dict[str, Any]:
    message = ws.receive_json()
    assert message["type"] == "next", message
    payload: dict[str, Any] = message["payload"]
    return payload


def test_balances_are_pushed_when_an_accrual_is_credited(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app) as client:
        # given a member and a partner
        member = enrolled_member_sync(client, settings)
        assert client.portal is not None
        partner = client.portal.call(
            lambda: add_partner(
                code="swiss", name="SWISS", kind=PartnerKind.AIRLINE, box=services(app).partner_box
            )
        )

        with client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
            ws.send_json(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {member['accessToken']}"}}
            )
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": MY_BALANCES}})
            assert _next_payload(ws) == {"data": {"myBalances": {"awardMiles": 0, "points": 0}}}

            # when the partner's accrual is stored and processed by the in-process worker
            body, headers = signed_delivery(
                partner.signing_secret,
                {
                    "type": "accrual.created",
                    "data": {
                        "member": {"serviceCardNumber": member["serviceCardNumber"]},
                        "transactionId": "LX-1",
                        "activityDate": "2026-11-20",
                        "miles": 1850,
                        "points": 60,
                    },
                },
            )
            assert client.post("/webhooks/partners/swiss", content=body, headers=headers).status_code == 202

            # then the subscription sends the new balances
            assert _next_payload(ws) == {"data": {"myBalances": {"awardMiles": 1850, "points": 60}}}
            ws.send_json({"id": "1", "type": "complete"})


@pytest.mark.parametrize("payload", [{}, {"authorization": "Bearer not-a-token"}, {"authorization": 42}])
def test_a_connection_without_a_valid_token_is_refused(settings: Settings, payload: dict[str, Any]) -> None:
    with (
        TestClient(create_app(settings)) as client,
        client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws,
    ):
        ws.send_json({"type": "connection_init", "payload": payload})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4403


MY_STATUS = "subscription Status { myStatus { tier nextTier { tier } } }"


def _connect(ws: Any, token: str) -> None:
    ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    assert ws.receive_json()["type"] == "connection_ack"


def test_status_and_balances_change_live_when_a_tier_is_reached(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app) as client:
        member = enrolled_member_sync(client, settings)
        assert client.portal is not None
        account = client.portal.call(lambda: Member.get(account_number=member["accountNumber"]))

        with client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
            _connect(ws, member["accessToken"])
            ws.send_json({"id": "status", "type": "subscribe", "payload": {"query": MY_STATUS}})
            assert _next_payload(ws) == {"data": {"myStatus": {"tier": "BASE", "nextTier": {"tier": "FTL"}}}}
            ws.send_json({"id": "balances", "type": "subscribe", "payload": {"query": MY_BALANCES}})
            assert _next_payload(ws) == {"data": {"myBalances": {"awardMiles": 0, "points": 0}}}

            # when enough Points and Qualifying Points post for Frequent Traveller (status.changed)
            client.portal.call(
                lambda: post(
                    account_id=account.id,
                    amounts={
                        Currency.POINTS: 700,
                        Currency.QUALIFYING_POINTS: 700,
                        Currency.AWARD_MILES: 2000,
                    },
                    source=PostingSource.PARTNER_ACCRUAL,
                    idempotency_key="tier-up",
                    activity_date=dt.datetime.now(dt.UTC).date(),
                    rule_version="test",
                    rules=current_rules(),
                )
            )

            # then both subscriptions send the new state (each event announces it again: read the last)
            seen: dict[str, dict[str, Any]] = {}
            while seen.get("status") != {"tier": "FTL", "nextTier": {"tier": "SEN"}} or seen.get(
                "balances"
            ) != {"awardMiles": 2000, "points": 700}:
                message = ws.receive_json()
                assert message["type"] == "next", message
                seen[message["id"]] = next(iter(message["payload"]["data"].values()))
            ws.send_json({"id": "status", "type": "complete"})
            ws.send_json({"id": "balances", "type": "complete"})


def test_subscriptions_per_connection_are_limited(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"graphql_max_subscriptions": 2}))
    with TestClient(app) as client:
        token = enrolled_member_sync(client, settings)["accessToken"]
        with client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
            _connect(ws, token)
            for number in (1, 2):
                ws.send_json({"id": str(number), "type": "subscribe", "payload": {"query": MY_BALANCES}})
                assert _next_payload(ws)["data"]["myBalances"]["awardMiles"] == 0

            ws.send_json({"id": "3", "type": "subscribe", "payload": {"query": MY_STATUS}})
            refused = ws.receive_json()
            assert refused["type"] == "error" and refused["id"] == "3"
            assert "limit" in refused["payload"][0]["message"].lower()

            # a finished subscription frees its place
            ws.send_json({"id": "1", "type": "complete"})
            ws.send_json({"id": "4", "type": "subscribe", "payload": {"query": MY_STATUS}})
            assert _next_payload(ws)["data"]["myStatus"]["tier"] == "BASE"
