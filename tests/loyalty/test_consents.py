"""Consents (issue 7): per purpose, versioned, kept as history; advertising decides a base member's prefix."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.settings import Settings
from loyalty.consents.models import ConsentPurpose, ConsentRecord
from loyalty.consents.service import consent_history, current_consents, has_consent, record_consent
from loyalty.errors import ValidationFailed
from loyalty.members.cards import issue_status_card
from loyalty.members.models import CardOrderReason, CardState, ServiceCard, Tier
from loyalty.members.service import active_card
from loyalty.rules import current_rules
from tests.factories import make_member

RULES = current_rules()
PREFIXES = RULES.identifiers.service_card_prefixes
NOW = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)


async def _decide(account: int, purpose: ConsentPurpose, given: bool, version: str = "2026-11") -> None:
    await record_consent(
        account_id=account, purpose=purpose, given=given, text_version=version, now=NOW, rules=RULES
    )


async def test_enrolment_records_the_advertising_choice(db: Settings) -> None:
    account = int((await make_member(advertising_consent=False)).member.id)
    [record] = await ConsentRecord.filter(account_id=account)
    assert (record.purpose, record.given, record.text_version, record.channel) == (
        ConsentPurpose.ADVERTISING,
        False,
        RULES.consents.enrolment_text_version,
        "enrolment",
    )
    current = await current_consents(account_id=account)
    assert current[ConsentPurpose.PERSONALISATION] is None  # never asked: not given
    assert not await has_consent(account_id=account, purpose=ConsentPurpose.PERSONALISATION)


async def test_withdrawal_takes_effect_at_once_and_history_keeps_every_decision(db: Settings) -> None:
    account = int((await make_member()).member.id)
    await _decide(account, ConsentPurpose.PERSONALISATION, True, "v1")
    assert await has_consent(account_id=account, purpose=ConsentPurpose.PERSONALISATION)
    await _decide(account, ConsentPurpose.PERSONALISATION, False, "v2")
    assert not await has_consent(account_id=account, purpose=ConsentPurpose.PERSONALISATION)
    history = await consent_history(account_id=account, purposes=[ConsentPurpose.PERSONALISATION])
    assert [(r.given, r.text_version) for r in history] == [(False, "v2"), (True, "v1")]


async def test_a_base_members_advertising_choice_changes_the_prefix(db: Settings) -> None:
    enrolled = await make_member(advertising_consent=True)
    account = int(enrolled.member.id)
    assert enrolled.card.number.startswith(PREFIXES["BASE"])
    await _decide(account, ConsentPurpose.ADVERTISING, False)
    card = await active_card(account_id=account)
    assert card.number.startswith(PREFIXES["BASE_NO_AD_CONSENT"])
    old = await ServiceCard.get(id=enrolled.card.id)
    assert old.state is CardState.SUPERSEDED


async def test_a_status_member_keeps_the_number(db: Settings) -> None:
    account = int((await make_member(advertising_consent=True)).member.id)
    await issue_status_card(
        account_id=account,
        tier=Tier.SEN,
        valid_until=dt.date(2028, 2, 29),
        reason=CardOrderReason.ACHIEVED,
        rules=RULES,
        today=NOW.date(),
    )
    number = (await active_card(account_id=account)).number
    await _decide(account, ConsentPurpose.ADVERTISING, False)
    assert (await active_card(account_id=account)).number == number


async def test_a_text_version_is_required(db: Settings) -> None:
    account = int((await make_member()).member.id)
    with pytest.raises(ValidationFailed) as refused:
        await _decide(account, ConsentPurpose.PUSH, True, "  ")
    assert refused.value.code == "CONSENT_TEXT_VERSION_INVALID"
