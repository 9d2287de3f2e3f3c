"""Redeeming and cancelling (AUTHENTICATED only), and the reward goal."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import rewards
from resolvers.rewards import RedemptionChange
from schema.context import Info
from schema.fields import mutation
from schema.inputs import from_arguments, old_argument
from schema.permissions import StepUp, signed_in
from schema.rewards.arguments import (
    CancelRedemptionInput,
    RedeemInput,
    RequestIdArgument,
    RewardCodeArgument,
    SetRewardGoalInput,
)
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
        self,
        info: Info,
        input: RedeemInput | None = None,
        reward_code: RewardCodeArgument = None,
        request_id: RequestIdArgument = None,
    ) -> RedeemResult:
        given = from_arguments(RedeemInput, input, reward_code=reward_code, request_id=request_id)
        change = await rewards.redeem(
            account_id=signed_in(info.context).account_id,
            reward_code=given.reward_code,
            request_id=given.request_id,
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
        input: CancelRedemptionInput | None = None,
        id: Annotated[
            strawberry.ID | None, old_argument("The redemption's id (me.redemptions).", field="id")
        ] = None,
    ) -> CancelRedemptionResult:
        given = from_arguments(CancelRedemptionInput, input, id=id)
        change = await rewards.cancel_redemption(
            account_id=signed_in(info.context).account_id,
            redemption_id=str(given.id),
            rules=info.context.rules,
        )
        return RedemptionCancelled(redemption=_redemption(change), award_miles=change.award_miles)

    @mutation(
        description="Pick the reward to save towards (replaces any earlier goal); me.rewardGoal shows the "
        "progress and the miles still missing."
    )
    async def set_reward_goal(
        self, info: Info, input: SetRewardGoalInput | None = None, reward_code: RewardCodeArgument = None
    ) -> SetRewardGoalResult:
        account_id = signed_in(info.context).account_id  # signed in before the input is read
        given = from_arguments(SetRewardGoalInput, input, reward_code=reward_code)
        goal = await rewards.set_reward_goal(account_id=account_id, reward_code=given.reward_code)
        return RewardGoalSet(goal=RewardGoalProgress.from_domain(goal))
