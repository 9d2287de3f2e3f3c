from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0010_event_dispatch_notification_dedupe')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ChallengeEnrolment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='challenges', on_delete=OnDelete.RESTRICT)),
                ('challenge_code', fields.CharField(max_length=60)),
                ('joined_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('progress', fields.BigIntField(default=0)),
                ('partners', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('last_event_id', fields.BigIntField(default=0)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reward_posting_id', fields.BigIntField(null=True)),
                ('badge', fields.CharField(null=True, max_length=80)),
            ],
            options={'table': 'challenge_enrolments', 'app': 'milesgate', 'unique_together': (('account_id', 'challenge_code'),), 'indexes': [Index(fields=['account_id', 'completed_at'])], 'pk_attr': 'id', 'table_description': 'A member taking part in one challenge, whose progress moves with each qualifying ledger event.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Quiz',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('month', fields.CharField(unique=True, max_length=7)),
                ('question', fields.CharField(max_length=300)),
                ('options', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('correct_option', fields.IntField()),
                ('prizes', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('opens_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closes_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('draw_seed', fields.CharField(null=True, max_length=64)),
                ('drawn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('drawn_by', fields.CharField(null=True, max_length=120)),
            ],
            options={'table': 'quizzes', 'app': 'milesgate', 'pk_attr': 'id', 'table_description': 'The quiz of one month: one question, its options, the right one, and the partner prizes.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='QuizEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('quiz', fields.ForeignKeyField('milesgate.Quiz', source_field='quiz_id', db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.RESTRICT)),
                ('account', fields.ForeignKeyField('milesgate.Member', source_field='account_id', db_constraint=True, to_field='id', related_name='quiz_entries', on_delete=OnDelete.RESTRICT)),
                ('answer', fields.IntField()),
                ('correct', fields.BooleanField()),
                ('entered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'quiz_entries', 'app': 'milesgate', 'unique_together': (('quiz_id', 'account_id'),), 'pk_attr': 'id', 'table_description': "One member's answer to one month's quiz (one entry per member and month)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='QuizWinner',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('quiz', fields.ForeignKeyField('milesgate.Quiz', source_field='quiz_id', db_constraint=True, to_field='id', related_name='winners', on_delete=OnDelete.RESTRICT)),
                ('account_id', fields.BigIntField()),
                ('position', fields.IntField()),
                ('prize', fields.CharField(max_length=200)),
                ('partner', fields.CharField(max_length=40)),
            ],
            options={'table': 'quiz_winners', 'app': 'milesgate', 'unique_together': (('quiz_id', 'position'),), 'pk_attr': 'id', 'table_description': "A prize won in a month's draw, in draw order."},
            bases=['Model'],
        ),
    ]
