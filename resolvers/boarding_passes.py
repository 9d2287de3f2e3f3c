"""Boarding-pass resolvers: read a pass from its barcode string, dated relative to today."""

from __future__ import annotations

import datetime as dt

from loyalty.bcbp.model import BoardingPassInvalid as BoardingPassInvalidError
from loyalty.bcbp.service import read_boarding_pass
from loyalty.errors import DomainError
from schema.boarding_passes import BoardingPass, BoardingPassInvalid, BoardingPassResult
from schema.context import Info
from schema.errors import InputError


def boarding_pass(info: Info, data: str) -> BoardingPassResult:
    try:
        scanned = read_boarding_pass(
            data=data, scanned_on=dt.datetime.now(dt.UTC).date(), rules=info.context.rules.boarding_pass
        )
    except BoardingPassInvalidError as invalid:
        return BoardingPassInvalid.from_domain(invalid)
    except DomainError as error:
        return InputError.from_domain(error)
    return BoardingPass.from_domain(scanned)
