from gateway.migration_ops import StateOnlyAlterField
from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.operators import OperatorRole
from loyalty.pooling.models import MembershipState
from tortoise import fields
from tortoise.indexes import Index

# operator_tokens: every minted operator token by its id (jti), so tokens can be listed and revoked.
# pool_memberships.state: EXPIRED, an invitation nobody answered within [pooling] invitation_valid_days
# (a new value that fits the column: the state changes, the table does not).

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0021_wake_on_write')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OperatorToken',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_id', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=64)),
                ('role', fields.CharEnumField(description='ADMIN: admin', enum_type=OperatorRole, max_length=16)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_by', fields.CharField(null=True, max_length=64)),
            ],
            options={'table': 'operator_tokens', 'app': 'milesgate', 'indexes': [Index(fields=['expires_at'])], 'pk_attr': 'id', 'table_description': 'An operator token that was minted: whose, until when, and whether it was revoked.'},
            bases=['Model'],
        ),
        StateOnlyAlterField(
            model_name='PoolMembership',
            name='state',
            field=fields.CharEnumField(description='INVITED: INVITED\nACCEPTED: ACCEPTED\nCOMBINED: COMBINED\nDECLINED: DECLINED\nWITHDRAWN: WITHDRAWN\nEXPIRED: EXPIRED\nLEFT: LEFT\nREMOVED: REMOVED\nDISSOLVED: DISSOLVED', enum_type=MembershipState, max_length=12),
        ),
    ]
