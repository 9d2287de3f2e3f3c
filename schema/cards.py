"""Service cards over time, status card orders and the "Lost service card number" request (DOMAIN.md §1, §9).

``schema.members`` refers to ``CardOrder`` lazily (``strawberry.lazy("schema.cards")``): this module
imports ``schema.members``, so a plain import there would be circular.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from loyalty.members import models
from loyalty.members.cards import CardBlockReason
from loyalty.members.models import CardOrderReason
from schema.auth import StepUpRequired
from schema.errors import InputError
from schema.members import ServiceCard

strawberry.enum(
    CardOrderReason,
    description="Why a physical status card is made: status ACHIEVED (ships at once), RENEWED (ships "
    "shortly before the current card expires) or LIFETIME status reached.",
)
strawberry.enum(
    CardBlockReason, description="LOST or STOLEN: either way the number is blocked and a new one issued."
)


@strawberry.type(
    description="A physical status card in production or on its way. The app card is the card: "
    "the plastic one is for lounges and security staff who ask to see it."
)
class CardOrder:
    reason: CardOrderReason = strawberry.field(
        description="ACHIEVED (ships now), RENEWED (ships before expiry) or LIFETIME."
    )
    service_card_number: str = strawberry.field(description="The number of the card this order is for.")
    ship_on: dt.date = strawberry.field(
        description="When the card is sent: at once for a new status, shortly before the current card expires "
        "(21 days by default) for a renewal."
    )
    activate_on: dt.date = strawberry.field(
        description="When the card counts: at once for a new status, the day after the old card expires "
        "for a renewal."
    )
    shipped_at: dt.datetime | None = strawberry.field(
        description="When the card left the printer, if it has."
    )

    @classmethod
    def from_model(cls, order: models.CardOrder) -> CardOrder:
        """Needs the order's card loaded (``card_orders`` does that)."""
        return cls(
            reason=order.reason,
            service_card_number=order.card.number,
            ship_on=order.ship_on,
            activate_on=order.activate_on,
            shipped_at=order.shipped_at,
        )


@strawberry.type(
    description="The card number was blocked and a new one issued at once. The blocked number no longer "
    "signs in, earns or redeems; account number and PIN stay."
)
class CardBlocked:
    card: ServiceCard = strawberry.field(description="The new active card.")
    reason: CardBlockReason = strawberry.field(description="LOST or STOLEN.")


@strawberry.type(
    description="Advertising consent is recorded. A base member gets a new number (9920 with consent, "
    "9999 without); a status card keeps its number."
)
class ConsentChanged:
    advertising_consent: bool = strawberry.field(description="The consent now on file.")
    new_number_issued: bool = strawberry.field(description="True when the service card number changed.")
    card: ServiceCard = strawberry.field(description="The card active now.")


@strawberry.input(
    description="Who lost their service card number. Send a certified copy of an ID document through "
    'the contact form as well, with the reference "Lost service card number".'
)
class LostServiceCardNumberInput:
    given_name: str = strawberry.field(description="As on the ID document.")
    family_name: str = strawberry.field(description="As on the ID document.")
    date_of_birth: dt.date = strawberry.field(description="As on the ID document.")
    email: str = strawberry.field(description="The e-mail address the membership was registered with.")
    id_document_reference: str = strawberry.field(
        description="The reference of the certified ID copy you sent through the contact form."
    )


@strawberry.type(
    description="The request is registered. The details are checked carefully, which may take a few "
    "weeks; the answer comes by e-mail. It does not say whether the details match a member."
)
class SupportCaseOpened:
    reference: str = strawberry.field(description="Quote it in every message about this request.")
    message: str = strawberry.field(description="What happens next (checks may take a few weeks).")


ReportCardLostResult = Annotated[
    CardBlocked | StepUpRequired | InputError, strawberry.union("ReportCardLostResult")
]
SetAdvertisingConsentResult = Annotated[
    ConsentChanged | StepUpRequired | InputError, strawberry.union("SetAdvertisingConsentResult")
]
ReportLostServiceCardNumberResult = Annotated[
    SupportCaseOpened | InputError, strawberry.union("ReportLostServiceCardNumberResult")
]
