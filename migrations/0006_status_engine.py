from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.ledger.models import Currency
from loyalty.members.models import CardOrderReason, Tier
from loyalty.status.models import StatusChange
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

async def backfill_year_counters(apps, schema_editor):
    """Calendar-year counters of the Points, QP and HCP posted before the counters existed."""
    import datetime as dt
    from collections import defaultdict

    client = schema_editor.client
    rows = await client.execute_query_dict(
        "SELECT e.account_id, e.currency, e.amount, p.activity_date FROM ledger_entries e "
        "JOIN postings p ON p.id = e.posting_id "
        "WHERE e.currency IN ('POINTS', 'QUALIFYING_POINTS', 'HON_CIRCLE_POINTS')"
    )
    totals: dict[tuple[int, int, str], int] = defaultdict(int)
    for row in rows:
        day = row["activity_date"]
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day)[:10])
        totals[(int(row["account_id"]), day.year, str(row["currency"]))] += int(row["amount"])
    for (account, year, currency), amount in totals.items():
        await client.execute_script(
            "INSERT INTO year_counters (account_id, year, currency, amount) VALUES "
            f"({int(account)}, {int(year)}, '{currency}', {int(amount)})"
        )


class Migration(migrations.Migration):
    dependencies = [('milesgate', '0005_domain_events')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EVoucher',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='evouchers', on_delete=OnDelete.RESTRICT)),
                ('grant_key', fields.CharField(max_length=80)),
                ('sequence', fields.IntField()),
                ('tier', fields.CharEnumField(description='BASE: BASE\nFTL: FTL\nSEN: SEN\nHON: HON', enum_type=Tier, max_length=8)),
                ('available_from', fields.DateField()),
                ('expires_on', fields.DateField()),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'evouchers', 'app': 'milesgate', 'unique_together': (('account_id', 'grant_key', 'sequence'),), 'pk_attr': 'id', 'table_description': 'An upgrade voucher (DOMAIN.md 3.5), usable from the day the new card is issued until it expires.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MemberStatus',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.OneToOneField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='status', on_delete=OnDelete.RESTRICT)),
                ('tier', fields.CharEnumField(default=Tier.BASE, description='BASE: BASE\nFTL: FTL\nSEN: SEN\nHON: HON', enum_type=Tier, max_length=8)),
                ('valid_until', fields.DateField(null=True)),
                ('since', fields.DateField(null=True)),
                ('qualifying_year', fields.IntField(null=True)),
                ('lifetime_tier', fields.CharEnumField(null=True, description='BASE: BASE\nFTL: FTL\nSEN: SEN\nHON: HON', enum_type=Tier, max_length=8)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'member_statuses', 'app': 'milesgate', 'indexes': [Index(fields=['valid_until', 'tier'])], 'pk_attr': 'id', 'table_description': 'The status a member holds now: tier, until when, and the lifetime tier that is its floor.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatusHistory',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='status_history', on_delete=OnDelete.RESTRICT)),
                ('from_tier', fields.CharEnumField(description='BASE: BASE\nFTL: FTL\nSEN: SEN\nHON: HON', enum_type=Tier, max_length=8)),
                ('to_tier', fields.CharEnumField(description='BASE: BASE\nFTL: FTL\nSEN: SEN\nHON: HON', enum_type=Tier, max_length=8)),
                ('change', fields.CharEnumField(description='ACHIEVED: ACHIEVED\nRENEWED: RENEWED\nLIFETIME: LIFETIME\nDOWNGRADED: DOWNGRADED\nEXPIRED: EXPIRED', enum_type=StatusChange, max_length=12)),
                ('valid_until', fields.DateField(null=True)),
                ('qualifying_year', fields.IntField(null=True)),
                ('effective_on', fields.DateField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'status_history', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One change of the status of a member, with the year whose counters caused it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='YearCounter',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='year_counters', on_delete=OnDelete.RESTRICT)),
                ('year', fields.IntField()),
                ('currency', fields.CharEnumField(description='AWARD_MILES: AWARD_MILES\nPOINTS: POINTS\nQUALIFYING_POINTS: QUALIFYING_POINTS\nHON_CIRCLE_POINTS: HON_CIRCLE_POINTS\nLIFETIME_QUALIFYING_POINTS: LIFETIME_QUALIFYING_POINTS', enum_type=Currency, max_length=32)),
                ('amount', fields.BigIntField(default=0)),
            ],
            options={'table': 'year_counters', 'app': 'milesgate', 'unique_together': (('account_id', 'year', 'currency'),), 'pk_attr': 'id', 'table_description': 'The Points, Qualifying Points or HON Circle Points of one member in one calendar year.'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='CardOrder',
            name='reason',
            field=fields.CharEnumField(description='ACHIEVED: ACHIEVED\nRENEWED: RENEWED\nLIFETIME: LIFETIME\nDOWNGRADED: DOWNGRADED', enum_type=CardOrderReason, max_length=12),
        ),
        ops.RunPython(backfill_year_counters, reverse_code=ops.RunPython.noop),
    ]
