"""Encryption at rest for partners' signing secrets (AES-256-GCM); the gateway uses the same box, with a
key of its own, for the secrets of member notifications (``seal_bound`` / ``open_bound``).

The key is handed in by the caller (the gateway derives it from the service's secret key), so nothing
here reads configuration. Each ciphertext is bound to its partner as associated data: a ciphertext
copied to another partner's row does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
NONCE_BYTES = 12


class SecretBoxError(Exception):
    """A stored secret cannot be decrypted with this key (wrong key, or the row was tampered with)."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the secret box needs a 32-byte key")
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, *, partner_id: int) -> str:
        return self.seal_bound(plaintext, _context(partner_id))

    def open(self, ciphertext: str, *, partner_id: int) -> str:
        return self.open_bound(ciphertext, _context(partner_id))

    def seal_bound(self, plaintext: str, context: bytes) -> str:
        """Encrypt ``plaintext`` bound to ``context`` (associated data): it opens with the same only."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context)
        return f"{VERSION}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    def open_bound(self, ciphertext: str, context: bytes) -> str:
        version, _, encoded = ciphertext.partition(":")
        if version != VERSION:
            raise SecretBoxError(f"unknown ciphertext version {version!r}")
        try:
            raw = base64.b64decode(encoded, validate=True)
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context).decode()
        except (InvalidTag, ValueError) as exc:
            raise SecretBoxError("the stored secret does not decrypt with this key") from exc


def _context(partner_id: int) -> bytes:
    return f"milesgate partner {partner_id} signing secret".encode()


def fingerprint(value: str) -> str:
    """A short, stable, non-secret name for a secret or key (the first 12 hex digits of its SHA-256)."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]
