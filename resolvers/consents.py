"""Consent resolvers: the member's current choices and history, and recording a decision."""

from __future__ import annotations

import datetime as dt

from loyalty.consents import service
from loyalty.consents.models import ConsentPurpose, ConsentRecord
from loyalty.paging import Page, PageRequest
from loyalty.rules import ProgrammeRules


async def current_consents(*, account_id: int) -> dict[ConsentPurpose, ConsentRecord | None]:
    return await service.current_consents(account_id=account_id)


async def consent_history(*, account_id: int) -> list[ConsentRecord]:
    return await service.consent_history(account_id=account_id)


async def consent_history_page(*, account_id: int, request: PageRequest) -> Page[ConsentRecord]:
    return await service.consent_history_page(account_id=account_id, request=request)


async def set_consent(
    *, account_id: int, purpose: ConsentPurpose, given: bool, text_version: str, rules: ProgrammeRules
) -> service.ConsentChange:
    return await service.record_consent(
        account_id=account_id,
        purpose=purpose,
        given=given,
        text_version=text_version,
        now=dt.datetime.now(dt.UTC),
        rules=rules,
    )
