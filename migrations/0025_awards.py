from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.awards.models import AwardBookingState, IdentityPurpose, MilesPayState
from loyalty.earning.model import Cabin
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# award_bookings (award flights booked with miles or Cash & Miles), identity_checks (the e-mailed codes
# that confirm award searches and bookings), milespay_opt_ins and milespay_debits (MilesPay).

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0023_pending_enrolments')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AwardBooking',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='award_bookings', on_delete=OnDelete.RESTRICT)),
                ('posting', fields.OneToOneField('milesgate.Posting', source_field='posting_id', db_constraint=True, to_field='id', related_name='award_booking', on_delete=OnDelete.RESTRICT)),
                ('ticket_number', fields.CharField(unique=True, max_length=13)),
                ('carrier', fields.CharField(max_length=2)),
                ('flight_number', fields.CharField(max_length=5)),
                ('origin', fields.CharField(max_length=3)),
                ('destination', fields.CharField(max_length=3)),
                ('departure_date', fields.DateField()),
                ('cabin', fields.CharEnumField(description='ECONOMY: ECONOMY\nPREMIUM_ECONOMY: PREMIUM_ECONOMY\nBUSINESS: BUSINESS\nFIRST: FIRST', enum_type=Cabin, max_length=16)),
                ('fare_family', fields.CharField(null=True, max_length=16)),
                ('pricing', fields.CharField(max_length=16)),
                ('price_miles', fields.BigIntField()),
                ('miles', fields.BigIntField()),
                ('cash_eur', fields.DecimalField(max_digits=12, decimal_places=2)),
                ('rule_version', fields.CharField(max_length=40)),
                ('state', fields.CharEnumField(default=AwardBookingState.BOOKED, description='BOOKED: BOOKED\nCANCELLED: CANCELLED', enum_type=AwardBookingState, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'award_bookings', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'id'])], 'pk_attr': 'id', 'table_description': 'An award flight paid with award miles (and, with Cash & Miles, partly in euros).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IdentityCheck',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.CharField(unique=True, max_length=32)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='identity_checks', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharEnumField(description='AWARD_SEARCH: AWARD_SEARCH\nAWARD_BOOKING: AWARD_BOOKING', enum_type=IdentityPurpose, max_length=16)),
                ('code_hash', fields.CharField(max_length=200)),
                ('attempts', fields.IntField(default=0)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'identity_checks', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'expires_at'])], 'pk_attr': 'id', 'table_description': 'A code e-mailed to a member to confirm one award search or booking (DOMAIN.md 2).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MilesPayOptIn',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='milespay_opt_ins', on_delete=OnDelete.CASCADE)),
                ('cap_miles', fields.BigIntField()),
                ('state', fields.CharEnumField(default=MilesPayState.ACTIVE, description='ACTIVE: ACTIVE\nUSED: USED\nOFF: OFF', enum_type=MilesPayState, max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'milespay_opt_ins', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'state'])], 'pk_attr': 'id', 'table_description': "A member's MilesPay choice: the next eligible card transaction is paid with miles, up to the cap."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MilesPayDebit',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='milespay_debits', on_delete=OnDelete.RESTRICT)),
                ('opt_in', fields.ForeignKeyField('milesgate.MilesPayOptIn', source_field='opt_in_id', db_constraint=True, to_field='id', related_name='debits', on_delete=OnDelete.RESTRICT)),
                ('posting', fields.OneToOneField('milesgate.Posting', source_field='posting_id', db_constraint=True, to_field='id', related_name='milespay_debit', on_delete=OnDelete.RESTRICT)),
                ('partner_code', fields.CharField(max_length=32)),
                ('transaction_id', fields.CharField(max_length=100)),
                ('miles', fields.BigIntField()),
                ('eur_value', fields.DecimalField(max_digits=12, decimal_places=2)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'milespay_debits', 'app': 'milesgate', 'unique_together': (('partner_code', 'transaction_id'),), 'indexes': [Index(fields=['account_id', 'created_at'])], 'pk_attr': 'id', 'table_description': "Miles a bank partner's card transaction took under MilesPay (its posting is the debit)."},
            bases=['Model'],
        ),
    ]
