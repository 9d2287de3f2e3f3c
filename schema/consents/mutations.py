"""Recording a consent decision."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import consents
from schema.cards.types import ServiceCard
from schema.consents.enums import ConsentPurpose
from schema.consents.types import Consent, ConsentRecorded, SetConsentResult
from schema.context import Info
from schema.fields import mutation
from schema.permissions import signed_in


@strawberry.type
class ConsentMutations:
    @mutation(
        description="Give or withdraw consent for one purpose, effective at once and kept as history; a "
        "base member's advertising choice changes the service card number (9920 / 9999)."
    )
    async def set_consent(
        self,
        info: Info,
        purpose: Annotated[ConsentPurpose, strawberry.argument(description="What the decision is about.")],
        given: Annotated[bool, strawberry.argument(description="True to give, false to withdraw.")],
        text_version: Annotated[
            str, strawberry.argument(description="Version of the consent text the member was shown.")
        ],
    ) -> SetConsentResult:
        change = await consents.set_consent(
            account_id=signed_in(info.context).account_id,
            purpose=purpose,
            given=given,
            text_version=text_version,
            rules=info.context.rules,
        )
        return ConsentRecorded(
            consent=Consent.from_record(purpose, change.record),
            new_service_card=ServiceCard.from_model(change.new_card) if change.new_card else None,
        )
