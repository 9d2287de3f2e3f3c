"""The programme's operators: people of the service and partner-management teams, not members.

An operator is known by name from a short-lived operator token (minted with ``milesgate operators token``);
admin operations (the partner registry) need one, and a member's token is never one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OperatorRole(StrEnum):
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    role: OperatorRole
    token_id: str
