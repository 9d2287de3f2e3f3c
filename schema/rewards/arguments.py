"""Arguments and inputs the reward mutations share (redeeming with one's own or with pooled miles)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.inputs import old_argument

REWARD_CODE = "The reward's catalogue code."
REQUEST_ID = (
    "Chosen by the client (e.g. a UUID), 1 to 100 characters; send the same one when retrying so the reward "
    "is redeemed once."
)

RewardCodeArgument = Annotated[str | None, old_argument(REWARD_CODE, field="rewardCode")]
RequestIdArgument = Annotated[str | None, old_argument(REQUEST_ID, field="requestId")]


@strawberry.input(description="A catalogue reward to redeem, once per request id.")
class RedeemInput:
    reward_code: str = strawberry.field(description=REWARD_CODE)
    request_id: str = strawberry.field(description=REQUEST_ID)


@strawberry.input(description="The reward to save towards.")
class SetRewardGoalInput:
    reward_code: str = strawberry.field(description=REWARD_CODE)


@strawberry.input(description="The redemption to cancel.")
class CancelRedemptionInput:
    id: strawberry.ID = strawberry.field(description="The redemption's id (me.redemptionsConnection).")
