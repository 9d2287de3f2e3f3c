"""Recording a consent decision."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import consents
from schema.cards.types import ServiceCard
from schema.consents.enums import ConsentPurpose
from schema.consents.inputs import GIVEN, PURPOSE, TEXT_VERSION, SetConsentInput
from schema.consents.types import Consent, ConsentRecorded, SetConsentResult
from schema.context import Info
from schema.fields import mutation
from schema.inputs import from_arguments, old_argument
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
        input: SetConsentInput | None = None,
        purpose: Annotated[ConsentPurpose | None, old_argument(PURPOSE, field="purpose")] = None,
        given: Annotated[bool | None, old_argument(GIVEN, field="given")] = None,
        text_version: Annotated[str | None, old_argument(TEXT_VERSION, field="textVersion")] = None,
    ) -> SetConsentResult:
        account_id = signed_in(info.context).account_id  # signed in before the input is read
        decision = from_arguments(
            SetConsentInput, input, purpose=purpose, given=given, text_version=text_version
        )
        change = await consents.set_consent(
            account_id=account_id,
            purpose=decision.purpose,
            given=decision.given,
            text_version=decision.text_version,
            rules=info.context.rules,
        )
        return ConsentRecorded(
            consent=Consent.from_record(decision.purpose, change.record),
            new_service_card=ServiceCard.from_model(change.new_card) if change.new_card else None,
        )
