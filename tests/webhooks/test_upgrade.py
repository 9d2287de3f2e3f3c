"""Upgrading a database whose partners predate capabilities and encryption at rest: their deliveries keep
being accepted, their capabilities come from their kind, and their secrets end up encrypted."""

from __future__ import annotations

from pathlib import Path

import pytest
from asgi_lifespan import LifespanManager
from httpx2 import ASGITransport, AsyncClient
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from gateway.db import APP_LABEL, tortoise_config
from gateway.settings import Settings
from partners.models import Partner, PartnerCapability, PartnerSecret
from tests.factories import TEST_SECRET, make_member
from tests.support import deadline_s, signed_delivery

LEGACY_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.mark.slow
async def test_partners_from_before_the_registry_keep_working(tmp_path: Path) -> None:
    # given: a database at the migration before the registry, with a bank and its plain secret
    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET)
    await migrate(config=tortoise_config(settings), target=f"{APP_LABEL}.0005_domain_events")
    client = Tortoise.get_connection("default")
    await client.execute_script(
        "INSERT INTO partners (code, name, kind, state, created_at) "
        "VALUES ('dkb', 'DKB', 'bank', 'active', '2025-01-01 00:00:00+00:00')"
    )
    await client.execute_query(
        "INSERT INTO partner_secrets (partner_id, secret, active, created_at) "
        "VALUES (1, ?, 1, '2025-01-01 00:00:00+00:00')",
        [LEGACY_SECRET],
    )
    await Tortoise.close_connections()

    # when: the service starts (migrating and encrypting on the way)
    from gateway.app import create_app

    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)):
        member = await make_member()
        body, headers = signed_delivery(
            LEGACY_SECRET,
            {
                "type": "card.protection.changed",
                "data": {
                    "noticeId": "N-1",
                    "member": {"serviceCardNumber": member.card.number},
                    "cardReference": "C-1",
                    "product": "UNLIMITED",
                    "change": "ISSUED",
                    "effectiveDate": "2025-01-01",
                },
            },
        )
        async with AsyncClient(
            transport=ASGITransport(app=application), base_url="http://testserver"
        ) as http:
            response = await http.post("/webhooks/partners/dkb", content=body, headers=headers)

        # then
        assert response.status_code == 202, response.text
        partner = await Partner.get(code="dkb")
        assert partner.capabilities == {PartnerCapability.ACCRUAL, PartnerCapability.CARD_PROTECTION}
        assert partner.earning_config == "default"
        secret = await PartnerSecret.get(partner_id=partner.id)
        assert secret.secret is None
        assert secret.ciphertext is not None and "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" not in secret.ciphertext
        assert secret.fingerprint
