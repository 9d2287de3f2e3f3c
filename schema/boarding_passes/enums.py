"""The boarding-pass enums as GraphQL sees them."""

from __future__ import annotations

import strawberry

from loyalty.bcbp.images import Symbology

__all__ = ["Symbology"]

strawberry.enum(Symbology, description="The barcode a pass was read from: PDF417, AZTEC or QR_CODE.")
