"""Typed failures of the calculator; each names the input field concerned."""

from __future__ import annotations

from loyalty.errors import DomainError, NotFound, ValidationFailed


class ChartInvalid(ValueError):
    """An earning-chart file breaks a rule; the message names the file, the table and the entry."""


class UnknownAirport(NotFound):
    """The airport code is not in the airport database."""

    code = "UNKNOWN_AIRPORT"

    def __init__(self, airport_code: str, *, field: str) -> None:
        super().__init__(f"{airport_code!r} is not a known IATA airport code.", field=field)
        self.airport_code = airport_code


class UnknownCurrency(NotFound):
    """No conversion rate to EUR for this currency in the rates table."""

    code = "UNKNOWN_CURRENCY"

    def __init__(self, currency: str, *, field: str) -> None:
        super().__init__(f"No conversion rate for currency {currency!r}.", field=field)
        self.currency = currency


class InvalidItinerary(ValidationFailed):
    """An itinerary or ticket the calculator cannot take; ``code`` names the rule, ``field`` the input."""


class UpgradeNotAvailable(DomainError):
    """No upgrade with miles for this flight and cabin change; ``code`` says why."""

    code = "UPGRADE_NOT_AVAILABLE"
