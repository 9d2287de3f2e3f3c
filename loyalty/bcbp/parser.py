"""Parse the string of a format-M bar-coded boarding pass (IATA Resolution 792), 1 to 4 legs.

Tolerant where real passes vary (blank items, shorter conditional sections of older versions, the
airline's own data, either case of hex digits); strict where the layout would otherwise slip: every
failure is a :class:`BoardingPassInvalid` naming the item and its 1-based position.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from loyalty.bcbp import layout
from loyalty.bcbp.layout import Item
from loyalty.bcbp.model import BoardingPass, BoardingPassInvalid, BoardingPassLeg

MAX_LENGTH = 2048
"""Input guard: four legs with every conditional item and 255 characters of security data fit easily."""

_AIRPORT = re.compile(r"^[A-Z]{3}$")
_CARRIER = re.compile(r"^[A-Z0-9]{2}[A-Z0-9 ]?$")
_FLIGHT_NUMBER = re.compile(r"^[0-9]{1,4}[A-Z]?$")
_HEX = re.compile(r"^[0-9A-Fa-f]{2}$")


class _Cursor:
    """Reads items left to right between ``start`` and ``end``; errors carry 1-based positions."""

    def __init__(self, text: str, *, start: int = 0, end: int | None = None, prefix: str = "") -> None:
        self.text = text
        self.pos = start
        self.end = len(text) if end is None else end
        self.prefix = prefix

    def fail(
        self, item: Item, message: str, *, at: int | None = None, prefix: str | None = None
    ) -> BoardingPassInvalid:
        field = (self.prefix if prefix is None else prefix) + item.label
        return BoardingPassInvalid(message, field=field, position=(self.pos if at is None else at) + 1)

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def take(self, item: Item) -> str:
        if self.remaining < item.width:
            raise self.fail(item, f"needs {item.width} characters, only {max(self.remaining, 0)} are left")
        value = self.text[self.pos : self.pos + item.width]
        self.pos += item.width
        return value

    def take_optional(self, item: Item) -> str | None:
        """An item of a conditional section: None past the section's end, cut short at it."""
        if self.remaining <= 0:
            return None
        value = self.text[self.pos : self.pos + min(item.width, self.remaining)]
        self.pos += len(value)
        return value.rstrip()

    def size(self, item: Item, *, prefix: str | None = None) -> int:
        start = self.pos
        if self.remaining < item.width:
            raise self.fail(
                item, f"needs {item.width} characters, only {self.remaining} are left", prefix=prefix
            )
        raw = self.take(item)
        if not _HEX.match(raw):
            raise self.fail(item, f"{raw!r} is not a size in 2 hexadecimal digits", at=start, prefix=prefix)
        size = int(raw, 16)
        if size > self.remaining:
            raise self.fail(
                item, f"announces {size} characters, only {self.remaining} follow", at=start, prefix=prefix
            )
        return size

    def section(self, size: int, prefix: str | None = None) -> _Cursor:
        """A cursor over the next ``size`` characters; this one moves past them."""
        inner = _Cursor(
            self.text, start=self.pos, end=self.pos + size, prefix=self.prefix if prefix is None else prefix
        )
        self.pos += size
        return inner

    def rest(self) -> str:
        value = self.text[self.pos : self.end]
        self.pos = self.end
        return value


def _check(cursor: _Cursor, item: Item, value: str, valid: Callable[[str], bool], expected: str) -> None:
    if not valid(value):
        raise cursor.fail(item, f"{value!r} is not {expected}", at=cursor.pos - item.width)


def parse_boarding_pass(data: str) -> BoardingPass:
    """The boarding pass in ``data`` (a trailing line break is ignored), or BoardingPassInvalid."""
    text = data.rstrip("\r\n")
    _check_characters(text)
    cursor = _Cursor(text)
    format_code = cursor.take(layout.FORMAT)
    _check(cursor, layout.FORMAT, format_code, lambda v: v == layout.FORMAT_CODE, "format code M")
    legs_raw = cursor.take(layout.NUMBER_OF_LEGS)
    _check(cursor, layout.NUMBER_OF_LEGS, legs_raw, lambda v: v in "1234", "a number of legs from 1 to 4")
    name = cursor.take(layout.PASSENGER_NAME).rstrip()
    _check(cursor, layout.PASSENGER_NAME, name, bool, "a passenger name")
    electronic_ticket = cursor.take(layout.ELECTRONIC_TICKET).rstrip()
    legs: list[BoardingPassLeg] = []
    unique: dict[str, str | None] = {}
    for index in range(int(legs_raw)):
        cursor.prefix = f"legs[{index}]."
        mandatory = _mandatory_leg(cursor)
        variable = cursor.section(cursor.size(layout.VARIABLE_SIZE))
        if index == 0:
            unique = _conditional_unique(variable)
        conditional = unique.get("version") is not None
        repeated = _conditional_repeated(variable) if conditional else {}
        legs.append(BoardingPassLeg(**mandatory, **repeated, airline_use=variable.rest()))  # type: ignore[arg-type]
    cursor.prefix = ""
    security = _security(cursor)
    return BoardingPass(
        passenger_name=name,
        electronic_ticket_indicator=electronic_ticket,
        legs=tuple(legs),
        **unique,
        **security,
    )


def _check_characters(text: str) -> None:
    if len(text) > MAX_LENGTH:
        raise BoardingPassInvalid(
            f"longer than {MAX_LENGTH} characters", field="data", position=MAX_LENGTH + 1
        )
    for index, character in enumerate(text):
        if not " " <= character <= "~":
            raise BoardingPassInvalid(
                f"{character!r} is not a printable ASCII character", field="data", position=index + 1
            )


def _mandatory_leg(cursor: _Cursor) -> dict[str, object]:
    values: dict[str, object] = {}
    for item in layout.MANDATORY_LEG:
        raw = cursor.take(item)
        value = raw.rstrip()
        if item.attribute in ("origin", "destination"):
            _check(cursor, item, value, lambda v: bool(_AIRPORT.match(v)), "an airport code (3 letters)")
        elif item.attribute == "operating_carrier":
            _check(cursor, item, raw, lambda v: bool(_CARRIER.match(v)), "an airline designator")
        elif item.attribute == "flight_number":
            _check(cursor, item, value, lambda v: bool(_FLIGHT_NUMBER.match(v.strip())), "a flight number")
        elif item.attribute == "compartment":
            _check(cursor, item, raw, lambda v: v == " " or v.isalpha(), "a compartment code (a letter)")
        elif item.attribute == "julian_date":
            values[item.attribute] = _julian_date(cursor, item, value)
            continue
        values[item.attribute] = value
    return values


def _julian_date(cursor: _Cursor, item: Item, value: str) -> int | None:
    if not value:
        return None
    _check(
        cursor,
        item,
        value,
        lambda v: len(v) == 3 and v.isdigit() and 1 <= int(v) <= 366,
        "a day of the year 001-366",
    )
    return int(value)


def _conditional_unique(variable: _Cursor) -> dict[str, str | None]:
    """The first leg's variable field opens the conditional part with '>' + version, if the pass has one."""
    if variable.remaining == 0 or variable.text[variable.pos] != layout.CONDITIONAL_MARK:
        return {}
    variable.pos += 1
    if variable.remaining < layout.VERSION.width:
        raise variable.fail(layout.VERSION, "missing after '>'", prefix="")
    version = variable.take(layout.VERSION)
    section = variable.section(variable.size(layout.UNIQUE_SIZE, prefix=""), prefix="")
    values: dict[str, str | None] = {"version": version}
    for item in layout.CONDITIONAL_UNIQUE:
        values[item.attribute] = section.take_optional(item)
    return values


def _conditional_repeated(variable: _Cursor) -> dict[str, str | None]:
    if variable.remaining == 0:
        return {}
    section = variable.section(variable.size(layout.REPEATED_SIZE))
    return {item.attribute: section.take_optional(item) for item in layout.CONDITIONAL_REPEATED}


def _security(cursor: _Cursor) -> dict[str, str | None]:
    if cursor.remaining == 0:
        return {}
    mark = cursor.take(Item("security_mark", "securityData", 1))
    if mark != layout.SECURITY_MARK:
        raise cursor.fail(
            layout.SECURITY_DATA,
            "unexpected data after the last leg (security data starts with '^')",
            at=cursor.pos - 1,
        )
    security_type = cursor.take(layout.SECURITY_TYPE)
    size = cursor.size(layout.SECURITY_SIZE)
    data = cursor.section(size).rest()
    if cursor.remaining:
        raise cursor.fail(layout.SECURITY_DATA, f"{cursor.remaining} characters follow the security data")
    return {"security_data_type": security_type, "security_data": data}
