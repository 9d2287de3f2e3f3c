"""Domain errors: every expected failure has a machine-readable code and, where it applies, the field."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every expected failure of a ``loyalty`` service; nothing was changed when it is raised."""

    code: str = "DOMAIN_ERROR"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class ValidationFailed(DomainError):
    """Input that breaks a programme rule; ``code`` names which one."""

    code = "INVALID"


class NotFound(DomainError):
    code = "NOT_FOUND"


class Conflict(DomainError):
    """The change collides with existing data (for example an e-mail address already enrolled)."""

    code = "CONFLICT"


class InvalidCredentials(DomainError):
    """Same message and code whether or not the account exists."""

    code = "INVALID_CREDENTIALS"
