"""Live balances over graphql-transport-ws: authenticated at connection time, pushed when miles post."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from gateway.app import create_app
from gateway.settings import Settings
from partners.models import PartnerKind
from partners.service import add_partner
from tests.factories import ENROL_MEMBER, enrolment_input
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
        enrolled = client.post(
            "/graphql", json={"query": ENROL_MEMBER, "variables": {"input": enrolment_input()}}
        )
        member = enrolled.json()["data"]["enrolMember"]
        assert client.portal is not None
        partner = client.portal.call(
            lambda: add_partner(
                code="swiss", name="SWISS", kind=PartnerKind.AIRLINE, box=app.state.partner_secret_box
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
