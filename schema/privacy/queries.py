"""Security notices: public, no sign-in needed."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import privacy
from schema.privacy.types import SecurityNotice


@strawberry.type
class PrivacyQueries:
    @strawberry.field(
        description="Security notices in force (such as phishing warnings), newest first; English when "
        "there are none in the language asked for. No sign-in needed."
    )
    async def security_notices(
        self,
        language: Annotated[
            str, strawberry.argument(description="ISO 639 language code, e.g. en or de.")
        ] = "en",
    ) -> list[SecurityNotice]:
        return [SecurityNotice.from_model(row) for row in await privacy.security_notices(language)]
