"""Consents per purpose (advertising, personalisation, push, e-mail), with their history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from loyalty.consents.models import ConsentRecord
from schema.cards.types import ServiceCard
from schema.consents.enums import ConsentPurpose
from schema.errors import InputError


@strawberry.type(description="One decision of the member on one purpose.")
class Consent:
    purpose: ConsentPurpose = strawberry.field(description="What it is about.")
    given: bool = strawberry.field(description="True when given; false when withdrawn or never given.")
    text_version: str | None = strawberry.field(
        description="Version of the consent text the member saw; none when never asked."
    )
    recorded_at: dt.datetime | None = strawberry.field(
        description="When it was decided; none when never asked."
    )

    @classmethod
    def from_record(cls, purpose: ConsentPurpose, record: ConsentRecord | None) -> Consent:
        if record is None:
            return cls(purpose=purpose, given=False, text_version=None, recorded_at=None)
        return cls(
            purpose=record.purpose,
            given=record.given,
            text_version=record.text_version,
            recorded_at=record.recorded_at,
        )


@strawberry.type(description="The decision was recorded and is in effect now.")
class ConsentRecorded:
    consent: Consent = strawberry.field(description="The decision as recorded.")
    new_service_card: ServiceCard | None = strawberry.field(
        description="The new service card a base member got because advertising consent changed (9920 / "
        "9999); none otherwise. Account number and PIN stay."
    )


SetConsentResult = Annotated[ConsentRecorded | InputError, strawberry.union("SetConsentResult")]
