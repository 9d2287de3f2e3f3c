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
    code_digits: int
    code_minutes: int
    max_code_attempts: int
    mails_per_address: int


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
class SmsTwoFactorRules:
    code_digits: int
    code_minutes: int
    max_failed_attempts: int
    lockout_minutes: int
    codes_per_challenge: int


@dataclass(frozen=True, slots=True)
class TrustedDeviceRules:
    valid_days: int
    max_per_member: int


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
class CreditCardProtectionRules:
    """Credit-card mileage protection (DOMAIN.md 5)."""

    standard_holding_months: int
    unlimited_grace_months: int


@dataclass(frozen=True, slots=True)
class ConsentRules:
    """The version of the consent texts shown at enrolment (recorded with the enrolment's choice)."""

    enrolment_text_version: str


@dataclass(frozen=True, slots=True)
class ExtraBenefit:
    """More eVouchers for a tier holder whose year counter of ``currency`` reaches ``threshold``."""

    code: str
    tier: str
    currency: str
    threshold: int
    evouchers: int


@dataclass(frozen=True, slots=True)
class StatusRules:
    """Status tiers (DOMAIN.md 4). Tier codes and currency names are the ledger's enum values."""

    tiers: tuple[str, ...]
    valid_until_month: int
    valid_until_years_after: int
    downgrade_years: int
    evoucher_validity_months: int
    thresholds: dict[str, dict[str, int]]
    lifetime_qualifying_points: dict[str, int]
    evouchers_per_qualification: dict[str, int]
    extra_benefits: tuple[ExtraBenefit, ...]

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> StatusRules:
        tiers = tuple(str(tier) for tier in data["tiers"])
        named = {
            *data["thresholds"],
            *data["lifetime_qualifying_points"],
            *data["evouchers_per_qualification"],
        }
        benefits = tuple(ExtraBenefit(**item) for item in data.get("extra_benefits", []))
        unknown = (named | {benefit.tier for benefit in benefits}) - set(tiers)
        if unknown:
            raise ValueError(f"status rules name unknown tiers: {sorted(unknown)}")
        if not 1 <= int(data["valid_until_month"]) <= 12:
            raise ValueError("status.valid_until_month is a month number (1-12)")
        return cls(
            tiers=tiers,
            valid_until_month=int(data["valid_until_month"]),
            valid_until_years_after=int(data["valid_until_years_after"]),
            downgrade_years=int(data["downgrade_years"]),
            evoucher_validity_months=int(data["evoucher_validity_months"]),
            thresholds={tier: dict(amounts) for tier, amounts in data["thresholds"].items()},
            lifetime_qualifying_points=dict(data["lifetime_qualifying_points"]),
            evouchers_per_qualification=dict(data["evouchers_per_qualification"]),
            extra_benefits=benefits,
        )


@dataclass(frozen=True, slots=True)
class BoardingPassRules:
    """Boarding passes (DOMAIN.md 6.1): how old a flight may be, and what an uploaded picture may be."""

    max_age_months: int
    image_max_bytes: int
    image_max_pixels: int
    image_formats: tuple[str, ...]
    scans_per_minute: int


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
    invitation_valid_days: int
    eligible_countries: frozenset[str]

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> PoolingRules:
        countries = frozenset(str(code).upper() for code in data["eligible_countries"])
        return cls(**{**data, "eligible_countries": countries})


@dataclass(frozen=True, slots=True)
class RetroCreditRules:
    """Retroactive credit of flights (DOMAIN.md 6): the window, the partners' waiting period, documents."""

    window_months: int
    partner_wait_days: int
    group_carriers: frozenset[str]
    boarding_pass_required_carriers: frozenset[str]
    partner_data_wait_days: int
    name_titles: frozenset[str]
    compartment_cabins: dict[str, str]
    """Boarding-pass compartment code -> cabin name (ECONOMY for codes not listed)."""

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> RetroCreditRules:
        compartments = {
            str(code).upper(): str(cabin)
            for cabin, codes in data["compartment_cabins"].items()
            for code in codes
        }
        return cls(
            window_months=int(data["window_months"]),
            partner_wait_days=int(data["partner_wait_days"]),
            group_carriers=frozenset(str(code).upper() for code in data["group_carriers"]),
            boarding_pass_required_carriers=frozenset(
                str(code).upper() for code in data["boarding_pass_required_carriers"]
            ),
            partner_data_wait_days=int(data["partner_data_wait_days"]),
            name_titles=frozenset(str(title).upper() for title in data["name_titles"]),
            compartment_cabins=compartments,
        )

    def is_group_carrier(self, carrier: str) -> bool:
        return carrier.upper() in self.group_carriers


@dataclass(frozen=True, slots=True)
class PhotoCreditRules:
    """Receipt photos for photo credit (DOMAIN.md 6): size, pixel and format limits, uploads per minute."""

    image_max_bytes: int
    image_max_pixels: int
    image_formats: tuple[str, ...]
    uploads_per_minute: int


@dataclass(frozen=True, slots=True)
class MilesToStatusRules:
    """Miles to status (DOMAIN.md 3.4): credit-card holders with the feature turn award miles into Points and
    Qualifying Points, once per calendar year, in packages, from miles earned with the card."""

    package_miles: int
    points_per_package: int
    qualifying_points_per_package: int
    max_miles_per_year: int
    counted_years: int
    """Card miles of this many calendar years count: the current one and the ones before it."""

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> MilesToStatusRules:
        rules = cls(**{key: int(value) for key, value in data.items()})
        if rules.package_miles <= 0 or rules.max_miles_per_year % rules.package_miles:
            raise ValueError("miles_to_status.max_miles_per_year is a whole number of packages")
        if rules.counted_years < 1:
            raise ValueError("miles_to_status.counted_years counts the current year at least")
        return rules

    def packages_for(self, miles: int) -> int:
        """Whole packages in ``miles`` (what is left over stays award miles)."""
        return miles // self.package_miles


@dataclass(frozen=True, slots=True)
class StatusStarsRules:
    """Status Stars of the old programme (DOMAIN.md 4): points earned by ``earned_by`` convert to lifetime
    Qualifying Points; a member's stars give a lifetime tier."""

    earned_by: dt.date
    qualifying_points_per_star_point: int
    max_stars: int
    lifetime_tier_by_stars: dict[int, str]
    """Stars -> lifetime tier code (FTL, SEN); fewer stars than any listed give none."""

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> StatusStarsRules:
        return cls(
            earned_by=data["earned_by"],
            qualifying_points_per_star_point=int(data["qualifying_points_per_star_point"]),
            max_stars=int(data["max_stars"]),
            lifetime_tier_by_stars={
                int(stars): str(tier) for stars, tier in data["lifetime_tier_by_stars"].items()
            },
        )

    def lifetime_tier(self, stars: int) -> str | None:
        """The lifetime tier ``stars`` give (the one of the most stars listed not above them)."""
        listed = [count for count in self.lifetime_tier_by_stars if count <= stars]
        return self.lifetime_tier_by_stars[max(listed)] if listed else None


@dataclass(frozen=True, slots=True)
class ProgrammeRules:
    version: str
    identifiers: IdentifierRules
    pin: PinRules
    enrolment: EnrolmentRules
    sign_in: SignInRules
    two_factor: TwoFactorRules
    sms_two_factor: SmsTwoFactorRules
    trusted_devices: TrustedDeviceRules
    cards: CardRules
    expiry: ExpiryRules
    redemption: RedemptionRules
    status: StatusRules
    credit_card_protection: CreditCardProtectionRules
    consents: ConsentRules
    boarding_pass: BoardingPassRules
    pooling: PoolingRules
    retro_credit: RetroCreditRules
    photo_credit: PhotoCreditRules
    miles_to_status: MilesToStatusRules
    status_stars: StatusStarsRules

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> ProgrammeRules:
        return cls(
            version=str(data["version"]),
            identifiers=IdentifierRules(**data["identifiers"]),
            pin=PinRules(**data["pin"]),
            enrolment=EnrolmentRules(**data["enrolment"]),
            sign_in=SignInRules(**data["sign_in"]),
            two_factor=TwoFactorRules(**data["two_factor"]),
            sms_two_factor=SmsTwoFactorRules(**data["sms_two_factor"]),
            trusted_devices=TrustedDeviceRules(**data["trusted_devices"]),
            cards=CardRules(**data["cards"]),
            expiry=ExpiryRules(**data["expiry"]),
            redemption=RedemptionRules(**data["redemption"]),
            status=StatusRules.from_mapping(data["status"]),
            credit_card_protection=CreditCardProtectionRules(**data["credit_card_protection"]),
            consents=ConsentRules(**data["consents"]),
            boarding_pass=BoardingPassRules(
                **{**data["boarding_pass"], "image_formats": tuple(data["boarding_pass"]["image_formats"])}
            ),
            pooling=PoolingRules.from_mapping(data["pooling"]),
            retro_credit=RetroCreditRules.from_mapping(data["retro_credit"]),
            photo_credit=PhotoCreditRules(
                **{**data["photo_credit"], "image_formats": tuple(data["photo_credit"]["image_formats"])}
            ),
            miles_to_status=MilesToStatusRules.from_mapping(data["miles_to_status"]),
            status_stars=StatusStarsRules.from_mapping(data["status_stars"]),
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
