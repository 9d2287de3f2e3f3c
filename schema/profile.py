"""Profile changes: PIN, password, user ID and language. Each needs an AUTHENTICATED session."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.auth import StepUpRequired
from schema.errors import InputError
from schema.members import Member


@strawberry.input(description="Only the fields given change.")
class UpdateProfileInput:
    language: str | None = strawberry.field(default=None, description="Language of messages: en, de, fr, …")
    user_id: str | None = strawberry.field(default=None, description="A new user ID for password sign-in.")


@strawberry.type(description="The profile after the change.")
class ProfileUpdated:
    member: Member = strawberry.field(description="The member after the change.")


@strawberry.type(description="The new secret is set; the service card number and account number stay.")
class SecretChanged:
    changed: bool = strawberry.field(default=True, description="Always true.")


UpdateProfileResult = Annotated[
    ProfileUpdated | StepUpRequired | InputError, strawberry.union("UpdateProfileResult")
]
ChangeSecretResult = Annotated[
    SecretChanged | StepUpRequired | InputError, strawberry.union("ChangeSecretResult")
]
