from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.pooling.models import MembershipState, PoolRole, PoolState
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0012_offers')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Pool',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('founder', fields.ForeignKeyField('milesgate.Member', source_field='founder_id', db_constraint=True, to_field='id', related_name='founded_pools', on_delete=OnDelete.RESTRICT)),
                ('state', fields.CharEnumField(default=PoolState.ACTIVE, description='ACTIVE: ACTIVE\nDISSOLVED: DISSOLVED', enum_type=PoolState, max_length=12)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('dissolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'pools', 'app': 'milesgate', 'indexes': [Index(fields=['founder_id', 'state'])], 'pk_attr': 'id', 'table_description': 'A mileage pool, founded by an adult. The founder invites and removes members.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PoolMembership',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('pool', fields.ForeignKeyField('milesgate.Pool', source_field='pool_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.RESTRICT)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='pool_memberships', on_delete=OnDelete.RESTRICT)),
                ('role', fields.CharEnumField(description='ADULT: ADULT\nCHILD: CHILD', enum_type=PoolRole, max_length=8)),
                ('state', fields.CharEnumField(description='INVITED: INVITED\nACCEPTED: ACCEPTED\nCOMBINED: COMBINED\nDECLINED: DECLINED\nWITHDRAWN: WITHDRAWN\nLEFT: LEFT\nREMOVED: REMOVED\nDISSOLVED: DISSOLVED', enum_type=MembershipState, max_length=12)),
                ('seat_account_id', fields.BigIntField(null=True, unique=True)),
                ('invited_by_account_id', fields.BigIntField(null=True)),
                ('invited_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('responded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('combines_on', fields.DateField(null=True)),
                ('left_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('blocked_until', fields.DateField(null=True)),
            ],
            options={'table': 'pool_memberships', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'state']), Index(fields=['pool_id', 'state']), Index(fields=['account_id', 'blocked_until'])], 'pk_attr': 'id', 'table_description': 'One member in one pool, from the invitation on. A member holds at most one place at a time.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PooledRedemptionPosting',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('redemption', fields.ForeignKeyField('milesgate.Redemption', source_field='redemption_id', db_constraint=True, to_field='id', related_name='pooled_postings', on_delete=OnDelete.RESTRICT)),
                ('pool_id', fields.BigIntField()),
                ('posting', fields.OneToOneField('milesgate.Posting', source_field='posting_id', db_constraint=True, to_field='id', related_name='pooled_redemption_posting', on_delete=OnDelete.RESTRICT)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='pooled_redemption_postings', on_delete=OnDelete.RESTRICT)),
                ('miles', fields.BigIntField()),
            ],
            options={'table': 'pooled_redemption_postings', 'app': 'milesgate', 'indexes': [Index(fields=['pool_id', 'redemption_id']), Index(fields=['account_id', 'redemption_id'])], 'pk_attr': 'id', 'table_description': "One contributing member's debit of a pooled redemption (DOMAIN.md 7), one row per member."},
            bases=['Model'],
        ),
    ]
