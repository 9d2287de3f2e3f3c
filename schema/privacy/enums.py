"""The privacy and notice enums as GraphQL sees them."""

from __future__ import annotations

import strawberry

from loyalty.notices.models import NoticeSeverity

__all__ = ["NoticeSeverity"]

strawberry.enum(NoticeSeverity, description="INFO, WARNING (e.g. a phishing wave) or CRITICAL.")
