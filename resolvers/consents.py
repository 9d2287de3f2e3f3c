"""Consent resolvers: the member's current choices and history, and recording a decision."""

from __future__ import annotations

import datetime as dt

from loyalty.consents import service
from loyalty.consents.models import ConsentPurpose
from loyalty.errors import DomainError
from resolvers.auth import require_member
from schema.consents import Consent, ConsentRecorded, SetConsentResult
from schema.context import Info
from schema.errors import InputError
from schema.members import ServiceCard


async def member_consents(*, account_id: int) -> list[Consent]:
    current = await service.current_consents(account_id=account_id)
    return [Consent.from_record(purpose, record) for purpose, record in current.items()]


async def member_consent_history(*, account_id: int) -> list[Consent]:
    return [
        Consent.from_record(record.purpose, record)
        for record in await service.consent_history(account_id=account_id)
    ]


async def set_consent(
    info: Info, purpose: ConsentPurpose, given: bool, text_version: str
) -> SetConsentResult:
    principal = require_member(info)
    try:
        change = await service.record_consent(
            account_id=principal.account_id,
            purpose=purpose,
            given=given,
            text_version=text_version,
            now=dt.datetime.now(dt.UTC),
            rules=info.context.rules,
        )
    except DomainError as error:
        return InputError.from_domain(error)
    return ConsentRecorded(
        consent=Consent.from_record(purpose, change.record),
        new_service_card=ServiceCard.from_model(change.new_card) if change.new_card else None,
    )
