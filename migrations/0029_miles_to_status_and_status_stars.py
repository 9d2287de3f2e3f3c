from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.members.models import Tier
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# Miles to status (DOMAIN.md 3.4): the card miles that count, the exchanges (one per member and year), and
# credit_cards.miles_to_status (the bank reports the feature when it reports the card issued).
# Status Stars (DOMAIN.md 4): each member's import, once.

class Migration(migrations.Migration):
    dependencies = [("milesgate", "0028_address_verifications")]

    initial = False

    operations = [
        ops.CreateModel(
            name='CardMilesCredit',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='card_miles_credits', on_delete=OnDelete.RESTRICT)),
                ('partner_code', fields.CharField(max_length=40)),
                ('posting', fields.OneToOneField('milesgate.Posting', source_field='posting_id', db_constraint=True, to_field='id', related_name='card_miles_credit', on_delete=OnDelete.RESTRICT)),
                ('earned_on', fields.DateField()),
                ('miles', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'card_miles_credits', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'earned_on'])], 'pk_attr': 'id', 'table_description': 'Award miles a bank credited for spend on a co-branded credit card (an accrual of category card_spend).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatusExchange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='status_exchanges', on_delete=OnDelete.RESTRICT)),
                ('year', fields.IntField()),
                ('request_id', fields.CharField(max_length=64)),
                ('packages', fields.IntField()),
                ('miles', fields.BigIntField()),
                ('points', fields.IntField()),
                ('qualifying_points', fields.IntField()),
                ('posting', fields.OneToOneField('milesgate.Posting', source_field='posting_id', db_constraint=True, to_field='id', related_name='status_exchange', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'status_exchanges', 'app': 'milesgate', 'unique_together': (('account_id', 'year'),), 'pk_attr': 'id', 'table_description': 'An exchange of award miles for Points and Qualifying Points, by one member in one calendar year.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatusStarImport',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.OneToOneField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='status_star_import', on_delete=OnDelete.RESTRICT)),
                ('star_points', fields.BigIntField()),
                ('stars', fields.IntField()),
                ('lifetime_qualifying_points', fields.BigIntField()),
                ('lifetime_tier', fields.CharEnumField(null=True, description='BASE: BASE\nFTL: FTL\nSEN: SEN\nHON: HON', enum_type=Tier, max_length=8)),
                ('posting', fields.ForeignKeyField('milesgate.Posting', source_field='posting_id', null=True, db_constraint=True, to_field='id', related_name='status_star_imports', on_delete=OnDelete.RESTRICT)),
                ('imported_by', fields.CharField(max_length=120)),
                ('imported_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'status_star_imports', 'app': 'milesgate', 'pk_attr': 'id', 'table_description': 'The Status Stars of one member as the old programme held them, and what they were converted to.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='CreditCard',
            name='miles_to_status',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
