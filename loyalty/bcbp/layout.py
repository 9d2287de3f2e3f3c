"""The fixed-width items of a format-M boarding pass, in the order they appear.

Each item names the attribute of :class:`~loyalty.bcbp.model.BoardingPass` or
:class:`~loyalty.bcbp.model.BoardingPassLeg` it fills and the label errors use for it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Item:
    attribute: str
    label: str
    width: int


FORMAT_CODE = "M"
MAX_LEGS = 4
CONDITIONAL_MARK = ">"
SECURITY_MARK = "^"

# Items 1-4: once per pass.
FORMAT = Item("format_code", "formatCode", 1)
NUMBER_OF_LEGS = Item("number_of_legs", "numberOfLegs", 1)
PASSENGER_NAME = Item("passenger_name", "passengerName", 20)
ELECTRONIC_TICKET = Item("electronic_ticket_indicator", "electronicTicketIndicator", 1)
HEADER_WIDTH = FORMAT.width + NUMBER_OF_LEGS.width + PASSENGER_NAME.width + ELECTRONIC_TICKET.width

# Items 5-14 per leg, then item 15: the size (2 hex digits) of the leg's variable field.
MANDATORY_LEG = (
    Item("pnr", "pnr", 7),
    Item("origin", "origin", 3),
    Item("destination", "destination", 3),
    Item("operating_carrier", "operatingCarrier", 3),
    Item("flight_number", "flightNumber", 5),
    Item("julian_date", "dateOfFlight", 3),
    Item("compartment", "compartmentCode", 1),
    Item("seat", "seatNumber", 4),
    Item("check_in_sequence", "checkInSequenceNumber", 5),
    Item("passenger_status", "passengerStatus", 1),
)
VARIABLE_SIZE = Item("variable_size", "variableSize", 2)

# The conditional part's items that appear once, after '>' + version + their own size (2 hex).
VERSION = Item("version", "version", 1)
UNIQUE_SIZE = Item("unique_size", "uniqueConditionalSize", 2)
CONDITIONAL_UNIQUE = (
    Item("passenger_description", "passengerDescription", 1),
    Item("check_in_source", "checkInSource", 1),
    Item("issuance_source", "boardingPassIssuanceSource", 1),
    Item("issue_date", "boardingPassIssueDate", 4),
    Item("document_type", "documentType", 1),
    Item("issuer", "boardingPassIssuer", 3),
    Item("baggage_tag", "baggageTagNumber", 13),
    Item("baggage_tag_2", "firstNonConsecutiveBaggageTag", 13),
    Item("baggage_tag_3", "secondNonConsecutiveBaggageTag", 13),
)

# The conditional items of each leg, after their size (2 hex); then the airline's own data.
REPEATED_SIZE = Item("repeated_size", "repeatedConditionalSize", 2)
CONDITIONAL_REPEATED = (
    Item("airline_numeric_code", "airlineNumericCode", 3),
    Item("document_serial_number", "documentSerialNumber", 10),
    Item("selectee", "selecteeIndicator", 1),
    Item("international_document_verification", "internationalDocumentVerification", 1),
    Item("marketing_carrier", "marketingCarrier", 3),
    Item("frequent_flyer_airline", "frequentFlyerAirline", 3),
    Item("frequent_flyer_number", "frequentFlyerNumber", 16),
    Item("id_ad_indicator", "idAdIndicator", 1),
    Item("free_baggage_allowance", "freeBaggageAllowance", 3),
    Item("fast_track", "fastTrack", 1),
)

# After the last leg: '^' + type (1) + size (2 hex) + the airline's security data.
SECURITY_TYPE = Item("security_data_type", "securityDataType", 1)
SECURITY_SIZE = Item("security_size", "securityDataSize", 2)
SECURITY_DATA = Item("security_data", "securityData", 0)
