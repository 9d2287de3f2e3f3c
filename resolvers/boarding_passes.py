"""Boarding-pass resolvers: read a pass from its barcode string, dated relative to today."""

from __future__ import annotations

import datetime as dt

from loyalty.bcbp.service import ScannedBoardingPass, read_boarding_pass
from loyalty.rules import ProgrammeRules


def boarding_pass(*, data: str, rules: ProgrammeRules) -> ScannedBoardingPass:
    return read_boarding_pass(data=data, scanned_on=dt.datetime.now(dt.UTC).date(), rules=rules.boarding_pass)
