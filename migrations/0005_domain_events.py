from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.events.models import EventType
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0004_rewards_redemptions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DomainEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_id', fields.BigIntField()),
                ('type', fields.CharEnumField(description='POSTING_CREATED: ledger.posting.created\nSTATUS_CHANGED: status.changed\nREDEMPTION_CREATED: redemption.created\nREDEMPTION_CANCELLED: redemption.cancelled\nPOOL_CHANGED: pool.changed', enum_type=EventType, max_length=40)),
                ('payload', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('posting_id', fields.BigIntField(null=True)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'domain_events', 'app': 'milesgate', 'indexes': [Index(fields=['published_at', 'id']), Index(fields=['account_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One event about one member, in commit order by id.'},
            bases=['Model'],
        ),
    ]
