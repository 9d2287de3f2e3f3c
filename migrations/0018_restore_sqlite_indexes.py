from tortoise import migrations
from tortoise.migrations import operations as ops

# Earlier enum changes went through AlterField, which makes SQLite rebuild the table and drop its indexes
# (PostgreSQL alters in place and kept them). Recreate them under the names Tortoise gives them, so on
# PostgreSQL these statements find the index there and do nothing. tests/test_migrations.py now compares
# a migrated SQLite database's indexes with the models', and gateway.migration_ops.StateOnlyAlterField is
# what enum changes use from now on.
RESTORE = (
    'CREATE INDEX IF NOT EXISTS "idx_card_orders_account_47f03f" ON "card_orders" ("account_id", "created_at");'
    'CREATE INDEX IF NOT EXISTS "idx_domain_even_publish_65c77f" ON "domain_events" ("published_at", "id");'
    'CREATE INDEX IF NOT EXISTS "idx_domain_even_account_85e235" ON "domain_events" ("account_id", "id");'
)


class Migration(migrations.Migration):
    dependencies = [('milesgate', '0017_retro_credit')]

    initial = False

    operations = [
        ops.RunSQL(RESTORE, reverse_sql=""),
    ]
