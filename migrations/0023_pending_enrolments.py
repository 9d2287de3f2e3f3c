from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

# pending_enrolments: enrolMember writes one (for a known address too) and e-mails a code or a notice;
# confirmEnrolment creates the member. members.email_verified_at: set by that confirmation (NULL for
# members enrolled before addresses were confirmed).

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0022_pool_invitation_expiry_operator_tokens')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PendingEnrolment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.CharField(unique=True, max_length=32)),
                ('email', fields.CharField(max_length=254)),
                ('code_hash', fields.CharField(max_length=200)),
                ('details', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('attempts', fields.IntField(default=0)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'pending_enrolments', 'app': 'milesgate', 'indexes': [Index(fields=['email', 'expires_at'])], 'pk_attr': 'id', 'table_description': 'An enrolment waiting for the code e-mailed to its address.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Member',
            name='email_verified_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
