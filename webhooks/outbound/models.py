"""Outbound webhooks: partner endpoints, the messages we owe them, and every delivery attempt."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from partners.models import Partner


class EndpointState(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """Every attempt of the schedule failed, or the endpoint was disabled: a dead letter until replayed."""


class PartnerEndpoint(Model):
    """A partner's URL for our events, with the event types it subscribed to.

    event_types is a comma-separated list. The signing secret (whsec_) is encrypted at rest with the
    partner secret box. failing_since is the time of the first failed attempt of the current run of
    failures, cleared by a success.
    """

    id = fields.BigIntField(primary_key=True)
    partner: fields.ForeignKeyRelation[Partner] = fields.ForeignKeyField(
        "milesgate.Partner", related_name="endpoints", on_delete=fields.CASCADE
    )
    partner_id: int
    url = fields.CharField(max_length=500)
    description = fields.CharField(max_length=200, default="")
    event_types_text = fields.CharField(max_length=500, source_field="event_types")
    secret_ciphertext = fields.TextField()
    secret_fingerprint = fields.CharField(max_length=16)
    state = fields.CharEnumField(EndpointState, default=EndpointState.ENABLED, max_length=16)
    disabled_reason = fields.CharField(max_length=200, null=True)
    disabled_at = fields.DatetimeField(null=True)
    failing_since = fields.DatetimeField(null=True)
    rate_limit_per_s = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "partner_endpoints"

    @property
    def event_types(self) -> tuple[str, ...]:
        return tuple(item for item in self.event_types_text.split(",") if item)


class OutboundMessage(Model):
    """One event we send to partners: the same webhook id and body on every attempt and every endpoint.

    partner_id set means only that partner hears it (the partner whose accrual or offer it concerns),
    unset means every partner subscribed to the type. domain_event_id ties it to the domain event it
    came from (unique, so a relay that runs twice writes it once).
    """

    id = fields.BigIntField(primary_key=True)
    webhook_id = fields.CharField(max_length=64, unique=True)
    event_type = fields.CharField(max_length=64)
    payload: dict[str, Any] = fields.JSONField()
    account_id = fields.BigIntField(null=True)
    partner_id = fields.BigIntField(null=True)
    domain_event_id = fields.BigIntField(null=True, unique=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "outbound_messages"


class OutboundDelivery(Model):
    """One message to one endpoint: its state and when it is next tried.

    step is the position in the retry schedule (reset by a replay), attempts counts every attempt ever.
    leased_until keeps other senders off a delivery that is being sent.
    """

    id = fields.BigIntField(primary_key=True)
    message: fields.ForeignKeyRelation[OutboundMessage] = fields.ForeignKeyField(
        "milesgate.OutboundMessage", related_name="deliveries", on_delete=fields.CASCADE
    )
    message_id: int
    endpoint: fields.ForeignKeyRelation[PartnerEndpoint] = fields.ForeignKeyField(
        "milesgate.PartnerEndpoint", related_name="deliveries", on_delete=fields.CASCADE
    )
    endpoint_id: int
    state = fields.CharEnumField(DeliveryState, default=DeliveryState.PENDING, max_length=16)
    step = fields.IntField(default=0)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    leased_until = fields.DatetimeField(null=True)
    last_status = fields.IntField(null=True)
    last_error = fields.CharField(max_length=300, null=True)
    created_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbound_deliveries"
        unique_together = (("message_id", "endpoint_id"),)
        indexes = (("state", "next_attempt_at"), ("endpoint_id", "state"))


class DeliveryAttempt(Model):
    """One HTTP attempt of a delivery: what came back (status, a bounded excerpt of the body) and how long it took."""

    id = fields.BigIntField(primary_key=True)
    delivery: fields.ForeignKeyRelation[OutboundDelivery] = fields.ForeignKeyField(
        "milesgate.OutboundDelivery", related_name="attempt_rows", on_delete=fields.CASCADE
    )
    delivery_id: int
    attempted_at = fields.DatetimeField()
    status_code = fields.IntField(null=True)
    response_excerpt = fields.CharField(max_length=300, default="")
    error = fields.CharField(max_length=300, null=True)
    duration_ms = fields.IntField(default=0)

    class Meta:
        table = "outbound_attempts"


class OperationalEvent(Model):
    """Something operators must act on (an endpoint disabled after failing for days, say)."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=64)
    subject = fields.CharField(max_length=200)
    detail: dict[str, Any] = fields.JSONField(default=dict)
    occurred_at = fields.DatetimeField()
    acknowledged_at = fields.DatetimeField(null=True)

    class Meta:
        table = "operational_events"
        indexes = (("acknowledged_at", "id"),)
