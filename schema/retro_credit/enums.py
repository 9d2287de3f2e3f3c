"""The retro-credit and photo-credit enums as GraphQL sees them."""

from __future__ import annotations

import strawberry

from loyalty.photo_credit.models import ReceiptState
from loyalty.retro_credit.models import RetroCreditChannel, RetroCreditReason, RetroCreditState

__all__ = ["ReceiptState", "RetroCreditChannel", "RetroCreditReason", "RetroCreditState"]

strawberry.enum(
    RetroCreditState,
    description="SUBMITTED, VALIDATING (rules checked), PENDING_PARTNER (waiting for the airline's flown data), "
    "then ACCEPTED (credited) or REJECTED (with a reason).",
)
strawberry.enum(
    RetroCreditReason,
    description="Why a request was rejected: OUT_OF_WINDOW (more than 6 months ago), TOO_EARLY_WAIT_7D (partner "
    "airlines credit within 7 days themselves), NAME_MISMATCH (ticket not in the member's name), "
    "TICKET_NOT_FOUND (the airline has no record of it), ALREADY_CREDITED, NON_ELIGIBLE_FARE (earns nothing), "
    "DOC_REQUIRED (boarding pass needed).",
)
strawberry.enum(
    RetroCreditChannel, description="FORM (typed in) or BOARDING_PASS (scanned or typed barcode)."
)
strawberry.enum(
    ReceiptState, description="SUBMITTED until the partner decides, then APPROVED (credited) or REJECTED."
)
