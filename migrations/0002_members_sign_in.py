from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.auth.models import ResetPurpose
from loyalty.members.models import CardOrderReason, SessionLevel, SupportCaseKind, SupportCaseState
from loyalty.notifications.models import Channel, NotificationState
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CardOrder',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='card_orders', on_delete=OnDelete.RESTRICT)),
                ('card', fields.ForeignKeyField('milesgate.ServiceCard', source_field='card_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.RESTRICT)),
                ('reason', fields.CharEnumField(description='ACHIEVED: ACHIEVED\nRENEWED: RENEWED\nLIFETIME: LIFETIME', enum_type=CardOrderReason, max_length=12)),
                ('ship_on', fields.DateField()),
                ('activate_on', fields.DateField()),
                ('shipped_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'card_orders', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A physical status card to produce (DOMAIN.md 9): achieved ships now, renewed before expiry.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LinkedIdentity',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='identities', on_delete=OnDelete.CASCADE)),
                ('issuer', fields.CharField(max_length=255)),
                ('subject', fields.CharField(max_length=255)),
                ('linked_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_sign_in_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'linked_identities', 'app': 'milesgate', 'unique_together': (('issuer', 'subject'), ('account_id', 'issuer')), 'pk_attr': 'id', 'table_description': 'An external OpenID identity (Travel ID) linked to one member. One issuer and subject, one member.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_id', fields.BigIntField(null=True)),
                ('channel', fields.CharEnumField(description='EMAIL: EMAIL\nPUSH: PUSH', enum_type=Channel, max_length=8)),
                ('recipient', fields.CharField(max_length=254)),
                ('template', fields.CharField(max_length=64)),
                ('language', fields.CharField(default='en', max_length=8)),
                ('payload', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('state', fields.CharEnumField(default=NotificationState.PENDING, description='PENDING: PENDING\nSENT: SENT\nFAILED: FAILED', enum_type=NotificationState, max_length=8)),
                ('attempts', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notifications', 'app': 'milesgate', 'indexes': [Index(fields=['state', 'created_at']), Index(fields=['account_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One message to one member. A sender delivers it and marks it sent (development: a sink file).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RecoveryCode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='recovery_codes', on_delete=OnDelete.CASCADE)),
                ('code_hash', fields.CharField(max_length=200)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'recovery_codes', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'used_at'])], 'pk_attr': 'id', 'table_description': 'A one-time code that stands in for the authenticator app. Shown once, kept as a hash.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RefreshToken',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='refresh_tokens', on_delete=OnDelete.CASCADE)),
                ('family', fields.CharField(db_index=True, max_length=32)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('level_granted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('client_platform', fields.CharField(default='web', max_length=16)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'refresh_tokens', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'revoked_at'])], 'pk_attr': 'id', 'table_description': 'A refresh token, stored as a hash. Each use rotates it within its family. Reuse revokes the family.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ResetToken',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='reset_tokens', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharEnumField(description='PIN: PIN\nPASSWORD: PASSWORD', enum_type=ResetPurpose, max_length=12)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'reset_tokens', 'app': 'milesgate', 'pk_attr': 'id', 'table_description': 'A one-time token, sent through the notification outbox, to set a new PIN or password.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SignInRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='sign_ins', on_delete=OnDelete.CASCADE)),
                ('method', fields.CharField(max_length=24)),
                ('platform', fields.CharField(max_length=16)),
                ('level', fields.CharEnumField(description='IDENTIFIED: IDENTIFIED\nAUTHENTICATED: AUTHENTICATED', enum_type=SessionLevel, max_length=16)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'sign_in_records', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'at'])], 'pk_attr': 'id', 'table_description': 'Which session level a sign-in reached, from which platform (first app sign-in bonus, audits).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SupportCase',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('reference', fields.CharField(unique=True, max_length=20)),
                ('kind', fields.CharEnumField(description='LOST_SERVICE_CARD_NUMBER: LOST_SERVICE_CARD_NUMBER', enum_type=SupportCaseKind, max_length=40)),
                ('state', fields.CharEnumField(default=SupportCaseState.OPEN, description='OPEN: OPEN\nRESOLVED: RESOLVED\nREJECTED: REJECTED', enum_type=SupportCaseState, max_length=12)),
                ('account_id', fields.BigIntField(null=True)),
                ('contact_email', fields.CharField(max_length=254)),
                ('details', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('resolution', fields.CharField(null=True, max_length=500)),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'support_cases', 'app': 'milesgate', 'indexes': [Index(fields=['state', 'opened_at'])], 'pk_attr': 'id', 'table_description': 'A request the service team handles by hand, e.g. a lost service card number with an ID copy.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TotpFactor',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.OneToOneField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='totp', on_delete=OnDelete.CASCADE)),
                ('secret_encrypted', fields.CharField(max_length=400)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_used_step', fields.BigIntField(default=0)),
                ('failed_attempts', fields.IntField(default=0)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'totp_factors', 'app': 'milesgate', 'pk_attr': 'id', 'table_description': 'An authenticator-app second factor (RFC 6238). The secret is encrypted with the service key.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Member',
            name='failed_sign_ins',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Member',
            name='password_hash',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='Member',
            name='sign_in_locked_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Member',
            name='user_id',
            field=fields.CharField(null=True, unique=True, max_length=40),
        ),
    ]
