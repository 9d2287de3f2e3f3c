from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# members.session_generation: raised by every event that ends all of a member's sessions; access tokens
# carry it, so revoking them no longer waits for their expiry. completed_challenges: a sign-in's
# second-factor challenge is claimed in the transaction that accepts its code.

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0019_ledger_entries_by_posting')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CompletedChallenge',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='completed_challenges', on_delete=OnDelete.CASCADE)),
                ('challenge_id', fields.CharField(unique=True, max_length=64)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('completed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'completed_challenges', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'expires_at'])], 'pk_attr': 'id', 'table_description': 'A second-factor challenge that completed a sign-in: each one completes once.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Member',
            name='session_generation',
            field=fields.IntField(default=0, db_default=0),
        ),
    ]
