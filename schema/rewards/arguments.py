"""Arguments the reward mutations share (redeeming with one's own or with pooled miles)."""

from __future__ import annotations

from typing import Annotated

import strawberry

RewardCodeArgument = Annotated[str, strawberry.argument(description="The reward's catalogue code.")]
RequestIdArgument = Annotated[
    str,
    strawberry.argument(
        description="Chosen by the client (e.g. a UUID), 1 to 100 characters; send the same one when "
        "retrying so the reward is redeemed once."
    ),
]
