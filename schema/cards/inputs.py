"""The card mutations' input objects."""

from __future__ import annotations

import strawberry

STOLEN = "True when the card was stolen (every session ends too); false: lost."
ADVERTISING_GIVEN = "True to give advertising consent, false to withdraw it."


@strawberry.input(description="How the service card went missing.")
class ReportCardLostInput:
    stolen: bool = strawberry.field(default=False, description=STOLEN)


@strawberry.input(description="The member's advertising consent.")
class SetAdvertisingConsentInput:
    given: bool = strawberry.field(description=ADVERTISING_GIVEN)
