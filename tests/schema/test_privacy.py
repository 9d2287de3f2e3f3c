"""Privacy over GraphQL (issue 7): the member's data export (AUTHENTICATED) and public security notices."""

from __future__ import annotations

import datetime as dt

from httpx2 import AsyncClient
from starlette.applications import Starlette

from loyalty.notices.models import NoticeSeverity
from loyalty.notices.service import publish_notice
from loyalty.privacy.models import AuditEntry
from tests.factories import enrolled_member, gql, identified_token

EXPORT = """
mutation { exportMyData { __typename ... on PersonalDataExport { document } ... on StepUpRequired { requiredLevel } } }
"""
NOTICES = 'query { securityNotices(language: "de") { title severity language } }'


async def test_export_my_data_needs_a_fresh_sign_in(app: Starlette, client: AsyncClient) -> None:
    enrolled = await enrolled_member(client)
    fresh = await gql(client, EXPORT, token=enrolled["accessToken"])
    result = fresh["data"]["exportMyData"]
    assert result["__typename"] == "PersonalDataExport"
    assert result["document"]["profile"]["account_number"] == enrolled["accountNumber"]
    assert result["document"]["cards"]["serviceCards"][0]["number"] == enrolled["serviceCardNumber"]
    assert await AuditEntry.filter(action="privacy.export").count() == 1
    document = result["document"]
    assert {c["name"] for c in document["controllers"]["jointControllers"]} == {
        "Miles & More GmbH",
        "Deutsche Lufthansa AG",
    }
    assert document["legalBases"]["profile"]["bases"][0]["article"] == "Art. 6(1)(b) GDPR"

    remembered = await identified_token(app, enrolled["accountNumber"])
    stale = await gql(client, EXPORT, token=remembered)
    assert stale["data"]["exportMyData"] == {"__typename": "StepUpRequired", "requiredLevel": "AUTHENTICATED"}


async def test_security_notices_need_no_sign_in(client: AsyncClient) -> None:
    await publish_notice(
        title="Vorsicht Phishing",
        body="Wir fragen nie per E-Mail nach Ihrer PIN.",
        language="de",
        severity=NoticeSeverity.CRITICAL,
        actor="operator:ada",
        now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
    )
    body = await gql(client, NOTICES)
    assert body["data"]["securityNotices"] == [
        {"title": "Vorsicht Phishing", "severity": "CRITICAL", "language": "de"}
    ]
