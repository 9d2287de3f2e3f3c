from gateway.migration_ops import StateOnlyAlterField
from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.auth.models import SmsCodePurpose
from loyalty.lounges.admission import Facility, Refusal
from loyalty.members.models import Tier
from loyalty.notifications.models import Channel
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# lounge_checks: every lounge and Fast Lane check a partner asked for (DOMAIN.md 10), unique per partner
# and request id. sms_factors, sms_codes: the SMS second factor and its codes (kept as keyed hashes).
# trusted_devices: devices whose sign-ins skip the second factor (token kept as SHA-256).
# notifications.channel: SMS joins EMAIL and PUSH (a new value that fits: recorded in the state only).

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0025_awards')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LoungeCheck',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_id', fields.BigIntField(null=True)),
                ('partner_id', fields.BigIntField()),
                ('request_id', fields.CharField(max_length=128)),
                ('facility', fields.CharEnumField(description='FIRST_CLASS_LOUNGE: FIRST_CLASS_LOUNGE\nFIRST_CLASS_TERMINAL: FIRST_CLASS_TERMINAL\nSENATOR_LOUNGE: SENATOR_LOUNGE\nBUSINESS_LOUNGE: BUSINESS_LOUNGE\nFAST_LANE: FAST_LANE', enum_type=Facility, max_length=24)),
                ('airport', fields.CharField(max_length=3)),
                ('service_card_number', fields.CharField(max_length=32)),
                ('flight', fields.CharField(null=True, max_length=12)),
                ('flight_date', fields.DateField(null=True)),
                ('cabin', fields.CharField(null=True, max_length=20)),
                ('fare_family', fields.CharField(null=True, max_length=20)),
                ('tier', fields.CharEnumField(null=True, description='BASE: BASE\nFTL: FTL\nSEN: SEN\nHON: HON', enum_type=Tier, max_length=8)),
                ('admitted', fields.BooleanField()),
                ('ground', fields.CharField(null=True, max_length=40)),
                ('reason', fields.CharEnumField(null=True, description='CARD_NOT_FOUND: CARD_NOT_FOUND\nCARD_BLOCKED: CARD_BLOCKED\nBOARDING_PASS_INVALID: BOARDING_PASS_INVALID\nNAME_MISMATCH: NAME_MISMATCH\nNOT_DEPARTING_HERE: NOT_DEPARTING_HERE\nWRONG_DAY: WRONG_DAY\nCARRIER_NOT_ELIGIBLE: CARRIER_NOT_ELIGIBLE\nBASIC_FARE: BASIC_FARE\nNO_PRIVILEGE: NO_PRIVILEGE', enum_type=Refusal, max_length=24)),
                ('rules_version', fields.CharField(max_length=20)),
                ('checked_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'lounge_checks', 'app': 'milesgate', 'unique_together': (('partner_id', 'request_id'),), 'indexes': [Index(fields=['account_id', 'checked_at'])], 'pk_attr': 'id', 'table_description': 'One privilege check: who, where, which flight, and the answer with its ground or reason.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SmsCode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='sms_codes', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharEnumField(description='SETUP: SETUP\nSIGN_IN: SIGN_IN', enum_type=SmsCodePurpose, max_length=8)),
                ('challenge_id', fields.CharField(null=True, max_length=64)),
                ('code_hash', fields.CharField(max_length=64)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'sms_codes', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A code sent by SMS, kept as a keyed hash: for setting the factor up, or for one sign-in challenge.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SmsFactor',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.OneToOneField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='sms_factor', on_delete=OnDelete.CASCADE)),
                ('phone_number', fields.CharField(max_length=16)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failed_attempts', fields.IntField(default=0)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'sms_factors', 'app': 'milesgate', 'pk_attr': 'id', 'table_description': 'The SMS second factor (DOMAIN.md 2): a mobile number that gets a code per sign-in.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TrustedDevice',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='trusted_devices', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=80)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'trusted_devices', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'revoked_at'])], 'pk_attr': 'id', 'table_description': 'A device the member trusts: signing in on it skips the second factor until its trust expires.'},
            bases=['Model'],
        ),
        StateOnlyAlterField(
            model_name='Notification',
            name='channel',
            field=fields.CharEnumField(description='EMAIL: EMAIL\nPUSH: PUSH\nSMS: SMS', enum_type=Channel, max_length=8),
        ),
    ]
