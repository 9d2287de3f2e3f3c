"""Redemptions (award miles spent on a reward) and the member's reward goal."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from loyalty.ledger.models import Posting
from loyalty.members.models import Member


class RedemptionState(StrEnum):
    """REDEEMED while the reward stands, CANCELLED once the miles went back to the member."""

    REDEEMED = "REDEEMED"
    CANCELLED = "CANCELLED"


class Redemption(Model):
    """A catalogue reward bought with award miles. Its posting is the miles debit (source REDEMPTION).

    Cancelling reverses that posting, which gives the miles back to the lots they came from.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="redemptions", on_delete=fields.RESTRICT
    )
    account_id: int
    reward_code = fields.CharField(max_length=60)
    miles = fields.BigIntField()
    posting: fields.OneToOneRelation[Posting] = fields.OneToOneField(
        "milesgate.Posting", related_name="redemption", on_delete=fields.RESTRICT
    )
    posting_id: int
    state = fields.CharEnumField(RedemptionState, max_length=16, default=RedemptionState.REDEEMED)
    created_at = fields.DatetimeField()
    cancelled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "redemptions"
        indexes = (("account_id", "created_at"),)


class RewardGoal(Model):
    """The reward a member saves towards (one per member). Progress is the award-miles balance against it."""

    id = fields.BigIntField(primary_key=True)
    account: fields.OneToOneRelation[Member] = fields.OneToOneField(
        "milesgate.Member", related_name="reward_goal", on_delete=fields.RESTRICT
    )
    account_id: int
    reward_code = fields.CharField(max_length=60)
    set_at = fields.DatetimeField()

    class Meta:
        table = "reward_goals"
