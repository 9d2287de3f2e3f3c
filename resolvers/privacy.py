"""Privacy resolvers: the member's data export (AUTHENTICATED only) and the public security notices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from loyalty.notices.models import SecurityNotice
from loyalty.notices.service import current_notices
from loyalty.privacy.service import export_personal_data
from loyalty.privacy.sources import PersonalDataSource


async def export_my_data(*, account_id: int, sources: Sequence[PersonalDataSource]) -> dict[str, Any]:
    return await export_personal_data(
        account_id=account_id,
        sources=sources,
        actor=f"member:{account_id}",
        now=dt.datetime.now(dt.UTC),
    )


async def security_notices(language: str) -> list[SecurityNotice]:
    return await current_notices(language=language, now=dt.datetime.now(dt.UTC))
