from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0009_privacy_audit_notices')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='DomainEvent',
            options={'table': 'domain_events', 'app': 'milesgate', 'indexes': [Index(fields=['published_at', 'id']), Index(fields=['account_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One event about one member, in commit order by id.'},
        ),
        ops.AddField(
            model_name='DomainEvent',
            name='dispatch_attempts',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='DomainEvent',
            name='dispatch_error',
            field=fields.CharField(null=True, max_length=500),
        ),
        ops.AddField(
            model_name='Notification',
            name='dedupe_key',
            field=fields.CharField(null=True, unique=True, max_length=120),
        ),
    ]
