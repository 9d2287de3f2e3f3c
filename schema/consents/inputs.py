"""The consent mutations' input objects."""

from __future__ import annotations

import strawberry

from schema.consents.enums import ConsentPurpose

PURPOSE = "What the decision is about."
GIVEN = "True to give, false to withdraw."
TEXT_VERSION = "Version of the consent text the member was shown."


@strawberry.input(description="A consent decision for one purpose.")
class SetConsentInput:
    purpose: ConsentPurpose = strawberry.field(description=PURPOSE)
    given: bool = strawberry.field(description=GIVEN)
    text_version: str = strawberry.field(description=TEXT_VERSION)
