"""The rewards catalogue."""

from __future__ import annotations

import strawberry

from resolvers import rewards
from schema.rewards.types import Reward


@strawberry.type
class RewardQueries:
    @strawberry.field(
        description="The rewards catalogue: award flights, upgrades, WorldShop items and Cash & Miles rewards, "
        "each from 3,000 award miles."
    )
    def rewards(self) -> list[Reward]:
        return [Reward.from_domain(reward) for reward in rewards.rewards()]
