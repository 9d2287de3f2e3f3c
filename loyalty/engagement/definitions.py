"""Challenge definitions as data (``challenges.toml``), checked when they are loaded."""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from loyalty.ledger.models import PostingSource

DEFAULT_CHALLENGES_FILE = Path(__file__).with_name("challenges.toml")
CHALLENGES_FILE_ENV = "MILESGATE_CHALLENGES_FILE"


class RuleKind(StrEnum):
    COUNT = "count"
    DISTINCT_PARTNERS = "distinct_partners"
    SUM_MILES = "sum_miles"


class ChallengesInvalid(ValueError):
    """The challenges file breaks a rule; the message names the challenge and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChallengeRule(_Strict):
    kind: RuleKind
    target: int = Field(gt=0)
    sources: tuple[PostingSource, ...] = Field(min_length=1)
    partners: tuple[str, ...] | None = None
    min_miles: int = Field(default=1, ge=0)


class ChallengeReward(_Strict):
    bonus_miles: int = Field(default=0, ge=0)
    badge: str | None = Field(default=None, min_length=1, max_length=80)

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.bonus_miles and not self.badge:
            raise ValueError("a reward gives bonus miles, a badge, or both")
        return self


class Challenge(_Strict):
    code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]{2,59}$")
    title: str = Field(min_length=1, max_length=120)
    starts_on: dt.date
    ends_on: dt.date
    rule: ChallengeRule
    reward: ChallengeReward

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self

    def open_on(self, day: dt.date) -> bool:
        return self.starts_on <= day <= self.ends_on


class Challenges(_Strict):
    challenges: tuple[Challenge, ...]

    @model_validator(mode="after")
    def _unique(self) -> Self:
        codes = [challenge.code for challenge in self.challenges]
        if len(codes) != len(set(codes)):
            raise ValueError("challenge codes must be unique")
        return self

    def get(self, code: str) -> Challenge | None:
        return next((challenge for challenge in self.challenges if challenge.code == code), None)


def parse_challenges(data: Mapping[str, Any]) -> Challenges:
    try:
        return Challenges.model_validate(dict(data))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ChallengesInvalid(f"{where}: {first['msg']}") from None


def load_challenges(path: Path | None = None) -> Challenges:
    source = path or Path(os.environ.get(CHALLENGES_FILE_ENV) or DEFAULT_CHALLENGES_FILE)
    with source.open("rb") as handle:
        return parse_challenges(tomllib.load(handle))


@cache
def current_challenges() -> Challenges:
    return load_challenges()
