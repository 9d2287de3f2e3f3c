"""What the Status Stars import did for each member."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from loyalty.ledger.models import Posting
from loyalty.members.models import Member, Tier


class StatusStarImport(Model):
    """The Status Stars of one member as the old programme held them, and what they were converted to.

    One per member: importing the same values again changes nothing, other values are refused.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.OneToOneRelation[Member] = fields.OneToOneField(
        "milesgate.Member", related_name="status_star_import", on_delete=fields.RESTRICT
    )
    account_id: int
    star_points = fields.BigIntField()
    stars = fields.IntField()
    lifetime_qualifying_points = fields.BigIntField()
    lifetime_tier = fields.CharEnumField(Tier, max_length=8, null=True)
    posting: fields.ForeignKeyNullableRelation[Posting] = fields.ForeignKeyField(
        "milesgate.Posting", related_name="status_star_imports", null=True, on_delete=fields.RESTRICT
    )
    posting_id: int | None
    imported_by = fields.CharField(max_length=120)
    imported_at = fields.DatetimeField()

    class Meta:
        table = "status_star_imports"
