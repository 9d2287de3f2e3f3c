from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

# The statement reads the member entries of one page of postings (account_id, posting_id IN ...). With
# only the (account_id, currency) index that read scanned every entry of the member, so a statement page
# got slower as the history grew; this index keeps it at the page's size.


class Migration(migrations.Migration):
    dependencies = [('milesgate', '0018_restore_sqlite_indexes')]

    initial = False

    operations = [
        ops.AddIndex(model_name='Entry', index=Index(fields=['account_id', 'posting_id'])),
    ]
