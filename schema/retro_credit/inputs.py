"""The retro-credit mutations' input objects that are not in ``types.py``."""

from __future__ import annotations

import strawberry

BARCODE = "The barcode's string, starting with M."
TICKET_NUMBER = "The 13-digit ticket number, when the pass does not carry it."


@strawberry.input(description="A boarding pass's barcode, whose flights are asked for as retro credit.")
class RetroCreditByBoardingPassInput:
    data: str = strawberry.field(description=BARCODE)
    ticket_number: str | None = strawberry.field(default=None, description=TICKET_NUMBER)
