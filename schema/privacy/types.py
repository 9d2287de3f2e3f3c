"""The member's privacy rights over GraphQL, and the security notices operators publish."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from loyalty.notices.models import SecurityNotice as NoticeRow
from schema.errors import InputError, StepUpRequired
from schema.privacy.enums import NoticeSeverity


@strawberry.type(description="Everything milesgate holds about the member, as one machine-readable document.")
class PersonalDataExport:
    document: JSON = strawberry.field(
        description="Sections: profile, cards, ledger, sign-in and security, consents, notifications, "
        "programme (status, eVouchers, redemptions), support cases, partner deliveries naming the member."
    )


ExportMyDataResult = Annotated[
    PersonalDataExport | StepUpRequired | InputError, strawberry.union("ExportMyDataResult")
]


@strawberry.type(description="A security notice (such as a phishing warning) published by the programme.")
class SecurityNotice:
    id: strawberry.ID = strawberry.field(description="The notice's id.")
    language: str = strawberry.field(description="Language of title and body.")
    severity: NoticeSeverity = strawberry.field(description="How urgent it is.")
    title: str = strawberry.field(description="Headline.")
    body: str = strawberry.field(description="The text, plain.")
    published_at: dt.datetime = strawberry.field(description="Since when it is shown.")
    expires_at: dt.datetime | None = strawberry.field(description="Until when; none until withdrawn.")

    @classmethod
    def from_model(cls, row: NoticeRow) -> SecurityNotice:
        return cls(
            id=strawberry.ID(str(row.id)),
            language=row.language,
            severity=row.severity,
            title=row.title,
            body=row.body,
            published_at=row.published_at,
            expires_at=row.expires_at,
        )
