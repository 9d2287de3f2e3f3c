"""The keys that keep member notifications' secrets (reset codes) out of clear text at rest.

Two keys, both derived from the service's secret key, each for one purpose: one seals the secret values of
a notification's payload in the notifications table until the message is sent (``gateway.db`` installs it
when it opens the database), the other seals each line of the development outbox file. Changing
MILESGATE_SECRET_KEY makes messages still pending with a secret unreadable: they fail instead of being sent.
"""

from __future__ import annotations

from gateway.settings import Settings
from gateway.tokens import derive_key
from loyalty.notifications.service import SecretSealingError
from partners.secret_box import SecretBox, SecretBoxError

NOTIFICATION_PURPOSE = "milesgate notification secrets"
OUTBOX_PURPOSE = "milesgate development outbox"


class NotificationSealer:
    """``loyalty.notifications.service.SecretSealer`` over AES-256-GCM (``partners.secret_box``)."""

    def __init__(self, box: SecretBox) -> None:
        self._box = box

    def seal(self, plaintext: str, *, context: str) -> str:
        return self._box.seal_bound(plaintext, context.encode())

    def open(self, sealed: str, *, context: str) -> str:
        try:
            return self._box.open_bound(sealed, context.encode())
        except SecretBoxError as exc:
            raise SecretSealingError("a notification secret does not open with this key") from exc


def notification_sealer(settings: Settings) -> NotificationSealer:
    return NotificationSealer(SecretBox(derive_key(settings.resolved_secret_key(), NOTIFICATION_PURPOSE)))


def outbox_box(settings: Settings) -> SecretBox:
    """The key of the development outbox file (``gateway.workers.notifications.FileSink``)."""
    return SecretBox(derive_key(settings.resolved_secret_key(), OUTBOX_PURPOSE))
