"""Service cards over time, status card orders and the "Lost service card number" request (DOMAIN.md §1, §9)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from typing import Annotated

import strawberry

from loyalty.dashboard.snapshot import CardSnapshot
from loyalty.identifiers import card_qr_svg, group_for_reading
from loyalty.members import models
from resolvers import entities
from schema.cards.enums import CardBlockReason, CardOrderReason, CardState
from schema.context import Info
from schema.enums import Tier
from schema.errors import InputError, NotYours, StepUpRequired
from schema.permissions import signed_in

LOST_NUMBER_ANSWER = (
    "Thank you. If the details belong to a membership, the Service Team will write to you at this "
    "e-mail address once your certified ID copy has been checked; this may take a few weeks. "
    "Quote the reference in every message about it."
)


@strawberry.federation.type(
    keys=["number"],
    description="A service card number. The app card is the card: no plastic for base members. "
    "A federation entity (key: number), resolved for the card's own member only.",
)
class ServiceCard:
    number: str = strawberry.field(
        description="The 15-digit service card number (status prefix + Luhn digit)."
    )
    state: CardState = strawberry.field(
        description="ACTIVE, SUPERSEDED (still credits accruals) or BLOCKED (lost or stolen: credits only "
        "partner activity dated before the day of the block)."
    )
    tier: Tier = strawberry.field(description="The status the card was issued for.")
    issued_at: dt.datetime = strawberry.field(description="When this number was issued.")
    valid_until: dt.date | None = strawberry.field(
        description="End of the status validity; none for base cards."
    )

    holder_name: str | None = strawberry.field(
        default=None, description="The member's name as the app card shows it (on the member's own card)."
    )

    @strawberry.field(description="The number in groups of four, as printed: 9920 1234 5678 901.")
    def number_grouped(self) -> str:
        return group_for_reading(self.number)

    @strawberry.field(description="The app card's QR code (SVG) encoding the service card number.")
    def qr_code_svg(self) -> str:
        return card_qr_svg(self.number)

    @classmethod
    def resolve_reference(cls, info: Info, **representation: object) -> Awaitable[ServiceCard]:
        return _card_reference(info, representation)

    @classmethod
    def from_model(
        cls, card: models.ServiceCard | CardSnapshot, *, holder_name: str | None = None
    ) -> ServiceCard:
        return cls(
            number=card.number,
            state=card.state,
            tier=card.tier,
            issued_at=card.issued_at,
            valid_until=card.valid_until,
            holder_name=holder_name,
        )


async def _card_reference(info: Info, representation: dict[str, object]) -> ServiceCard:
    """The service card a representation's number names (any state), when it is the signed-in member's."""
    account_id = signed_in(info.context).account_id
    try:
        number = entities.reference_key(representation, "number")
        card = entities.own_card(
            await info.context.entity_loaders.card_by_number.load(number), account_id=account_id
        )
    except entities.NotYours:
        raise NotYours() from None
    holder = await info.context.loaders.member_by_id.load(account_id)
    holder_name = f"{holder.given_name} {holder.family_name}" if holder else None
    return ServiceCard.from_model(card, holder_name=holder_name)


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
    "signs in or redeems; partner activity dated before the day of the block still credits the member, activity "
    "on or after it is refused (CARD_BLOCKED). Account number and PIN stay."
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

    @classmethod
    def from_model(cls, case: models.SupportCase) -> SupportCaseOpened:
        return cls(reference=case.reference, message=LOST_NUMBER_ANSWER)


ReportCardLostResult = Annotated[
    CardBlocked | StepUpRequired | InputError, strawberry.union("ReportCardLostResult")
]
SetAdvertisingConsentResult = Annotated[
    ConsentChanged | StepUpRequired | InputError, strawberry.union("SetAdvertisingConsentResult")
]
ReportLostServiceCardNumberResult = Annotated[
    SupportCaseOpened | InputError, strawberry.union("ReportLostServiceCardNumberResult")
]
