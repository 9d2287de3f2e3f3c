from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

# address_verifications: requestEmailVerification e-mails a code for the member's address (or a new one);
# confirmEmailVerification sets members.email_verified_at (and the new address).

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0027_lounge_checks_sms_trusted_devices')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AddressVerification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.CharField(unique=True, max_length=32)),
                ('account_id', fields.BigIntField()),
                ('email', fields.CharField(max_length=254)),
                ('code_hash', fields.CharField(max_length=200)),
                ('attempts', fields.IntField(default=0)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'address_verifications', 'app': 'milesgate', 'indexes': [Index(fields=['email', 'expires_at']), Index(fields=['account_id', 'created_at'])], 'pk_attr': 'id', 'table_description': "A code e-mailed to verify a member's address."},
            bases=['Model'],
        ),
    ]
