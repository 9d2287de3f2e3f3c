from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.flown.models import Cabin
from loyalty.photo_credit.models import ReceiptOutcome
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0013_pooling')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FlownSegment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('partner_id', fields.BigIntField()),
                ('account_id', fields.BigIntField(null=True)),
                ('ticket_number', fields.CharField(max_length=14)),
                ('coupon_number', fields.SmallIntField(null=True)),
                ('carrier', fields.CharField(max_length=3)),
                ('flight_number', fields.CharField(max_length=5)),
                ('flight_date', fields.DateField()),
                ('origin', fields.CharField(max_length=3)),
                ('destination', fields.CharField(max_length=3)),
                ('cabin', fields.CharEnumField(null=True, description='ECONOMY: economy\nPREMIUM_ECONOMY: premium_economy\nBUSINESS: business\nFIRST: first', enum_type=Cabin, max_length=16)),
                ('booking_class', fields.CharField(null=True, max_length=1)),
                ('passenger_surname', fields.CharField(max_length=64)),
                ('passenger_given_name', fields.CharField(default='', max_length=64)),
                ('member_reference', fields.CharField(default='', max_length=40)),
                ('details', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'flown_segments', 'app': 'milesgate', 'unique_together': (('partner_id', 'ticket_number', 'carrier', 'flight_number', 'flight_date'),), 'indexes': [Index(fields=['ticket_number']), Index(fields=['account_id', 'flight_date']), Index(fields=['carrier', 'flight_number', 'flight_date'])], 'pk_attr': 'id', 'table_description': 'A flight segment a partner airline reports as flown, for flight accrual and retro credit.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PartnerPublicKey',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('partner', fields.ForeignKeyField('milesgate.Partner', source_field='partner_id', db_constraint=True, to_field='id', related_name='public_keys', on_delete=OnDelete.CASCADE)),
                ('public_key', fields.CharField(max_length=64)),
                ('fingerprint', fields.CharField(max_length=16)),
                ('label', fields.CharField(default='', max_length=64)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'partner_public_keys', 'app': 'milesgate', 'unique_together': (('partner_id', 'public_key'),), 'pk_attr': 'id', 'table_description': 'An ed25519 public key of a partner that signs with Standard Webhooks v1a (raw 32 bytes, base64).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReceiptVerdict',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('partner_id', fields.BigIntField()),
                ('account_id', fields.BigIntField()),
                ('receipt_id', fields.CharField(max_length=100)),
                ('outcome', fields.CharEnumField(description='APPROVED: approved\nREJECTED: rejected', enum_type=ReceiptOutcome, max_length=16)),
                ('miles', fields.BigIntField(default=0)),
                ('reason', fields.CharField(default='', max_length=200)),
                ('posting_id', fields.BigIntField(null=True)),
                ('decided_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'receipt_verdicts', 'app': 'milesgate', 'unique_together': (('partner_id', 'receipt_id'),), 'indexes': [Index(fields=['account_id', 'decided_at'])], 'pk_attr': 'id', 'table_description': "A shopping partner's verdict on one photographed receipt: approved or rejected."},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='Partner',
            options={'table': 'partners', 'app': 'milesgate', 'pk_attr': 'id', 'table_description': 'A partner of the programme: airline, shop, bank, hotel, rail, lounge and others.'},
        ),
        ops.AddField(
            model_name='Partner',
            name='capabilities_text',
            field=fields.CharField(source_field='capabilities', default='', db_default='', max_length=200),
        ),
        ops.AddField(
            model_name='Partner',
            name='earning_config',
            field=fields.CharField(default='default', db_default='default', max_length=64),
        ),
        ops.AlterModelOptions(
            name='PartnerInbox',
            options={'table': 'partner_inbox', 'app': 'milesgate', 'unique_together': (('partner_id', 'webhook_id'), ('partner_id', 'business_key')), 'indexes': [Index(fields=['state', 'received_at'])], 'pk_attr': 'id', 'table_description': 'One verified delivery from a partner, stored before the partner hears 2xx.'},
        ),
        ops.AddField(
            model_name='PartnerInbox',
            name='business_key',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddConstraint(
            model_name='PartnerInbox',
            constraint=UniqueConstraint(fields=('partner_id', 'business_key'), name=None),
        ),
        ops.AlterModelOptions(
            name='PartnerSecret',
            options={'table': 'partner_secrets', 'app': 'milesgate', 'pk_attr': 'id', 'table_description': "A partner's Standard Webhooks signing secret, encrypted at rest (ciphertext)."},
        ),
        ops.AlterField(
            model_name='PartnerSecret',
            name='secret',
            field=fields.CharField(null=True, max_length=120),
        ),
        ops.AddField(
            model_name='PartnerSecret',
            name='ciphertext',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='PartnerSecret',
            name='expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='PartnerSecret',
            name='fingerprint',
            field=fields.CharField(default='', db_default='', max_length=16),
        ),
        ops.AddField(
            model_name='PartnerSecret',
            name='label',
            field=fields.CharField(default='', db_default='', max_length=64),
        ),
        ops.AddField(
            model_name='PartnerSecret',
            name='revoked_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
