"""The event types partners may send: one JSON Schema per type (``webhooks/schemas``), the capability a
partner needs to send it, and its business key (the partner's own reference that makes a second delivery
of the same business event a duplicate, whatever its webhook id).

Each delivery is checked by a validator compiled once per event type at import (``jsonschema_rs``,
about a microsecond for an accrual). Only when it refuses does ``jsonschema``, the reference
implementation, go over the event again to name the failing path in the answer, and it decides: an event
it finds valid is accepted (``jsonschema`` reads ``pattern`` with Python's ``re.search``, whose ``$`` also
matches before a final newline, where the compiled validator's does not). The answer to any event is
therefore ``jsonschema``'s, as it was before the compiled check; ``tests/webhooks/test_schema_agreement.py``
holds the two to agreement over every event type.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from partners.models import PartnerCapability

SCHEMA_DIR = Path(__file__).parent / "schemas"
BUSINESS_KEY_MAX = 200


class EventRejected(Exception):
    """An event that is not in the catalogue, or does not match its schema."""

    def __init__(self, code: str, message: str, path: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = path


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    capability: PartnerCapability
    validator: Draft202012Validator
    """The reference check: its first error (``best_match``) is the answer to a refused event."""
    fast: jsonschema_rs.Validator
    """The same schema, compiled: every delivery goes through it first."""
    business_key: Callable[[dict[str, Any]], str]
    """From the event's ``data``; prefixed with the type's family so keys of different types never meet."""


def _common() -> dict[str, Any]:
    common: dict[str, Any] = json.loads((SCHEMA_DIR / "common.json").read_text(encoding="utf-8"))
    return common


def _registry() -> Registry[Any]:
    common = _common()
    registry: Registry[Any] = Registry().with_resource(common["$id"], Resource.from_contents(common))
    return registry


def compiled(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    """``schema`` (draft 2020-12, ``$ref`` to the shared definitions) compiled; formats asserted, as the
    reference check's ``FormatChecker`` does; nothing fetched from outside."""
    common = _common()
    return jsonschema_rs.Draft202012Validator(
        schema,
        validate_formats=True,
        registry=jsonschema_rs.Registry([(common["$id"], common)]),
        offline=True,
    )


def _load(name: str, capability: PartnerCapability, key: Callable[[dict[str, Any]], str]) -> EventType:
    schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker())
    return EventType(
        name=name, capability=capability, validator=validator, fast=compiled(schema), business_key=key
    )


CATALOGUE: dict[str, EventType] = {
    event.name: event
    for event in (
        _load("accrual.created", PartnerCapability.ACCRUAL, lambda d: f"accrual:{d['transactionId']}"),
        _load(
            "accrual.reversed", PartnerCapability.ACCRUAL, lambda d: f"reversal:{d['originalTransactionId']}"
        ),
        _load(
            "flight.flown",
            PartnerCapability.FLOWN_DATA,
            lambda d: f"flown:{d['carrier']}{d['flightNumber']}:{d['flightDate']}:{d['ticketNumber']}",
        ),
        _load("receipt.verified", PartnerCapability.PHOTO_CREDIT, lambda d: f"receipt:{d['receiptId']}"),
        _load(
            "card.protection.changed",
            PartnerCapability.CARD_PROTECTION,
            lambda d: f"card-protection:{d['noticeId']}",
        ),
        _load(
            "card.transaction", PartnerCapability.MILESPAY, lambda d: f"card-transaction:{d['transactionId']}"
        ),
    )
}


def _path(error: ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path)


def validate_event(event_type: str, event: dict[str, Any]) -> EventType:
    """The catalogue entry of a valid event; ``EventRejected`` names the first failing path otherwise."""
    entry = CATALOGUE.get(event_type)
    if entry is None:
        raise EventRejected("EVENT_TYPE_UNKNOWN", f"{event_type!r} is not an event type we accept", "type")
    if entry.fast.is_valid(event):
        return entry
    error = best_match(entry.validator.iter_errors(event))
    if error is not None:
        path = _path(error)
        raise EventRejected("PAYLOAD_INVALID", f"{path or 'the event'}: {error.message}"[:500], path)
    return entry


def business_key(entry: EventType, event: dict[str, Any]) -> str:
    return entry.business_key(event["data"])[:BUSINESS_KEY_MAX]
