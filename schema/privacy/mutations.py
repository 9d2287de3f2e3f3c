"""The member's data export (GDPR Art. 15 and 20)."""

from __future__ import annotations

from typing import cast

import strawberry
from strawberry.scalars import JSON

from resolvers import privacy
from schema.context import Info
from schema.fields import mutation
from schema.permissions import StepUp, signed_in
from schema.privacy.types import ExportMyDataResult, PersonalDataExport


@strawberry.type
class PrivacyMutations:
    @mutation(
        description="Everything held about the signed-in member as one JSON document (GDPR Art. 15 and 20); "
        "needs an AUTHENTICATED session and is recorded in the audit log.",
        permission_classes=[StepUp],
    )
    async def export_my_data(self, info: Info) -> ExportMyDataResult:
        document = await privacy.export_my_data(
            account_id=signed_in(info.context).account_id, sources=info.context.privacy_sources
        )
        return PersonalDataExport(document=cast(JSON, document))
