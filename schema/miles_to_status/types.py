"""Miles to status as GraphQL sees it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from loyalty.miles_to_status import models
from loyalty.miles_to_status.service import ExchangeOffer
from schema.errors import InputError, StepUpRequired
from schema.status.types import StatusProgress


@strawberry.type(
    description="Award miles exchanged for Points and Qualifying Points (never HON Circle Points)."
)
class StatusExchange:
    year: int = strawberry.field(description="The calendar year of the exchange (one per year).")
    packages: int = strawberry.field(description="Packages exchanged.")
    miles: int = strawberry.field(description="Award miles debited.")
    points: int = strawberry.field(description="Points credited.")
    qualifying_points: int = strawberry.field(description="Qualifying Points credited.")
    exchanged_at: dt.datetime = strawberry.field(description="When; it cannot be undone.")

    @classmethod
    def from_model(cls, row: models.StatusExchange) -> StatusExchange:
        return cls(
            year=row.year,
            packages=row.packages,
            miles=row.miles,
            points=row.points,
            qualifying_points=row.qualifying_points,
            exchanged_at=row.created_at,
        )


@strawberry.type(
    description="What the member may exchange this calendar year: holders of a co-branded credit card with "
    "the miles-to-status feature, from the miles earned with the card (card spend, not welcome or promotion "
    "bonuses) in this and the previous calendar year, once a year, in whole packages."
)
class MilesToStatusOffer:
    year: int = strawberry.field(description="This calendar year.")
    has_eligible_card: bool = strawberry.field(
        description="The member holds a card with the feature (not cancelled)."
    )
    card_miles: int = strawberry.field(
        description="Miles earned with the card that count (this and last year, less last year's exchange)."
    )
    award_miles: int = strawberry.field(description="The member's award-miles balance.")
    max_packages: int = strawberry.field(
        description="Packages the member may exchange now (0 once this year's exchange is made)."
    )
    package_miles: int = strawberry.field(description="Award miles per package, e.g. 5,000.")
    points_per_package: int = strawberry.field(description="Points per package, e.g. 20.")
    qualifying_points_per_package: int = strawberry.field(
        description="Qualifying Points per package, e.g. 20."
    )
    exchanged: StatusExchange | None = strawberry.field(description="This year's exchange, once made.")

    @classmethod
    def from_domain(cls, offer: ExchangeOffer) -> MilesToStatusOffer:
        return cls(
            year=offer.year,
            has_eligible_card=offer.has_card,
            card_miles=offer.card_miles,
            award_miles=offer.award_miles,
            max_packages=offer.max_packages,
            package_miles=offer.package_miles,
            points_per_package=offer.points_per_package,
            qualifying_points_per_package=offer.qualifying_points_per_package,
            exchanged=StatusExchange.from_model(offer.exchanged) if offer.exchanged else None,
        )


@strawberry.input(description="How many packages of award miles to exchange for status.")
class ExchangeMilesForStatusInput:
    packages: int = strawberry.field(description="Whole packages, 1 to 5 (5,000 miles each by default).")
    request_id: str = strawberry.field(
        description="Chosen by the client (e.g. a UUID), 1 to 64 characters; a retry with the same one "
        "returns the first exchange."
    )


@strawberry.type(description="The miles were exchanged; the status engine ran as for any credit.")
class MilesExchangedForStatus:
    exchange: StatusExchange = strawberry.field(description="What was exchanged.")
    award_miles: int = strawberry.field(description="The member's award-miles balance afterwards.")
    status: StatusProgress = strawberry.field(description="The member's status afterwards.")


ExchangeMilesForStatusResult = Annotated[
    MilesExchangedForStatus | StepUpRequired | InputError, strawberry.union("ExchangeMilesForStatusResult")
]
