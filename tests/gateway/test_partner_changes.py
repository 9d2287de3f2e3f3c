"""A partner's signing material is kept in each gateway process (``partners.verification``); a change
made anywhere - the command line, another process's GraphQL - reaches every process over pub/sub
(``gateway.partner_changes``) and takes effect at once, not when the time to live runs out."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from httpx2 import AsyncClient

from gateway.partner_changes import CHANNEL, partner_changed
from gateway.services import services
from gateway.settings import Settings
from partners.models import PartnerState
from partners.service import set_partner_state
from partners.signing import add_secret, retire
from tests.factories import TEST_SECRET, make_member, make_partner, partner_box_for_tests
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
    statements,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
URL = "/webhooks/partners/swiss"
KEPT_FOR_AN_HOUR = "3600"
"""The processes keep a partner for an hour: only the announcement can explain a change seen sooner."""


def accrual(card: str, transaction_id: str) -> dict[str, Any]:
    data = {
        "member": {"serviceCardNumber": card},
        "transactionId": transaction_id,
        "activityDate": "2026-03-01",
        "miles": 100,
    }
    return {"type": "accrual.created", "data": data}


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MILESGATE_DATABASE_URL": settings.resolved_database_url,
        "MILESGATE_REDIS_URL": APP_REDIS_URL,
        "MILESGATE_REDIS_PREFIX": REDIS_PREFIX,
        "MILESGATE_SECRET_KEY": TEST_SECRET,
        "MILESGATE_DATA_DIR": str(settings.data_dir),
        "MILESGATE_RUN_WORKER_IN_PROCESS": "false",
        "MILESGATE_PARTNER_CACHE_TTL_S": KEPT_FOR_AN_HOUR,
    }


@contextmanager
def _gateway(settings: Settings, log: Path) -> Iterator[str]:
    port = free_port()
    env = {**_env(settings), "MILESGATE_ENV": "production", **PRODUCTION_MAIL_ENV}
    command = [sys.executable, "-m", "uvicorn", "--factory", "gateway.app:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with served_process(command, port=port, env=env, log=log, ready_path="/readyz", cwd=ROOT) as base:
        yield base


def _cli(settings: Settings, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=ROOT,
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=deadline_s(60),
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
async def stack(pg_db: Settings) -> Settings:
    try:
        await clear_redis()
    except OSError as exc:
        require_service("Redis", exc)
    return pg_db


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
async def test_a_rotated_secret_and_a_suspension_reach_every_process_at_once(stack: Settings, tmp_path: Path):
    partner = await make_partner("swiss")
    card = (await make_member()).card.number
    with _gateway(stack, tmp_path / "a.log") as process_a, _gateway(stack, tmp_path / "b.log") as process_b:
        bases = (process_a, process_b)
        async with httpx2.AsyncClient(timeout=deadline_s(20)) as http:
            sent = 0

            async def deliver(base: str, secret: str) -> int:
                nonlocal sent
                sent += 1
                body, headers = signed_delivery(secret, accrual(card, f"T-{sent}"))
                return (await http.post(base + URL, content=body, headers=headers)).status_code

            # given: both processes keep the partner with its first secret
            for base in bases:
                assert await deliver(base, partner.signing_secret) == 202

            # when: the secret is rotated on the command line (a third process)
            new_secret = _cli(stack, "partners", "secrets", "add", "swiss").strip().splitlines()[-1]
            _cli(stack, "partners", "secrets", "revoke", "swiss", str(partner.secret_id))

            # then: every process takes the new secret and refuses the old one, well within the hour
            async def answers(base: str, secret: str, status: int) -> bool:
                return await deliver(base, secret) == status

            for base in bases:
                await wait_for(
                    functools.partial(answers, base, partner.signing_secret, 401),
                    timeout_s=5,
                    what="the revoked secret refused",
                )
                assert await deliver(base, new_secret) == 202

            # when: the partner is suspended
            _cli(stack, "partners", "suspend", "swiss")

            # then
            for base in bases:
                await wait_for(
                    functools.partial(answers, base, new_secret, 403), timeout_s=5, what="the suspension seen"
                )


async def test_a_change_through_the_directory_is_seen_by_the_next_delivery(
    client: AsyncClient, settings: Settings
):
    # given: the app keeps the partner (a delivery read it)
    partner = await make_partner("swiss")
    card = (await make_member()).card.number
    app_services = services(client._transport.app)  # type: ignore[attr-defined]
    body, headers = signed_delivery(partner.signing_secret, accrual(card, "T-1"))
    assert (await client.post(URL, content=body, headers=headers)).status_code == 202

    # when: the partner is suspended and the change announced, as the GraphQL admin operations do
    await set_partner_state(code="swiss", state=PartnerState.SUSPENDED)
    await partner_changed(app_services.backends.ports.pubsub, app_services.partner_verifications, "swiss")

    # then
    body, headers = signed_delivery(partner.signing_secret, accrual(card, "T-2"))
    response = await client.post(URL, content=body, headers=headers)
    assert response.status_code == 403, response.text


async def test_an_announcement_on_the_channel_makes_the_app_forget_the_partner(
    client: AsyncClient, settings: Settings
):
    # given: the app keeps the partner's first secret
    partner = await make_partner("swiss")
    card = (await make_member()).card.number
    app_services = services(client._transport.app)  # type: ignore[attr-defined]
    body, headers = signed_delivery(partner.signing_secret, accrual(card, "T-1"))
    assert (await client.post(URL, content=body, headers=headers)).status_code == 202

    # when: another process rotates the secret and announces it on the channel
    await add_secret(code="swiss", box=partner_box_for_tests())
    await retire(code="swiss", kind="secret", material_id=partner.secret_id)
    await app_services.backends.ports.pubsub.publish(CHANNEL, b"swiss")

    # then: the old secret is refused as soon as the announcement is heard
    async def refused() -> bool:
        body, headers = signed_delivery(partner.signing_secret, accrual(card, "T-2"))
        return (await client.post(URL, content=body, headers=headers)).status_code == 401

    await wait_for(refused, timeout_s=5, what="the old secret refused")


async def test_a_delivery_of_a_kept_partner_costs_one_statement(client: AsyncClient, settings: Settings):
    # given: the partner is kept (a first delivery read it)
    partner = await make_partner("swiss")
    card = (await make_member()).card.number
    body, headers = signed_delivery(partner.signing_secret, accrual(card, "T-1"))
    assert (await client.post(URL, content=body, headers=headers)).status_code == 202

    # when
    body, headers = signed_delivery(partner.signing_secret, accrual(card, "T-2"))
    with statements() as sent:
        response = await client.post(URL, content=body, headers=headers)

    # then: the insert, and nothing else
    assert response.status_code == 202, response.text
    assert len(sent) == 1, sent
    assert sent[0].lstrip().startswith("INSERT INTO partner_inbox"), sent
