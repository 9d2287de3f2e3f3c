"""Status: the status-progress view, the status history and the member's eVouchers (DOMAIN.md 4)."""

from __future__ import annotations

import datetime as dt

import strawberry

from loyalty.status import models, progress
from schema.enums import Tier
from schema.ledger.enums import Currency
from schema.status.enums import StatusChange


@strawberry.type(description="An amount of one of the status currencies.")
class PointsAmount:
    currency: Currency = strawberry.field(description="POINTS, QUALIFYING_POINTS or HON_CIRCLE_POINTS.")
    amount: int = strawberry.field(description="How many.")


def _amounts(values: dict[Currency, int]) -> list[PointsAmount]:
    return [PointsAmount(currency=currency, amount=amount) for currency, amount in sorted(values.items())]


@strawberry.type(description="A tier to reach with this calendar year's counters, and what is still missing.")
class TierTarget:
    tier: Tier = strawberry.field(description="The tier.")
    reached: bool = strawberry.field(description="True when this year's counters reach it already.")
    missing: list[PointsAmount] = strawberry.field(
        description="Per required currency, what this year's counters still lack (0 when reached)."
    )
    valid_until_if_reached: dt.date = strawberry.field(
        description="Until when the tier would last if reached this year (end of February of the year after next)."
    )

    @classmethod
    def from_domain(cls, target: progress.TierTarget) -> TierTarget:
        return cls(
            tier=target.tier,
            reached=target.reached,
            missing=_amounts(target.missing),
            valid_until_if_reached=target.valid_until_if_reached,
        )


@strawberry.type(description="The member's status, this year's counters and the way to the next tier.")
class StatusProgress:
    tier: Tier = strawberry.field(description="The status held now.")
    valid_until: dt.date | None = strawberry.field(
        description="Last day of the status; none for base members and a status held for life."
    )
    lifetime_tier: Tier | None = strawberry.field(
        description="The lifetime status (30,000 QP: Frequent Traveller, 40,000 QP: Senator), if earned."
    )
    year: int = strawberry.field(description="The calendar year the counters below belong to.")
    counters: list[PointsAmount] = strawberry.field(
        description="Points, Qualifying Points and HON Circle Points of this calendar year."
    )
    lifetime_qualifying_points: int = strawberry.field(description="All Qualifying Points ever earned.")
    next_tier: TierTarget | None = strawberry.field(
        description="The tier above and what is missing for it this year; none at HON Circle."
    )
    keep_tier: TierTarget | None = strawberry.field(
        description="What is missing this year to keep the current tier; none for base members and "
        "a status held for life."
    )

    @classmethod
    def from_domain(cls, view: progress.StatusProgress) -> StatusProgress:
        return cls(
            tier=view.tier,
            valid_until=view.valid_until,
            lifetime_tier=view.lifetime_tier,
            year=view.year,
            counters=_amounts(view.counters),
            lifetime_qualifying_points=view.lifetime_qualifying_points,
            next_tier=TierTarget.from_domain(view.next_tier) if view.next_tier else None,
            keep_tier=TierTarget.from_domain(view.keep_tier) if view.keep_tier else None,
        )


@strawberry.type(description="One change of the member's status.")
class StatusHistoryEntry:
    from_tier: Tier = strawberry.field(description="The tier before.")
    to_tier: Tier = strawberry.field(description="The tier after.")
    change: StatusChange = strawberry.field(description="Why it changed.")
    valid_until: dt.date | None = strawberry.field(
        description="Validity of the new tier; none for life or base."
    )
    qualifying_year: int | None = strawberry.field(
        description="The calendar year whose counters caused it, if any."
    )
    effective_on: dt.date = strawberry.field(description="The day it took effect.")

    @classmethod
    def from_model(cls, row: models.StatusHistory) -> StatusHistoryEntry:
        return cls(
            from_tier=row.from_tier,
            to_tier=row.to_tier,
            change=row.change,
            valid_until=row.valid_until,
            qualifying_year=row.qualifying_year,
            effective_on=row.effective_on,
        )


@strawberry.type(
    description="An upgrade eVoucher (Senator 2, HON Circle 4 per qualification; one segment each)."
)
class EVoucher:
    tier: Tier = strawberry.field(description="The status that earned it.")
    available_from: dt.date = strawberry.field(
        description="Usable from this day (a renewal's vouchers once the new card is issued)."
    )
    expires_on: dt.date = strawberry.field(description="Last day it can be used.")
    used: bool = strawberry.field(description="Whether it has been used for an upgrade.")

    @classmethod
    def from_model(cls, row: models.EVoucher) -> EVoucher:
        return cls(
            tier=row.tier,
            available_from=row.available_from,
            expires_on=row.expires_on,
            used=row.used_at is not None,
        )
