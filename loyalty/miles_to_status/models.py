"""What the miles-to-status exchange counts and what it did."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from loyalty.ledger.models import Posting
from loyalty.members.models import Member


class CardMilesCredit(Model):
    """Award miles a bank credited for spend on a co-branded credit card (an accrual of category card_spend).

    Only these count for the miles-to-status exchange: a welcome or promotion bonus comes as another
    category and is not recorded here.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="card_miles_credits", on_delete=fields.RESTRICT
    )
    account_id: int
    partner_code = fields.CharField(max_length=40)
    posting: fields.OneToOneRelation[Posting] = fields.OneToOneField(
        "milesgate.Posting", related_name="card_miles_credit", on_delete=fields.RESTRICT
    )
    posting_id: int
    earned_on = fields.DateField()
    miles = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "card_miles_credits"
        indexes = (("account_id", "earned_on"),)


class StatusExchange(Model):
    """An exchange of award miles for Points and Qualifying Points, by one member in one calendar year.

    Unique per member and year: the second exchange of a year is refused, also when two run at once.
    It cannot be undone (its posting is not reversible).
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="status_exchanges", on_delete=fields.RESTRICT
    )
    account_id: int
    year = fields.IntField()
    request_id = fields.CharField(max_length=64)
    packages = fields.IntField()
    miles = fields.BigIntField()
    points = fields.IntField()
    qualifying_points = fields.IntField()
    posting: fields.OneToOneRelation[Posting] = fields.OneToOneField(
        "milesgate.Posting", related_name="status_exchange", on_delete=fields.RESTRICT
    )
    posting_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "status_exchanges"
        unique_together = (("account_id", "year"),)
