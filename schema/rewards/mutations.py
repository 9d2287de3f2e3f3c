"""Redeeming and cancelling (AUTHENTICATED only), and the reward goal."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import rewards
from resolvers.rewards import RedemptionChange
from schema.context import Info
from schema.fields import mutation
from schema.permissions import StepUp, signed_in
from schema.rewards.arguments import RequestIdArgument, RewardCodeArgument
from schema.rewards.types import (
    CancelRedemptionResult,
    Redeemed,
    RedeemResult,
    Redemption,
    RedemptionCancelled,
    RewardGoalProgress,
    RewardGoalSet,
    SetRewardGoalResult,
)


def _redemption(change: RedemptionChange) -> Redemption:
    return Redemption.from_model(change.redemption.redemption, change.redemption.reward)


@strawberry.type
class RewardMutations:
    @mutation(
        description="Redeem a catalogue reward with award miles (needs AUTHENTICATED). Atomic: the miles are "
        "debited once or not at all. A retry with the same requestId returns the first redemption.",
        permission_classes=[StepUp],
    )
    async def redeem(
        self, info: Info, reward_code: RewardCodeArgument, request_id: RequestIdArgument
    ) -> RedeemResult:
        change = await rewards.redeem(
            account_id=signed_in(info.context).account_id,
            reward_code=reward_code,
            request_id=request_id,
            rules=info.context.rules,
        )
        return Redeemed(redemption=_redemption(change), award_miles=change.award_miles)

    @mutation(
        description="Cancel a redemption (needs AUTHENTICATED): the miles go back to the member with their "
        "original expiry. A redemption is cancelled once (ALREADY_CANCELLED after that).",
        permission_classes=[StepUp],
    )
    async def cancel_redemption(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The redemption's id (me.redemptions).")
        ],
    ) -> CancelRedemptionResult:
        change = await rewards.cancel_redemption(
            account_id=signed_in(info.context).account_id, redemption_id=str(id), rules=info.context.rules
        )
        return RedemptionCancelled(redemption=_redemption(change), award_miles=change.award_miles)

    @mutation(
        description="Pick the reward to save towards (replaces any earlier goal); me.rewardGoal shows the "
        "progress and the miles still missing."
    )
    async def set_reward_goal(self, info: Info, reward_code: RewardCodeArgument) -> SetRewardGoalResult:
        goal = await rewards.set_reward_goal(
            account_id=signed_in(info.context).account_id, reward_code=reward_code
        )
        return RewardGoalSet(goal=RewardGoalProgress.from_domain(goal))
