from tortoise import migrations
from tortoise.migrations import operations as ops
from loyalty.ledger.models import CounterAccount, Currency, ProtectionReason
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

RunPython_noop = ops.RunPython.noop

# Postings written before double entry get their counter entries (the source decides the account).
BACKFILL_COUNTER_ENTRIES = (
    "INSERT INTO counter_entries (posting_id, account_id, counter_account, currency, amount) "
    "SELECT e.posting_id, e.account_id, CASE p.source "
    "WHEN 'PARTNER_ACCRUAL' THEN 'PARTNER_LIABILITY' WHEN 'RETRO_CREDIT' THEN 'PARTNER_LIABILITY' "
    "WHEN 'FIRST_APP_LOGIN_BONUS' THEN 'PROGRAMME_BONUS' WHEN 'PROGRAMME_BONUS' THEN 'PROGRAMME_BONUS' "
    "WHEN 'DEMO' THEN 'PROGRAMME_BONUS' WHEN 'REDEMPTION' THEN 'REDEMPTION' WHEN 'EXPIRY' THEN 'EXPIRY' "
    "ELSE 'ADJUSTMENT' END, e.currency, -e.amount "
    "FROM ledger_entries e JOIN postings p ON p.id = e.posting_id"
)


async def backfill_lots(apps, schema_editor):
    """Lots for award miles posted before lots existed: credits in order, debits taken first-expiring first.

    Debits from that time get no lot allocations (they cannot give miles back to lots).
    """
    import datetime as dt
    from loyalty.ledger.quarters import expiry_date

    client = schema_editor.client
    rows = await client.execute_query_dict(
        "SELECT e.account_id, e.posting_id, e.amount, p.activity_date FROM ledger_entries e "
        "JOIN postings p ON p.id = e.posting_id WHERE e.currency = 'AWARD_MILES' ORDER BY e.account_id, e.id"
    )
    lots: list[list] = []  # [account_id, posting_id, amount, remaining, earned_on, expires_on]
    open_lots: dict[int, list[list]] = {}
    for row in rows:
        account, amount = int(row["account_id"]), int(row["amount"])
        day = row["activity_date"]
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day)[:10])
        mine = open_lots.setdefault(account, [])
        if amount > 0:
            lot = [account, int(row["posting_id"]), amount, amount, day, expiry_date(day, 36)]
            lots.append(lot)
            mine.append(lot)
            continue
        left = -amount
        for lot in sorted(mine, key=lambda item: item[5]):
            taken = min(left, lot[3])
            lot[3] -= taken
            left -= taken
    for account, posting, amount, remaining, earned_on, expires_on in lots:
        await client.execute_script(
            "INSERT INTO lots (posting_id, account_id, amount, remaining, earned_on, expires_on) VALUES "
            f"({int(posting)}, {int(account)}, {int(amount)}, {int(remaining)}, "
            f"'{earned_on.isoformat()}', '{expires_on.isoformat()}')"
        )

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0002_members_sign_in')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CounterEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('posting', fields.ForeignKeyField('milesgate.Posting', source_field='posting_id', db_constraint=True, to_field='id', related_name='counter_entries', on_delete=OnDelete.RESTRICT)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='counter_entries', on_delete=OnDelete.RESTRICT)),
                ('counter_account', fields.CharEnumField(description='PARTNER_LIABILITY: PARTNER_LIABILITY\nPROGRAMME_BONUS: PROGRAMME_BONUS\nREDEMPTION: REDEMPTION\nEXPIRY: EXPIRY\nADJUSTMENT: ADJUSTMENT', enum_type=CounterAccount, max_length=24)),
                ('currency', fields.CharEnumField(description='AWARD_MILES: AWARD_MILES\nPOINTS: POINTS\nQUALIFYING_POINTS: QUALIFYING_POINTS\nHON_CIRCLE_POINTS: HON_CIRCLE_POINTS\nLIFETIME_QUALIFYING_POINTS: LIFETIME_QUALIFYING_POINTS', enum_type=Currency, max_length=32)),
                ('amount', fields.BigIntField()),
            ],
            options={'table': 'counter_entries', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'currency']), Index(fields=['counter_account', 'currency'])], 'pk_attr': 'id', 'table_description': 'The counter account side of a posting. Per posting and currency it is minus the member entries.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ExpiryProtection',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='expiry_protections', on_delete=OnDelete.RESTRICT)),
                ('reason', fields.CharEnumField(description='STATUS: STATUS\nCREDIT_CARD: CREDIT_CARD', enum_type=ProtectionReason, max_length=16)),
                ('starts_on', fields.DateField()),
                ('ends_on', fields.DateField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'expiry_protections', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'starts_on'])], 'pk_attr': 'id', 'table_description': "A period in which a member's miles do not expire (status, or a protecting credit card)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Lot',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('posting', fields.ForeignKeyField('milesgate.Posting', source_field='posting_id', db_constraint=True, to_field='id', related_name='lots', on_delete=OnDelete.RESTRICT)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='lots', on_delete=OnDelete.RESTRICT)),
                ('amount', fields.BigIntField()),
                ('remaining', fields.BigIntField()),
                ('earned_on', fields.DateField()),
                ('expires_on', fields.DateField()),
            ],
            options={'table': 'lots', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'expires_on']), Index(fields=['expires_on', 'remaining'])], 'pk_attr': 'id', 'table_description': 'One award-miles credit. It expires at the end of the quarter in which 36 months from earned_on end.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LotAllocation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('posting', fields.ForeignKeyField('milesgate.Posting', source_field='posting_id', db_constraint=True, to_field='id', related_name='allocations', on_delete=OnDelete.RESTRICT)),
                ('lot', fields.ForeignKeyField('milesgate.Lot', source_field='lot_id', db_constraint=True, to_field='id', related_name='allocations', on_delete=OnDelete.RESTRICT)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='lot_allocations', on_delete=OnDelete.RESTRICT)),
                ('amount', fields.BigIntField()),
            ],
            options={'table': 'lot_allocations', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'posting_id'])], 'pk_attr': 'id', 'table_description': 'How many miles of which lot a debit took, so a reversal can give them back to the same lot.'},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='Entry',
            options={'table': 'ledger_entries', 'app': 'milesgate', 'indexes': [Index(fields=['account_id', 'currency'])], 'pk_attr': 'id', 'table_description': 'The member side of a posting: one currency, one signed amount.'},
        ),
        ops.RunSQL(BACKFILL_COUNTER_ENTRIES, reverse_sql="DELETE FROM counter_entries"),
        ops.RunPython(backfill_lots, reverse_code=RunPython_noop),
    ]
