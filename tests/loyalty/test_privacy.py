"""Privacy rights (issue 7): export of everything held, erasure that keeps the ledger, the audit log,
and security notices."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.privacy import personal_data_sources
from gateway.settings import Settings
from loyalty.auth.credentials import SignInMethod, check_credentials
from loyalty.auth.models import LinkedIdentity
from loyalty.consents.models import ConsentRecord
from loyalty.crediting import post
from loyalty.errors import Conflict, InvalidCredentials, ValidationFailed
from loyalty.ledger.models import Currency, PostingSource
from loyalty.ledger.service import balances_of
from loyalty.ledger.verify import verify_ledger
from loyalty.members.models import CardState, Member, ServiceCard
from loyalty.notices.models import NoticeSeverity
from loyalty.notices.service import current_notices, publish_notice, withdraw_notice
from loyalty.privacy.models import AuditEntry
from loyalty.privacy.processing import processing
from loyalty.privacy.service import erase_personal_data, export_personal_data
from loyalty.rules import current_rules
from partners.models import Partner
from tests.factories import make_member, make_partner
from webhooks.models import InboxState, PartnerInbox

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
PIN = "739152"


async def _member_with_history() -> tuple[int, str]:
    enrolled = await make_member()
    account = int(enrolled.member.id)
    await post(
        account_id=account,
        amounts={Currency.AWARD_MILES: 2500, Currency.POINTS: 40},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key="priv-1",
        activity_date=dt.date(2026, 5, 1),
        rule_version="test",
        rules=current_rules(),
        partner_reference="swiss:LX-9",
    )
    await make_partner("swiss")
    await PartnerInbox.create(
        partner_id=(await Partner.get(code="swiss")).id,
        webhook_id="msg_priv",
        event_type="accrual.created",
        payload={
            "type": "accrual.created",
            "data": {
                "member": {"serviceCardNumber": enrolled.card.number},
                "passengerName": "HOPPER/GRACE",
                "transactionId": "LX-9",
                "miles": 2500,
            },
        },
        state=InboxState.PROCESSED,
        account_id=account,
    )
    await LinkedIdentity.create(
        account_id=account, issuer="https://id.example", subject="sub-1", linked_at=NOW
    )
    return account, enrolled.card.number


async def test_export_holds_every_section(db: Settings) -> None:
    account, number = await _member_with_history()
    document = await export_personal_data(
        account_id=account, sources=personal_data_sources(), actor="member:1", now=NOW
    )
    assert document["format"] == "milesgate.personal-data/1"
    assert document["profile"]["given_name"] == "Grace"
    assert "pin_hash" not in document["profile"]
    assert [card["number"] for card in document["cards"]["serviceCards"]] == [number]
    assert [entry["amount"] for entry in document["ledger"]["entries"]] == [2500, 40]
    assert document["consents"][0]["purpose"] == "ADVERTISING"
    assert document["signInAndSecurity"]["linkedIdentities"][0]["subject"] == "sub-1"
    [delivery] = document["partnerDeliveries"]
    assert delivery["payload"]["data"]["passengerName"] == "HOPPER/GRACE"
    assert await AuditEntry.filter(action="privacy.export", account_id=account).count() == 1


async def test_export_names_the_joint_controllers_and_each_sections_legal_basis(db: Settings) -> None:
    account, _ = await _member_with_history()
    sources = personal_data_sources()

    document = await export_personal_data(account_id=account, sources=sources, actor="member:1", now=NOW)

    controllers = document["controllers"]["jointControllers"]
    assert [c["name"] for c in controllers] == ["Miles & More GmbH", "Deutsche Lufthansa AG"]
    assert all("Art. 26 GDPR" in c["role"] for c in controllers)
    bases = document["legalBases"]
    assert set(bases) == {source.name for source in sources}  # every kind of data has its basis
    assert all(entry["purpose"] and entry["bases"] for entry in bases.values())
    assert [b["article"] for b in bases["consents"]["bases"]] == ["Art. 6(1)(a) GDPR"]
    assert [b["article"] for b in bases["ledger"]["bases"]] == ["Art. 6(1)(b) GDPR"]
    assert "Art. 6(1)(f) GDPR" in [b["article"] for b in bases["signInAndSecurity"]["bases"]]


def test_a_section_without_a_legal_basis_is_refused() -> None:
    with pytest.raises(LookupError, match=r"sections\.newKindOfData"):
        processing().describe(["profile", "newKindOfData"])


async def test_erasure_removes_the_person_and_keeps_the_ledger(db: Settings) -> None:
    account, number = await _member_with_history()
    changed = await erase_personal_data(
        account_id=account, sources=personal_data_sources(), actor="operator:ada", reason="REQ-1", now=NOW
    )
    assert changed["profile"] == 1
    assert changed["partnerDeliveries"] == 1

    member = await Member.get(id=account)
    assert (member.given_name, member.family_name, member.email) == ("erased", "erased", None)
    assert member.erased_at is not None
    assert {card.state for card in await ServiceCard.filter(account_id=account)} == {CardState.BLOCKED}
    assert await LinkedIdentity.filter(account_id=account).count() == 0
    assert await ConsentRecord.filter(account_id=account).count() == 0
    delivery = await PartnerInbox.get(account_id=account)
    assert delivery.payload["data"]["passengerName"] == "erased"
    assert delivery.payload["data"]["member"] == {"serviceCardNumber": "erased"}
    assert delivery.payload["data"]["miles"] == 2500  # amounts stay
    # The ledger keeps every amount and still verifies.
    assert (await balances_of(account_id=account))[Currency.AWARD_MILES] == 2500
    assert (await verify_ledger()).clean
    # Nobody signs in as the erased member any more.
    with pytest.raises(InvalidCredentials):
        await check_credentials(
            method=SignInMethod.SERVICE_CARD_NUMBER,
            identifier=number,
            secret=PIN,
            rules=current_rules(),
            now=NOW,
        )
    [entry] = await AuditEntry.filter(action="privacy.erase")
    assert (entry.actor, entry.account_id, entry.details["reason"]) == ("operator:ada", account, "REQ-1")
    with pytest.raises(Conflict):
        await erase_personal_data(
            account_id=account, sources=personal_data_sources(), actor="operator:ada", reason="REQ-1", now=NOW
        )


async def test_security_notices_by_language_with_english_fallback(db: Settings) -> None:
    english = await publish_notice(
        title="Beware of phishing",
        body="We never ask for your PIN by e-mail.",
        language="en",
        severity=NoticeSeverity.WARNING,
        actor="operator:ada",
        now=NOW,
    )
    await publish_notice(
        title="Old",
        body="Expired",
        language="en",
        severity=NoticeSeverity.INFO,
        actor="operator:ada",
        now=NOW - dt.timedelta(days=3),
        expires_at=NOW - dt.timedelta(days=1) + dt.timedelta(days=2),
    )
    german = await publish_notice(
        title="Vorsicht Phishing",
        body="Wir fragen nie per E-Mail nach Ihrer PIN.",
        language="de",
        severity=NoticeSeverity.CRITICAL,
        actor="operator:ada",
        now=NOW,
    )
    assert [n.id for n in await current_notices(language="de-CH", now=NOW)] == [german.id]
    assert [n.title for n in await current_notices(language="fr", now=NOW + dt.timedelta(days=2))] == [
        "Beware of phishing"
    ]
    await withdraw_notice(notice_id=english.id, actor="operator:ada", now=NOW)
    assert await current_notices(language="fr", now=NOW + dt.timedelta(days=2)) == []
    assert await AuditEntry.filter(action__startswith="notice.").count() == 4
    with pytest.raises(ValidationFailed):
        await publish_notice(
            title=" ", body="x", language="en", severity=NoticeSeverity.INFO, actor="operator:ada", now=NOW
        )


@pytest.mark.parametrize("language", ["xx", "deu", "de-XX"])
async def test_a_security_notice_in_a_language_no_iso_list_has_is_refused(
    db: Settings, language: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await publish_notice(
            title="T",
            body="B",
            language=language,
            severity=NoticeSeverity.INFO,
            actor="operator:ada",
            now=NOW,
        )
    assert refused.value.code == "LANGUAGE_INVALID"
