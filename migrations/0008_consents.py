from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.consents.models import ConsentPurpose
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0007_credit_card_protection')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ConsentRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='consents', on_delete=OnDelete.RESTRICT)),
                ('purpose', fields.CharEnumField(description='ADVERTISING: ADVERTISING\nPERSONALISATION: PERSONALISATION\nPUSH: PUSH\nEMAIL: EMAIL', enum_type=ConsentPurpose, max_length=20)),
                ('given', fields.BooleanField()),
                ('text_version', fields.CharField(max_length=40)),
                ('channel', fields.CharField(default='app', max_length=20)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'consent_records', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'purpose', 'id'])], 'pk_attr': 'id', 'table_description': 'One decision of a member on one purpose, with the version of the text they saw.'},
            bases=['Model'],
        ),
        ops.RunSQL(
            "INSERT INTO consent_records (account_id, purpose, given, text_version, channel, recorded_at) "
            "SELECT id, 'ADVERTISING', advertising_consent, 'before-consent-history', 'migration', created_at "
            "FROM members",
            reverse_sql="DELETE FROM consent_records WHERE channel = 'migration'",
        ),
    ]
