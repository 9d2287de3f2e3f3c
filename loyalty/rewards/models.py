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


class PooledRedemptionPosting(Model):
    """One contributing member's debit of a pooled redemption (DOMAIN.md 7), one row per member.

    A pooled redemption is a Redemption of the adult who redeemed; its miles come from several members'
    lots, one REDEMPTION posting per member. The redemption's own posting is the first of these rows.
    Cancelling reverses every listed posting: each member's miles go back to their own lots.
    """

    id = fields.BigIntField(primary_key=True)
    redemption: fields.ForeignKeyRelation[Redemption] = fields.ForeignKeyField(
        "milesgate.Redemption", related_name="pooled_postings", on_delete=fields.RESTRICT
    )
    redemption_id: int
    pool_id = fields.BigIntField()
    posting: fields.OneToOneRelation[Posting] = fields.OneToOneField(
        "milesgate.Posting", related_name="pooled_redemption_posting", on_delete=fields.RESTRICT
    )
    posting_id: int
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="pooled_redemption_postings", on_delete=fields.RESTRICT
    )
    account_id: int
    miles = fields.BigIntField()

    class Meta:
        table = "pooled_redemption_postings"
        indexes = (("pool_id", "redemption_id"), ("account_id", "redemption_id"))
