"""The programme's configurable rules, loaded from a TOML file (defaults ship in ``rules.toml``)."""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DEFAULT_RULES_FILE = Path(__file__).with_name("rules.toml")
RULES_FILE_ENV = "MILESGATE_RULES_FILE"


@dataclass(frozen=True, slots=True)
class IdentifierRules:
    account_number_length: int
    service_card_number_length: int
    legacy_card_number_length: int
    service_card_prefixes: dict[str, str]


@dataclass(frozen=True, slots=True)
class PinRules:
    length: int


@dataclass(frozen=True, slots=True)
class EnrolmentRules:
    minimum_age_years: int
    maximum_name_length: int


@dataclass(frozen=True, slots=True)
class SignInRules:
    max_failed_attempts: int
    lockout_minutes: int
    email_login_registered_after: dt.date
    password_min_length: int
    authenticated_window_minutes: int
    refresh_token_days: int
    first_app_login_bonus_miles: int
    reset_token_minutes: int


@dataclass(frozen=True, slots=True)
class TwoFactorRules:
    digits: int
    period_seconds: int
    valid_window_steps: int
    max_failed_attempts: int
    lockout_minutes: int
    recovery_codes: int
    issuer_name: str


@dataclass(frozen=True, slots=True)
class ExpiryRules:
    """Award-miles validity (DOMAIN.md 5): months from the activity date, then to the end of that quarter."""

    validity_months: int
    fresh_months_after_protection: int
    warning_months: int
    job_batch_size: int


@dataclass(frozen=True, slots=True)
class CardRules:
    renewal_ship_days_before: int


@dataclass(frozen=True, slots=True)
class RedemptionRules:
    """Spending award miles (DOMAIN.md 7): no reward costs fewer than ``minimum_miles``."""

    minimum_miles: int


@dataclass(frozen=True, slots=True)
class PoolingRules:
    """Mileage pooling (DOMAIN.md 7): who may pool, how many, when miles combine, how long leaving blocks."""

    max_adults: int
    max_children: int
    minimum_members: int
    minimum_adults: int
    adult_age_years: int
    child_min_age_years: int
    combine_after_days: int
    block_months_after_leaving: int
    eligible_countries: frozenset[str]

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> PoolingRules:
        countries = frozenset(str(code).upper() for code in data["eligible_countries"])
        return cls(**{**data, "eligible_countries": countries})


@dataclass(frozen=True, slots=True)
class ProgrammeRules:
    version: str
    identifiers: IdentifierRules
    pin: PinRules
    enrolment: EnrolmentRules
    sign_in: SignInRules
    two_factor: TwoFactorRules
    cards: CardRules
    expiry: ExpiryRules
    redemption: RedemptionRules
    pooling: PoolingRules

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> ProgrammeRules:
        return cls(
            version=str(data["version"]),
            identifiers=IdentifierRules(**data["identifiers"]),
            pin=PinRules(**data["pin"]),
            enrolment=EnrolmentRules(**data["enrolment"]),
            sign_in=SignInRules(**data["sign_in"]),
            two_factor=TwoFactorRules(**data["two_factor"]),
            cards=CardRules(**data["cards"]),
            expiry=ExpiryRules(**data["expiry"]),
            redemption=RedemptionRules(**data["redemption"]),
            pooling=PoolingRules.from_mapping(data["pooling"]),
        )


def load_rules(path: Path | None = None) -> ProgrammeRules:
    """Parse a rules file; a missing key or unknown one is an error at start, not at first use."""
    source = path or Path(os.environ.get(RULES_FILE_ENV) or DEFAULT_RULES_FILE)
    with source.open("rb") as handle:
        return ProgrammeRules.from_mapping(tomllib.load(handle))


@cache
def current_rules() -> ProgrammeRules:
    """The rules this process runs with (read once)."""
    return load_rules()
