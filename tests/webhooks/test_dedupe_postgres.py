"""Duplicate storms on PostgreSQL (row locks and unique indexes are real there): many deliveries of one
partner transaction at once, under one webhook id or under many, credit exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from httpx2 import ASGITransport, AsyncClient

from gateway.settings import Settings
from loyalty.enrolment import EnrolledMember
from loyalty.ledger.models import Currency, Posting
from loyalty.ledger.service import balances_of
from loyalty.rules import current_rules
from partners.models import Partner, PartnerSecret
from partners.service import NewPartner
from partners.signing import encrypt_plaintext_secrets, usable_secrets
from tests.factories import make_member, make_partner, partner_box_for_tests
from tests.support import deadline_s, signed_delivery
from webhooks.models import InboxState, PartnerInbox
from webhooks.worker import process_inbox_row

pytestmark = pytest.mark.postgres
STORM = 20


@pytest.fixture
async def pg_client(postgres_settings: Settings) -> AsyncIterator[AsyncClient]:
    """The app on PostgreSQL with its in-process worker."""
    from gateway.app import create_app

    application = create_app(postgres_settings)
    async with (
        LifespanManager(application, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://testserver") as http,
    ):
        yield http


def accrual(member: EnrolledMember, transaction_id: str) -> dict[str, Any]:
    return {
        "type": "accrual.created",
        "data": {
            "member": {"serviceCardNumber": member.card.number},
            "transactionId": transaction_id,
            "activityDate": "2025-03-01",
            "miles": 750,
        },
    }


async def storm(
    client: AsyncClient, partner: NewPartner, deliveries: list[tuple[bytes, dict[str, str]]]
) -> list[int]:
    responses = await asyncio.gather(
        *(
            client.post(f"/webhooks/partners/{partner.code}", content=body, headers=headers)
            for body, headers in deliveries
        )
    )
    for response in responses:
        assert response.status_code in (200, 202), response.text
    return [response.status_code for response in responses]


async def settle_all() -> None:
    """Apply whatever the worker has not applied yet (the rows are what counts, not the queue)."""
    for inbox_id in await PartnerInbox.filter(state=InboxState.PENDING).values_list("id", flat=True):
        await process_inbox_row(int(inbox_id), current_rules())  # type: ignore[call-overload]


@pytest.mark.parametrize("same_webhook_id", [True, False], ids=["same-webhook-id", "new-webhook-ids"])
async def test_a_storm_of_one_transaction_credits_once(pg_client: AsyncClient, same_webhook_id: bool):
    # given
    partner = await make_partner("swiss")
    member = await make_member()
    event = accrual(member, "LX-STORM")
    deliveries = [
        signed_delivery(
            partner.signing_secret,
            event,
            webhook_id="msg_storm" if same_webhook_id else f"msg_{uuid.uuid4().hex}",
        )
        for _ in range(STORM)
    ]

    # when: all at once
    statuses = await storm(pg_client, partner, deliveries)
    await settle_all()

    # then: one stored, the rest answered as duplicates, one posting
    assert statuses.count(202) == 1
    assert statuses.count(200) == STORM - 1
    assert await PartnerInbox.all().count() == 1
    assert await Posting.filter(account_id=member.member.id).count() == 1
    assert (await balances_of(account_id=member.member.id))[Currency.AWARD_MILES] == 750


async def test_concurrent_start_ups_encrypt_each_plain_secret_once(pg_db: Settings):
    # given: plain secrets left from before encryption at rest
    await make_partner("swiss")
    partner = await Partner.get(code="swiss")
    plain = [f"whsec_{uuid.uuid4().hex[:32]}" for _ in range(10)]
    for secret in plain:
        await PartnerSecret.create(partner_id=partner.id, secret=secret)
    box = partner_box_for_tests()

    # when: several processes start at once
    counts = await asyncio.gather(*(encrypt_plaintext_secrets(box) for _ in range(4)))

    # then: each encrypted exactly once, and all still verify
    assert sum(counts) == len(plain)
    assert await PartnerSecret.filter(secret__not_isnull=True).count() == 0
    assert set(plain) <= set(await usable_secrets(partner.id, box))
