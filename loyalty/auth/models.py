"""Sign-in state: refresh-token families, second factors (app, SMS), recovery codes, trusted devices,
linked Travel IDs, resets."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from loyalty.members.models import Member, SessionLevel


class RefreshToken(Model):
    """A refresh token, stored as a hash. Each use rotates it within its family. Reuse revokes the family."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    account_id: int
    family = fields.CharField(max_length=32, db_index=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    level_granted_at = fields.DatetimeField()
    client_platform = fields.CharField(max_length=16, default="web")
    issued_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_tokens"
        indexes = (("account_id", "revoked_at"),)


class TotpFactor(Model):
    """An authenticator-app second factor (RFC 6238). The secret is encrypted with the service key."""

    id = fields.BigIntField(primary_key=True)
    account: fields.OneToOneRelation[Member] = fields.OneToOneField(
        "milesgate.Member", related_name="totp", on_delete=fields.CASCADE
    )
    account_id: int
    secret_encrypted = fields.CharField(max_length=400)
    confirmed_at = fields.DatetimeField(null=True)
    last_used_step = fields.BigIntField(default=0)
    failed_attempts = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "totp_factors"


class RecoveryCode(Model):
    """A one-time code that stands in for the authenticator app. Shown once, kept as a hash."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="recovery_codes", on_delete=fields.CASCADE
    )
    account_id: int
    code_hash = fields.CharField(max_length=200)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "recovery_codes"
        indexes = (("account_id", "used_at"),)


class CompletedChallenge(Model):
    """A second-factor challenge that completed a sign-in: each one completes once.

    Written in the transaction that accepts the code (and spends a recovery code or a time step), so a
    challenge used already is refused before anything is spent. Rows past their expiry are cleared.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="completed_challenges", on_delete=fields.CASCADE
    )
    account_id: int
    challenge_id = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    completed_at = fields.DatetimeField()

    class Meta:
        table = "completed_challenges"
        indexes = (("account_id", "expires_at"),)


class LinkedIdentity(Model):
    """An external OpenID identity (Travel ID) linked to one member. One issuer and subject, one member."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="identities", on_delete=fields.CASCADE
    )
    account_id: int
    issuer = fields.CharField(max_length=255)
    subject = fields.CharField(max_length=255)
    linked_at = fields.DatetimeField(auto_now_add=True)
    last_sign_in_at = fields.DatetimeField(null=True)

    class Meta:
        table = "linked_identities"
        unique_together = (("issuer", "subject"), ("account_id", "issuer"))


class ResetPurpose(StrEnum):
    PIN = "PIN"
    PASSWORD = "PASSWORD"  # noqa: S105 - the purpose, not a password


class ResetToken(Model):
    """A one-time token, sent through the notification outbox, to set a new PIN or password."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="reset_tokens", on_delete=fields.CASCADE
    )
    account_id: int
    purpose = fields.CharEnumField(ResetPurpose, max_length=12)
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "reset_tokens"


class SignInRecord(Model):
    """Which session level a sign-in reached, from which platform (first app sign-in bonus, audits)."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="sign_ins", on_delete=fields.CASCADE
    )
    account_id: int
    method = fields.CharField(max_length=24)
    platform = fields.CharField(max_length=16)
    level = fields.CharEnumField(SessionLevel, max_length=16)
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sign_in_records"
        indexes = (("account_id", "at"),)


class SmsFactor(Model):
    """The SMS second factor (DOMAIN.md 2): a mobile number that gets a code per sign-in.

    Set up like the app factor: unconfirmed until the first code sent to the number comes back. Wrong codes
    count here, and enough of them block the factor for a while."""

    id = fields.BigIntField(primary_key=True)
    account: fields.OneToOneRelation[Member] = fields.OneToOneField(
        "milesgate.Member", related_name="sms_factor", on_delete=fields.CASCADE
    )
    account_id: int
    phone_number = fields.CharField(max_length=16)
    confirmed_at = fields.DatetimeField(null=True)
    failed_attempts = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sms_factors"


class SmsCodePurpose(StrEnum):
    SETUP = "SETUP"
    SIGN_IN = "SIGN_IN"
    DISABLE = "DISABLE"


class SmsCode(Model):
    """A code sent by SMS, kept as a keyed hash: for setting the factor up, or for one sign-in challenge.

    Only the newest unused code of a set-up or challenge counts; it works once, until ``expires_at``. A
    ``DISABLE`` code, sent to the confirmed number, turns the factor off."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="sms_codes", on_delete=fields.CASCADE
    )
    account_id: int
    purpose = fields.CharEnumField(SmsCodePurpose, max_length=8)
    challenge_id = fields.CharField(max_length=64, null=True)
    code_hash = fields.CharField(max_length=64)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sms_codes"
        indexes = (("account_id", "created_at"),)


class TrustedDevice(Model):
    """A device the member trusts: signing in on it skips the second factor until its trust expires.

    The device keeps a random token; only its SHA-256 is stored. Revoked one by one by the member, and all
    together whenever every session ends (sign out everywhere, PIN reset, stolen card, erasure)."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "milesgate.Member", related_name="trusted_devices", on_delete=fields.CASCADE
    )
    account_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=80)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "trusted_devices"
        indexes = (("account_id", "revoked_at"),)
