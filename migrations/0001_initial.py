from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.ledger.models import Currency
from loyalty.members.models import CardState, Tier
from orjson import loads
from partners.models import PartnerKind, PartnerState
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from webhooks.models import InboxState
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Member',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_number', fields.CharField(unique=True, max_length=9)),
                ('given_name', fields.CharField(max_length=80)),
                ('family_name', fields.CharField(max_length=80)),
                ('email', fields.CharField(null=True, unique=True, max_length=254)),
                ('date_of_birth', fields.DateField()),
                ('country', fields.CharField(max_length=2)),
                ('language', fields.CharField(default='en', max_length=8)),
                ('pin_hash', fields.CharField(max_length=200)),
                ('tier', fields.CharEnumField(default=Tier.BASE, description='BASE: BASE\nFTL: FTL\nSEN: SEN\nHON: HON', enum_type=Tier, max_length=8)),
                ('advertising_consent', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'members', 'app': 'milesgate', 'pk_attr': 'id', 'table_description': 'A programme member. Its id is the internal account id every member-owned row carries.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Balance',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='balances', on_delete=OnDelete.RESTRICT)),
                ('currency', fields.CharEnumField(description='AWARD_MILES: AWARD_MILES\nPOINTS: POINTS\nQUALIFYING_POINTS: QUALIFYING_POINTS\nHON_CIRCLE_POINTS: HON_CIRCLE_POINTS\nLIFETIME_QUALIFYING_POINTS: LIFETIME_QUALIFYING_POINTS', enum_type=Currency, max_length=32)),
                ('amount', fields.BigIntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'balances', 'app': 'milesgate', 'unique_together': (('account_id', 'currency'),), 'pk_attr': 'id', 'table_description': "The running total of one currency for one member, always the sum of that member's entries."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Partner',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('name', fields.CharField(max_length=120)),
                ('kind', fields.CharEnumField(description='AIRLINE: airline\nSHOP: shop\nBANK: bank\nHOTEL: hotel\nRAIL: rail\nCAR_RENTAL: car_rental\nLOUNGE: lounge\nOTHER: other', enum_type=PartnerKind, max_length=16)),
                ('state', fields.CharEnumField(default=PartnerState.ACTIVE, description='ACTIVE: active\nSUSPENDED: suspended', enum_type=PartnerState, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'partners', 'app': 'milesgate', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PartnerInbox',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('partner', fields.ForeignKeyField('milesgate.Partner', source_field='partner_id', db_constraint=True, to_field='id', related_name='inbox', on_delete=OnDelete.RESTRICT)),
                ('webhook_id', fields.CharField(max_length=128)),
                ('event_type', fields.CharField(max_length=64)),
                ('payload', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('state', fields.CharEnumField(default=InboxState.PENDING, description='PENDING: pending\nPROCESSED: processed\nFAILED: failed', enum_type=InboxState, max_length=16)),
                ('account_id', fields.BigIntField(null=True)),
                ('attempts', fields.IntField(default=0)),
                ('error_code', fields.CharField(null=True, max_length=64)),
                ('error_message', fields.CharField(null=True, max_length=500)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('processed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'partner_inbox', 'app': 'milesgate', 'unique_together': (('partner_id', 'webhook_id'),), 'indexes': [Index(fields=['state', 'received_at'])], 'pk_attr': 'id', 'table_description': 'One delivery from a partner, unique on (partner, webhook id) so a redelivery changes nothing.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PartnerSecret',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('partner', fields.ForeignKeyField('milesgate.Partner', source_field='partner_id', db_constraint=True, to_field='id', related_name='secrets', on_delete=OnDelete.CASCADE)),
                ('secret', fields.CharField(max_length=120)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'partner_secrets', 'app': 'milesgate', 'pk_attr': 'id', 'table_description': 'A Standard Webhooks signing secret. Several may be active at once so a partner can rotate.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Posting',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='postings', on_delete=OnDelete.RESTRICT)),
                ('idempotency_key', fields.CharField(unique=True, max_length=200)),
                ('source', fields.CharField(max_length=40)),
                ('partner_reference', fields.CharField(null=True, max_length=120)),
                ('rule_version', fields.CharField(max_length=40)),
                ('activity_date', fields.DateField()),
                ('description', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'postings', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'created_at'])], 'pk_attr': 'id', 'table_description': "One business event's change to a member's balances. The idempotency key makes a retry a no-op."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Entry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('posting', fields.ForeignKeyField('milesgate.Posting', source_field='posting_id', db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.RESTRICT)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.RESTRICT)),
                ('currency', fields.CharEnumField(description='AWARD_MILES: AWARD_MILES\nPOINTS: POINTS\nQUALIFYING_POINTS: QUALIFYING_POINTS\nHON_CIRCLE_POINTS: HON_CIRCLE_POINTS\nLIFETIME_QUALIFYING_POINTS: LIFETIME_QUALIFYING_POINTS', enum_type=Currency, max_length=32)),
                ('amount', fields.BigIntField()),
            ],
            options={'table': 'ledger_entries', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'currency'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ServiceCard',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='cards', on_delete=OnDelete.RESTRICT)),
                ('number', fields.CharField(unique=True, max_length=15)),
                ('state', fields.CharEnumField(default=CardState.ACTIVE, description='ACTIVE: ACTIVE\nSUPERSEDED: SUPERSEDED\nBLOCKED: BLOCKED', enum_type=CardState, max_length=12)),
                ('tier', fields.CharEnumField(description='BASE: BASE\nFTL: FTL\nSEN: SEN\nHON: HON', enum_type=Tier, max_length=8)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('valid_until', fields.DateField(null=True)),
                ('state_changed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'service_cards', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'state'])], 'pk_attr': 'id', 'table_description': 'One service card number of a member. Superseded numbers still resolve to the account.'},
            bases=['Model'],
        ),
    ]
