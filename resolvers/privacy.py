"""Privacy resolvers: the member's data export (AUTHENTICATED only) and the public security notices."""

from __future__ import annotations

import datetime as dt
from typing import cast

from strawberry.scalars import JSON

from loyalty.errors import DomainError
from loyalty.notices.service import current_notices
from loyalty.privacy.service import export_personal_data
from resolvers.auth import require_member, step_up_needed
from schema.context import Info
from schema.errors import InputError
from schema.privacy import ExportMyDataResult, PersonalDataExport, SecurityNotice


async def export_my_data(info: Info) -> ExportMyDataResult:
    principal = require_member(info)
    if (step_up := step_up_needed(info)) is not None:
        return step_up
    try:
        document = await export_personal_data(
            account_id=principal.account_id,
            sources=info.context.privacy_sources,
            actor=f"member:{principal.account_id}",
            now=dt.datetime.now(dt.UTC),
        )
    except DomainError as error:
        return InputError.from_domain(error)
    return PersonalDataExport(document=cast(JSON, document))


async def security_notices(language: str) -> list[SecurityNotice]:
    rows = await current_notices(language=language, now=dt.datetime.now(dt.UTC))
    return [SecurityNotice.from_model(row) for row in rows]
