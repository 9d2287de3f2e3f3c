"""Read a boarding pass from its barcode string or from a picture of it: parse, then date its legs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from loyalty.bcbp.dates import recent_flight_date
from loyalty.bcbp.images import Symbology, decode_barcode_image
from loyalty.bcbp.model import BoardingPass
from loyalty.bcbp.parser import parse_boarding_pass
from loyalty.rules import BoardingPassRules


@dataclass(frozen=True, slots=True)
class ScannedBoardingPass:
    """A parsed pass with each leg's inferred flight date (None where the pass leaves the date blank)."""

    data: str
    boarding_pass: BoardingPass
    flight_dates: tuple[dt.date | None, ...]
    symbology: Symbology | None = None
    """The barcode the pass was read from; None when the string was typed or pasted."""


def read_boarding_pass(
    *, data: str, scanned_on: dt.date, rules: BoardingPassRules, symbology: Symbology | None = None
) -> ScannedBoardingPass:
    """Parse ``data`` and infer the year of each leg's flight date (DOMAIN.md 6.1).

    Raises BoardingPassInvalid (naming the item and its position) or BoardingPassTooOld.
    """
    boarding_pass = parse_boarding_pass(data)
    dates = tuple(
        None
        if leg.julian_date is None
        else recent_flight_date(
            leg.julian_date,
            scanned_on=scanned_on,
            max_age_months=rules.max_age_months,
            field=f"legs[{index}].dateOfFlight",
        )
        for index, leg in enumerate(boarding_pass.legs)
    )
    return ScannedBoardingPass(
        data=data.rstrip("\r\n"), boarding_pass=boarding_pass, flight_dates=dates, symbology=symbology
    )


def scan_boarding_pass_image(
    *, image: bytes, content_type: str | None, scanned_on: dt.date, rules: BoardingPassRules
) -> ScannedBoardingPass:
    """Decode the barcode of an uploaded photo or screenshot, then read it as :func:`read_boarding_pass`.

    Raises ImageRejected (size, type, pixels, no barcode) before anything else.
    """
    barcode = decode_barcode_image(image, rules=rules, content_type=content_type)
    return read_boarding_pass(
        data=barcode.text, scanned_on=scanned_on, rules=rules, symbology=barcode.symbology
    )
