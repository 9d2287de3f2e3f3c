"""The key that encrypts partners' signing secrets at rest, derived from the service's secret key."""

from __future__ import annotations

from gateway.settings import Settings
from gateway.tokens import derive_key
from partners.secret_box import SecretBox

PURPOSE = "milesgate partner signing secrets"


def partner_secret_box(settings: Settings) -> SecretBox:
    """Changing MILESGATE_SECRET_KEY makes stored secrets unreadable: partners then need new ones."""
    return SecretBox(derive_key(settings.resolved_secret_key(), PURPOSE))
