from tortoise import migrations
from gateway.migration_ops import StateOnlyAlterField
from tortoise.migrations import operations as ops
from loyalty.earning.model import Cabin
from loyalty.events.models import EventType
from loyalty.photo_credit.models import ReceiptState
from loyalty.retro_credit.models import RetroCreditChannel, RetroCreditReason, RetroCreditState
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0016_outbound_webhooks')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ReceiptUpload',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_id', fields.BigIntField()),
                ('partner_id', fields.BigIntField()),
                ('partner_code', fields.CharField(max_length=32)),
                ('receipt_id', fields.CharField(unique=True, max_length=40)),
                ('state', fields.CharEnumField(default=ReceiptState.SUBMITTED, description='SUBMITTED: SUBMITTED\nAPPROVED: APPROVED\nREJECTED: REJECTED', enum_type=ReceiptState, max_length=16)),
                ('content_type', fields.CharField(max_length=40)),
                ('size_bytes', fields.IntField()),
                ('sha256', fields.CharField(max_length=64)),
                ('image', fields.BinaryField()),
                ('uploaded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('miles', fields.BigIntField(default=0)),
                ('reason', fields.CharField(default='', max_length=200)),
                ('posting_id', fields.BigIntField(null=True)),
            ],
            options={'table': 'receipt_uploads', 'app': 'milesgate', 'unique_together': (('account_id', 'partner_id', 'sha256'),), 'indexes': [Index(fields=['account_id', 'uploaded_at'])], 'pk_attr': 'id', 'table_description': 'A receipt photo a member uploaded for a shopping partner with photo credit.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RetroCreditRequest',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_id', fields.BigIntField()),
                ('channel', fields.CharEnumField(description='FORM: FORM\nBOARDING_PASS: BOARDING_PASS', enum_type=RetroCreditChannel, max_length=16)),
                ('state', fields.CharEnumField(default=RetroCreditState.SUBMITTED, description='SUBMITTED: SUBMITTED\nVALIDATING: VALIDATING\nPENDING_PARTNER: PENDING_PARTNER\nACCEPTED: ACCEPTED\nREJECTED: REJECTED', enum_type=RetroCreditState, max_length=16)),
                ('reason', fields.CharEnumField(null=True, description='OUT_OF_WINDOW: OUT_OF_WINDOW\nTOO_EARLY_WAIT_7D: TOO_EARLY_WAIT_7D\nNAME_MISMATCH: NAME_MISMATCH\nTICKET_NOT_FOUND: TICKET_NOT_FOUND\nALREADY_CREDITED: ALREADY_CREDITED\nNON_ELIGIBLE_FARE: NON_ELIGIBLE_FARE\nDOC_REQUIRED: DOC_REQUIRED', enum_type=RetroCreditReason, max_length=24)),
                ('reason_text', fields.CharField(default='', max_length=300)),
                ('ticket_number', fields.CharField(max_length=13)),
                ('carrier', fields.CharField(max_length=2)),
                ('flight_number', fields.CharField(max_length=5)),
                ('flight_date', fields.DateField()),
                ('origin', fields.CharField(max_length=3)),
                ('destination', fields.CharField(max_length=3)),
                ('cabin', fields.CharEnumField(description='ECONOMY: ECONOMY\nPREMIUM_ECONOMY: PREMIUM_ECONOMY\nBUSINESS: BUSINESS\nFIRST: FIRST', enum_type=Cabin, max_length=16)),
                ('booking_class', fields.CharField(max_length=1)),
                ('passenger_surname', fields.CharField(default='', max_length=64)),
                ('passenger_given_name', fields.CharField(default='', max_length=64)),
                ('boarding_pass', fields.TextField(null=True, unique=False)),
                ('open_key', fields.CharField(null=True, unique=True, max_length=60)),
                ('submitted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('flown_segment_id', fields.BigIntField(null=True)),
                ('posting_id', fields.BigIntField(null=True)),
                ('award_miles', fields.BigIntField(default=0)),
                ('points', fields.IntField(default=0)),
                ('qualifying_points', fields.IntField(default=0)),
                ('hon_circle_points', fields.IntField(default=0)),
                ('chart_version', fields.CharField(default='', max_length=120)),
                ('transitions', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'retro_credit_requests', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'submitted_at']), Index(fields=['ticket_number', 'carrier', 'flight_number', 'flight_date']), Index(fields=['state', 'submitted_at'])], 'pk_attr': 'id', 'table_description': "A member's request to credit a flight afterwards, checked against the partner's flown data."},
            bases=['Model'],
        ),
        StateOnlyAlterField(
            model_name='DomainEvent',
            name='type',
            field=fields.CharEnumField(description='POSTING_CREATED: ledger.posting.created\nSTATUS_CHANGED: status.changed\nREDEMPTION_CREATED: redemption.created\nREDEMPTION_CANCELLED: redemption.cancelled\nPOOL_CHANGED: pool.changed\nOFFER_ACTIVATED: offer.activated\nRETRO_CREDIT_DECIDED: retro_credit.decided\nRECEIPT_SUBMITTED: photo_credit.receipt_submitted', enum_type=EventType, max_length=40),
        ),
    ]
