from tortoise import migrations
from tortoise.migrations import operations as ops

# Partners registered before capabilities existed get their kind's defaults (partners.models.DEFAULT_CAPABILITIES),
# so their deliveries keep being accepted. Signing secrets stored in plain text are encrypted at start-up
# (partners.signing.encrypt_plaintext_secrets): the key comes from the service's secret key, which a migration
# does not have.
BACKFILL_CAPABILITIES = (
    "UPDATE partners SET capabilities = CASE kind "
    "WHEN 'airline' THEN 'accrual,flown_data' "
    "WHEN 'shop' THEN 'accrual,photo_credit' "
    "WHEN 'bank' THEN 'accrual,card_protection' "
    "WHEN 'lounge' THEN 'lounge_checks' "
    "ELSE 'accrual' END "
    "WHERE capabilities = ''"
)


class Migration(migrations.Migration):
    dependencies = [('milesgate', '0014_partner_registry')]

    initial = False

    operations = [
        ops.RunSQL(BACKFILL_CAPABILITIES, reverse_sql="UPDATE partners SET capabilities = ''"),
    ]
