from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.notices.models import NoticeSeverity
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0008_consents')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.CharField(max_length=120)),
                ('action', fields.CharField(max_length=60)),
                ('account_id', fields.BigIntField(null=True)),
                ('details', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'audit_log', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'id']), Index(fields=['action', 'at'])], 'pk_attr': 'id', 'table_description': 'One recorded action. Kept after an erasure (it names the account id, not the person).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SecurityNotice',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('language', fields.CharField(max_length=8)),
                ('severity', fields.CharEnumField(default=NoticeSeverity.WARNING, description='INFO: INFO\nWARNING: WARNING\nCRITICAL: CRITICAL', enum_type=NoticeSeverity, max_length=10)),
                ('title', fields.CharField(max_length=160)),
                ('body', fields.TextField(unique=False)),
                ('published_by', fields.CharField(max_length=120)),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('withdrawn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'security_notices', 'app': 'milesgate', 'indexes': [Index(fields=['language', 'published_at'])], 'pk_attr': 'id', 'table_description': 'One notice in one language, shown from its publication until it is withdrawn or expires.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Member',
            name='erased_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
