"""Reading a boarding pass from its barcode string."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import boarding_passes
from schema.boarding_passes.types import BoardingPass, BoardingPassResult
from schema.context import Info
from schema.fields import result_field


@strawberry.type
class BoardingPassQueries:
    @result_field(
        description="Read a bar-coded boarding pass (IATA format M, 1 to 4 legs) from its barcode string, as a "
        "scanner or POST /boarding-passes/scan returns it. Each leg's date gets its year inferred; a flight "
        "more than 6 months back is refused (BOARDING_PASS_TOO_OLD)."
    )
    def boarding_pass(
        self,
        info: Info,
        data: Annotated[str, strawberry.argument(description="The barcode's string, starting with M.")],
    ) -> BoardingPassResult:
        return BoardingPass.from_domain(boarding_passes.boarding_pass(data=data, rules=info.context.rules))
