from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.rewards.models import RedemptionState
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0003_ledger_double_entry_lots')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Redemption',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='redemptions', on_delete=OnDelete.RESTRICT)),
                ('reward_code', fields.CharField(max_length=60)),
                ('miles', fields.BigIntField()),
                ('posting', fields.OneToOneField('milesgate.Posting', source_field='posting_id', db_constraint=True, to_field='id', related_name='redemption', on_delete=OnDelete.RESTRICT)),
                ('state', fields.CharEnumField(default=RedemptionState.REDEEMED, description='REDEEMED: REDEEMED\nCANCELLED: CANCELLED', enum_type=RedemptionState, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'redemptions', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A catalogue reward bought with award miles. Its posting is the miles debit (source REDEMPTION).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RewardGoal',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.OneToOneField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='reward_goal', on_delete=OnDelete.RESTRICT)),
                ('reward_code', fields.CharField(max_length=60)),
                ('set_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'reward_goals', 'app': 'milesgate', 'pk_attr': 'id', 'table_description': 'The reward a member saves towards (one per member). Progress is the award-miles balance against it.'},
            bases=['Model'],
        ),
    ]
