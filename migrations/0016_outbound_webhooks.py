from tortoise import migrations
from gateway.migration_ops import StateOnlyAlterField
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from webhooks.outbound.models import DeliveryState, EndpointState
from tortoise import fields
from tortoise.indexes import Index
from webhooks.models import InboxState

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0015_partner_capabilities_backfill')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OperationalEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=64)),
                ('subject', fields.CharField(max_length=200)),
                ('detail', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('acknowledged_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'operational_events', 'app': 'milesgate', 'indexes': [Index(fields=['acknowledged_at', 'id'])], 'pk_attr': 'id', 'table_description': 'Something operators must act on (an endpoint disabled after failing for days, say).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboundMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('webhook_id', fields.CharField(unique=True, max_length=64)),
                ('event_type', fields.CharField(max_length=64)),
                ('payload', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('account_id', fields.BigIntField(null=True)),
                ('partner_id', fields.BigIntField(null=True)),
                ('domain_event_id', fields.BigIntField(null=True, unique=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbound_messages', 'app': 'milesgate', 'pk_attr': 'id', 'table_description': 'One event we send to partners: the same webhook id and body on every attempt and every endpoint.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PartnerEndpoint',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('partner', fields.ForeignKeyField('milesgate.Partner', source_field='partner_id', db_constraint=True, to_field='id', related_name='endpoints', on_delete=OnDelete.CASCADE)),
                ('url', fields.CharField(max_length=500)),
                ('description', fields.CharField(default='', max_length=200)),
                ('event_types_text', fields.CharField(source_field='event_types', max_length=500)),
                ('secret_ciphertext', fields.TextField(unique=False)),
                ('secret_fingerprint', fields.CharField(max_length=16)),
                ('state', fields.CharEnumField(default=EndpointState.ENABLED, description='ENABLED: enabled\nDISABLED: disabled', enum_type=EndpointState, max_length=16)),
                ('disabled_reason', fields.CharField(null=True, max_length=200)),
                ('disabled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failing_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('rate_limit_per_s', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'partner_endpoints', 'app': 'milesgate', 'pk_attr': 'id', 'table_description': "A partner's URL for our events, with the event types it subscribed to."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboundDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message', fields.ForeignKeyField('milesgate.OutboundMessage', source_field='message_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('endpoint', fields.ForeignKeyField('milesgate.PartnerEndpoint', source_field='endpoint_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('state', fields.CharEnumField(default=DeliveryState.PENDING, description='PENDING: pending\nSUCCEEDED: succeeded\nFAILED: failed', enum_type=DeliveryState, max_length=16)),
                ('step', fields.IntField(default=0)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('leased_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_status', fields.IntField(null=True)),
                ('last_error', fields.CharField(null=True, max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbound_deliveries', 'app': 'milesgate', 'unique_together': (('message_id', 'endpoint_id'),), 'indexes': [Index(fields=['state', 'next_attempt_at']), Index(fields=['endpoint_id', 'state'])], 'pk_attr': 'id', 'table_description': 'One message to one endpoint: its state and when it is next tried.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeliveryAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('delivery', fields.ForeignKeyField('milesgate.OutboundDelivery', source_field='delivery_id', db_constraint=True, to_field='id', related_name='attempt_rows', on_delete=OnDelete.CASCADE)),
                ('attempted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status_code', fields.IntField(null=True)),
                ('response_excerpt', fields.CharField(default='', max_length=300)),
                ('error', fields.CharField(null=True, max_length=300)),
                ('duration_ms', fields.IntField(default=0)),
            ],
            options={'table': 'outbound_attempts', 'app': 'milesgate', 'pk_attr': 'id', 'table_description': 'One HTTP attempt of a delivery: what came back (status, a bounded excerpt of the body) and how long it took.'},
            bases=['Model'],
        ),
        StateOnlyAlterField(
            model_name='PartnerInbox',
            name='state',
            field=fields.CharEnumField(default=InboxState.PENDING, description='PENDING: pending\nPROCESSED: processed\nFAILED: failed\nUNMATCHED: unmatched', enum_type=InboxState, max_length=16),
        ),
        ops.AddField(
            model_name='PartnerInbox',
            name='next_attempt_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
