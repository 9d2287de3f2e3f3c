from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.events.models import EventType
from loyalty.offers.models import OfferKind
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0011_engagement')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Offer',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=60)),
                ('partner_code', fields.CharField(max_length=32)),
                ('kind', fields.CharEnumField(description='EARN: EARN\nREDEEM: REDEEM', enum_type=OfferKind, max_length=8)),
                ('title', fields.CharField(max_length=160)),
                ('description', fields.CharField(default='', max_length=600)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('tiers', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('countries', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('languages', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('bonus_miles', fields.IntField(default=0)),
                ('priority', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'offers', 'app': 'milesgate', 'indexes': [Index(fields=['starts_at', 'ends_at'])], 'pk_attr': 'id', 'table_description': 'An offer of a partner, shown in its validity window to the members its targeting names.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OfferActivation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='offer_activations', on_delete=OnDelete.RESTRICT)),
                ('offer', fields.ForeignKeyField('milesgate.Offer', source_field='offer_id', db_constraint=True, to_field='id', related_name='activations', on_delete=OnDelete.RESTRICT)),
                ('activated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('bonus_posting_id', fields.BigIntField(null=True)),
            ],
            options={'table': 'offer_activations', 'app': 'milesgate', 'unique_together': (('account_id', 'offer_id'),), 'pk_attr': 'id', 'table_description': 'A member activated an offer, and the bonus posting once a matching accrual earned the bonus.'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='DomainEvent',
            name='type',
            field=fields.CharEnumField(description='POSTING_CREATED: ledger.posting.created\nSTATUS_CHANGED: status.changed\nREDEMPTION_CREATED: redemption.created\nREDEMPTION_CANCELLED: redemption.cancelled\nPOOL_CHANGED: pool.changed\nOFFER_ACTIVATED: offer.activated', enum_type=EventType, max_length=40),
        ),
    ]
