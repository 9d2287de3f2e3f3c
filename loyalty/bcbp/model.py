"""A boarding pass as its barcode holds it: texts without their padding, blanks as empty strings.

Conditional items are None when the pass does not carry them (no conditional part, or a shorter
section, as older versions write); an item that is present but blank is ``""``.
"""

from __future__ import annotations

from dataclasses import dataclass

from loyalty.errors import ValidationFailed


class BoardingPassInvalid(ValidationFailed):
    """The string is not a format-M boarding pass; ``field`` names the item, ``position`` where it starts (1-based)."""

    code = "BOARDING_PASS_INVALID"

    def __init__(self, message: str, *, field: str, position: int) -> None:
        super().__init__(f"{field} at position {position}: {message}", field=field)
        self.position = position


@dataclass(frozen=True, slots=True)
class BoardingPassLeg:
    pnr: str
    origin: str
    destination: str
    operating_carrier: str
    flight_number: str
    julian_date: int | None
    """Day of the year of the flight (1-366), without a year: see :mod:`loyalty.bcbp.dates`."""
    compartment: str
    seat: str
    check_in_sequence: str
    passenger_status: str
    airline_numeric_code: str | None = None
    document_serial_number: str | None = None
    selectee: str | None = None
    international_document_verification: str | None = None
    marketing_carrier: str | None = None
    frequent_flyer_airline: str | None = None
    frequent_flyer_number: str | None = None
    id_ad_indicator: str | None = None
    free_baggage_allowance: str | None = None
    fast_track: str | None = None
    airline_use: str = ""
    """The airline's own data at the end of the leg's variable field."""

    @property
    def ticket_number(self) -> str | None:
        """Airline numeric code + document serial number (13 digits), when the pass carries both."""
        if self.airline_numeric_code and self.document_serial_number:
            return self.airline_numeric_code + self.document_serial_number
        return None

    @property
    def flight_number_digits(self) -> str:
        """The flight number without its leading zeros: ``0834`` -> ``834``."""
        return self.flight_number.strip().lstrip("0") or "0"


@dataclass(frozen=True, slots=True)
class BoardingPass:
    passenger_name: str
    """``SURNAME/GIVEN TITLE``, cut at 20 characters."""
    electronic_ticket_indicator: str
    legs: tuple[BoardingPassLeg, ...]
    version: str | None = None
    """The conditional part's version number; None when the pass has no conditional part."""
    passenger_description: str | None = None
    check_in_source: str | None = None
    issuance_source: str | None = None
    issue_date: str | None = None
    """Last digit of the year + day of the year, as printed (e.g. ``6225``)."""
    document_type: str | None = None
    issuer: str | None = None
    baggage_tag: str | None = None
    baggage_tag_2: str | None = None
    baggage_tag_3: str | None = None
    security_data_type: str | None = None
    security_data: str | None = None

    @property
    def surname(self) -> str:
        return self.passenger_name.partition("/")[0].strip()

    @property
    def given_names(self) -> str:
        """Everything after the slash (given names and any title), possibly cut short."""
        return self.passenger_name.partition("/")[2].strip()

    @property
    def electronic_ticket(self) -> bool:
        return self.electronic_ticket_indicator == "E"
