"""The member mutations' input objects that are not in ``changes.py`` (the PIN and the password)."""

from __future__ import annotations

import strawberry

NEW_PIN = "The new PIN: 6 digits, not trivial (PIN_FORMAT, PIN_TOO_SIMPLE)."
NEW_PASSWORD = "The new password, following the password rules."  # noqa: S105 - a description


@strawberry.input(description="A new PIN.")
class ChangePinInput:
    new_pin: str = strawberry.field(description=NEW_PIN)


@strawberry.input(description="A new password.")
class ChangePasswordInput:
    new_password: str = strawberry.field(description=NEW_PASSWORD)
