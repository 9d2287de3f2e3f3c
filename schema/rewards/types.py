"""Rewards: the catalogue, redemptions paid with award miles, and the member's reward goal (DOMAIN.md 7)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from loyalty.rewards import catalogue, models
from loyalty.rewards.service import GoalProgress
from loyalty.rewards.service import InsufficientMiles as ShortOfMiles
from schema.errors import InputError, StepUpRequired
from schema.rewards.enums import RedemptionState, RewardKind


@strawberry.type(description="A reward of the catalogue, bought with award miles (from 3,000 miles).")
class Reward:
    code: str = strawberry.field(description="Stable code: pass it to redeem or setRewardGoal.")
    kind: RewardKind = strawberry.field(description="Flight, upgrade, WorldShop item or Cash & Miles.")
    title: str = strawberry.field(description="What the member gets, in words.")
    miles: int = strawberry.field(description="Award miles it costs.")
    cash_eur: str | None = strawberry.field(
        description="The cash part of a Cash & Miles reward in euros (e.g. 89.00); none when miles only."
    )

    @classmethod
    def from_domain(cls, reward: catalogue.Reward) -> Reward:
        return cls(
            code=reward.code,
            kind=reward.kind,
            title=reward.title,
            miles=reward.miles,
            cash_eur=None if reward.cash_eur is None else f"{reward.cash_eur:.2f}",
        )


@strawberry.type(description="A reward the member bought with award miles.")
class Redemption:
    id: strawberry.ID = strawberry.field(description="Pass it to cancelRedemption.")
    reward_code: str = strawberry.field(description="The catalogue code of the reward.")
    reward: Reward | None = strawberry.field(
        description="The reward as the catalogue lists it now; none if it has left the catalogue."
    )
    miles: int = strawberry.field(description="Award miles it cost (given back when cancelled).")
    state: RedemptionState = strawberry.field(description="REDEEMED or CANCELLED.")
    created_at: dt.datetime = strawberry.field(description="When the member redeemed.")
    cancelled_at: dt.datetime | None = strawberry.field(description="When it was cancelled, if it was.")

    @classmethod
    def from_model(cls, row: models.Redemption, reward: catalogue.Reward | None) -> Redemption:
        return cls(
            id=strawberry.ID(str(row.id)),
            reward_code=row.reward_code,
            reward=None if reward is None else Reward.from_domain(reward),
            miles=row.miles,
            state=row.state,
            created_at=row.created_at,
            cancelled_at=row.cancelled_at,
        )


@strawberry.type(
    description="The reward the member saves towards and how many award miles are still missing."
)
class RewardGoalProgress:
    reward: Reward = strawberry.field(description="The goal.")
    balance: int = strawberry.field(description="The member's award miles now.")
    missing: int = strawberry.field(
        description="Award miles still needed; 0 when the reward is within reach."
    )
    set_at: dt.datetime = strawberry.field(description="When the member picked this goal.")

    @classmethod
    def from_domain(cls, progress: GoalProgress) -> RewardGoalProgress:
        return cls(
            reward=Reward.from_domain(progress.reward),
            balance=progress.balance,
            missing=progress.missing,
            set_at=progress.set_at,
        )

    @strawberry.field(description="Share of the goal reached, 0 to 100 (rounded down).")
    def percent(self) -> int:
        if self.reward.miles <= 0:
            return 100
        return min(100, self.balance * 100 // self.reward.miles)


@strawberry.type(description="The reward was redeemed (or, for a repeated requestId, had been already).")
class Redeemed:
    redemption: Redemption = strawberry.field(description="The redemption.")
    award_miles: int = strawberry.field(description="The member's award-miles balance afterwards.")


@strawberry.type(description="Not enough award miles for this reward. Nothing was changed.")
class InsufficientMiles:
    code: str = strawberry.field(description="INSUFFICIENT_MILES.")
    message: str = strawberry.field(description="A sentence for people.")
    required: int = strawberry.field(description="Award miles the reward costs.")
    balance: int = strawberry.field(description="The member's award miles now.")
    missing: int = strawberry.field(description="Award miles still needed.")

    domain_errors = (ShortOfMiles,)

    @classmethod
    def from_domain(cls, error: ShortOfMiles) -> InsufficientMiles:
        return cls(
            code=error.code,
            message=error.message,
            required=error.required,
            balance=error.balance,
            missing=error.missing,
        )


@strawberry.type(description="The redemption was cancelled: its miles are back, with their original expiry.")
class RedemptionCancelled:
    redemption: Redemption = strawberry.field(description="The redemption, now CANCELLED.")
    award_miles: int = strawberry.field(description="The member's award-miles balance afterwards.")


@strawberry.type(description="The member's reward goal was set (replacing any earlier one).")
class RewardGoalSet:
    goal: RewardGoalProgress = strawberry.field(description="The new goal and the progress towards it.")


RedeemResult = Annotated[
    Redeemed | InsufficientMiles | StepUpRequired | InputError, strawberry.union("RedeemResult")
]
CancelRedemptionResult = Annotated[
    RedemptionCancelled | StepUpRequired | InputError, strawberry.union("CancelRedemptionResult")
]
SetRewardGoalResult = Annotated[RewardGoalSet | InputError, strawberry.union("SetRewardGoalResult")]
