"""Arguments the partner operations share."""

from __future__ import annotations

PARTNER_CODE = "The partner's code, e.g. swiss."
