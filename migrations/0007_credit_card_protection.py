from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.ledger.models import CardProduct
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0006_status_engine')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CreditCard',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='credit_cards', on_delete=OnDelete.RESTRICT)),
                ('partner_code', fields.CharField(max_length=40)),
                ('card_reference', fields.CharField(max_length=64)),
                ('product', fields.CharEnumField(description='STANDARD: STANDARD\nUNLIMITED: UNLIMITED', enum_type=CardProduct, max_length=12)),
                ('issued_on', fields.DateField()),
                ('cancelled_on', fields.DateField(null=True)),
                ('conditions_broken_on', fields.DateField(null=True)),
                ('protection', fields.ForeignKeyField('milesgate.ExpiryProtection', source_field='protection_id', db_constraint=True, to_field='id', related_name='credit_cards', on_delete=OnDelete.RESTRICT)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'credit_cards', 'app': 'milesgate', 'unique_together': (('partner_code', 'card_reference'),), 'pk_attr': 'id', 'table_description': 'A co-branded credit card a bank partner reported, and the protection period it gives.'},
            bases=['Model'],
        ),
    ]
