"""Engagement: members' challenge progress, and the monthly quiz with its auditable draw."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from loyalty.members.models import Member


class ChallengeEnrolment(Model):
    """A member taking part in one challenge, whose progress moves with each qualifying ledger event."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="challenges", on_delete=fields.RESTRICT
    )
    account_id: int
    challenge_code = fields.CharField(max_length=60)
    joined_at = fields.DatetimeField()
    progress = fields.BigIntField(default=0)
    partners: list[str] = fields.JSONField(default=list)
    last_event_id = fields.BigIntField(default=0)
    completed_at = fields.DatetimeField(null=True)
    reward_posting_id = fields.BigIntField(null=True)
    badge = fields.CharField(max_length=80, null=True)

    class Meta:
        table = "challenge_enrolments"
        unique_together = (("account_id", "challenge_code"),)
        indexes = (("account_id", "completed_at"),)


class Quiz(Model):
    """The quiz of one month: one question, its options, the right one, and the partner prizes."""

    id = fields.BigIntField(primary_key=True)
    month = fields.CharField(max_length=7, unique=True)
    question = fields.CharField(max_length=300)
    options: list[str] = fields.JSONField()
    correct_option = fields.IntField()
    prizes: list[dict[str, Any]] = fields.JSONField()
    opens_at = fields.DatetimeField()
    closes_at = fields.DatetimeField()
    draw_seed = fields.CharField(max_length=64, null=True)
    drawn_at = fields.DatetimeField(null=True)
    drawn_by = fields.CharField(max_length=120, null=True)

    class Meta:
        table = "quizzes"


class QuizEntry(Model):
    """One member's answer to one month's quiz (one entry per member and month)."""

    id = fields.BigIntField(primary_key=True)
    quiz: fields.ForeignKeyRelation[Quiz] = fields.ForeignKeyField(
        "milesgate.Quiz", related_name="entries", on_delete=fields.RESTRICT
    )
    quiz_id: int
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="quiz_entries", on_delete=fields.RESTRICT
    )
    account_id: int
    answer = fields.IntField()
    correct = fields.BooleanField()
    entered_at = fields.DatetimeField()

    class Meta:
        table = "quiz_entries"
        unique_together = (("quiz_id", "account_id"),)


class QuizWinner(Model):
    """A prize won in a month's draw, in draw order."""

    id = fields.BigIntField(primary_key=True)
    quiz: fields.ForeignKeyRelation[Quiz] = fields.ForeignKeyField(
        "milesgate.Quiz", related_name="winners", on_delete=fields.RESTRICT
    )
    quiz_id: int
    account_id = fields.BigIntField()
    position = fields.IntField()
    prize = fields.CharField(max_length=200)
    partner = fields.CharField(max_length=40)

    class Meta:
        table = "quiz_winners"
        unique_together = (("quiz_id", "position"),)
