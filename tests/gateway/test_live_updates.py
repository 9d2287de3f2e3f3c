"""Live updates across gateway processes, on PostgreSQL and Redis.

Two gateway processes (uvicorn, production mode) share the database and Redis. A member subscribes on
process A (which runs no worker and no event relay); a partner's accrual is delivered to process B, whose
in-process worker posts it and whose relay announces the events on Redis pub/sub. Process A's
subscriptions then send the new balances and the new status: nothing but Redis carries them across.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from websockets.asyncio.client import ClientConnection, connect

from gateway.settings import Settings
from gateway.tokens import TokenService
from loyalty.members.models import SessionLevel
from partners.models import PartnerKind
from partners.service import add_partner
from tests.factories import TEST_SECRET, make_member, partner_box_for_tests
from tests.support import (
    APP_REDIS_URL,
    PRODUCTION_MAIL_ENV,
    REDIS_PREFIX,
    clear_redis,
    deadline_s,
    free_port,
    require_service,
    served_process,
    signed_delivery,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = "graphql-transport-ws"
LIVE = {
    "balances": "subscription { myBalances { awardMiles points } }",
    "status": "subscription { myStatus { tier } }",
}


@contextmanager
def _gateway(settings: Settings, log: Path, *, worker: bool) -> Iterator[str]:
    """A gateway process on a loopback port (production mode); yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MILESGATE_ENV": "production",
        "MILESGATE_DATABASE_URL": settings.resolved_database_url,
        "MILESGATE_REDIS_URL": APP_REDIS_URL,
        "MILESGATE_REDIS_PREFIX": REDIS_PREFIX,
        "MILESGATE_SECRET_KEY": TEST_SECRET,
        "MILESGATE_DATA_DIR": str(settings.data_dir),
        "MILESGATE_RUN_WORKER_IN_PROCESS": "true" if worker else "false",
        **PRODUCTION_MAIL_ENV,
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "gateway.app:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with served_process(command, port=port, env=env, log=log, ready_path="/readyz", cwd=ROOT) as base:
        yield base


@pytest.fixture
async def stack(pg_db: Settings) -> Settings:
    """PostgreSQL (emptied, the ORM open here too) and this run's Redis keys (removed)."""
    try:
        await clear_redis()
    except OSError as exc:
        require_service("Redis", exc)
    return pg_db


async def _next(ws: ClientConnection) -> tuple[str, dict[str, Any]]:
    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=deadline_s(20)))
    assert message["type"] == "next", message
    return message["id"], next(iter(message["payload"]["data"].values()))


@pytest.mark.slow
async def test_a_change_committed_on_one_process_reaches_a_subscriber_on_another(
    stack: Settings, tmp_path: Path
) -> None:
    partner = await add_partner(
        code="swiss", name="SWISS", kind=PartnerKind.AIRLINE, box=partner_box_for_tests()
    )
    with (
        _gateway(stack, tmp_path / "a.log", worker=False) as process_a,
        _gateway(stack, tmp_path / "b.log", worker=True) as process_b,
    ):
        async with httpx2.AsyncClient(base_url=process_b, timeout=deadline_s(30)) as b:
            # a member enrolled here, on the same database (enrolment itself, e-mail and all, is tested
            # elsewhere), signed in with a token the gateways accept (same secret key)
            enrolled = await make_member()
            tokens = TokenService(TEST_SECRET, ttl_s=900, authenticated_window_s=900)
            member = {
                "serviceCardNumber": enrolled.card.number,
                "accessToken": tokens.issue(
                    account_id=enrolled.member.id,
                    level=SessionLevel.AUTHENTICATED,
                    generation=enrolled.member.session_generation,
                ),
            }

            # given a member subscribed on process A, authenticated at connection time
            url = process_a.replace("http://", "ws://") + "/graphql"
            async with connect(url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
                init = {"authorization": f"Bearer {member['accessToken']}"}
                await ws.send(json.dumps({"type": "connection_init", "payload": init}))
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                for name, query in LIVE.items():
                    await ws.send(json.dumps({"id": name, "type": "subscribe", "payload": {"query": query}}))
                first = dict([await _next(ws), await _next(ws)])
                assert first == {"balances": {"awardMiles": 0, "points": 0}, "status": {"tier": "BASE"}}

                # when a partner's accrual reaching Frequent Traveller is delivered to process B
                body, headers = signed_delivery(
                    partner.signing_secret,
                    {
                        "type": "accrual.created",
                        "data": {
                            "member": {"serviceCardNumber": member["serviceCardNumber"]},
                            "transactionId": "LX-7",
                            "activityDate": dt.datetime.now(dt.UTC).date().isoformat(),
                            "miles": 1850,
                            "points": 700,
                            "qualifyingPoints": 700,
                        },
                    },
                )
                delivered = await b.post("/webhooks/partners/swiss", content=body, headers=headers)
                assert delivered.status_code == 202, delivered.text

                # then process A's subscriptions send the new balances and the new tier
                latest = dict(first)
                wanted = {"balances": {"awardMiles": 1850, "points": 700}, "status": {"tier": "FTL"}}
                while latest != wanted:
                    name, data = await _next(ws)
                    latest[name] = data
