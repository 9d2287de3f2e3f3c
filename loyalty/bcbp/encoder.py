"""Write a :class:`BoardingPass` as the string of its barcode (format M), the inverse of the parser.

Items are left-aligned and space-padded to their width; sizes are 2 upper-case hex digits. A
conditional section is written up to its last item that is not None, so shorter sections (older
versions) survive a round trip. A value that does not fit its item raises BoardingPassInvalid.
"""

from __future__ import annotations

from collections.abc import Sequence

from loyalty.bcbp import layout
from loyalty.bcbp.layout import Item
from loyalty.bcbp.model import BoardingPass, BoardingPassInvalid, BoardingPassLeg

MAX_SECTION = 0xFF


def _fit(item: Item, value: str, *, prefix: str = "") -> str:
    if len(value) > item.width:
        raise BoardingPassInvalid(
            f"{value!r} is longer than {item.width} characters", field=prefix + item.label, position=0
        )
    return value.ljust(item.width)


def _size(item: Item, content: str, *, prefix: str = "") -> str:
    if len(content) > MAX_SECTION:
        raise BoardingPassInvalid(
            f"{len(content)} characters do not fit a 2-digit hex size", field=prefix + item.label, position=0
        )
    return f"{len(content):02X}"


def _section(items: Sequence[Item], source: object, *, prefix: str = "") -> str:
    """The items of ``source`` up to its last present one; absent ones before it are written blank."""
    values = [getattr(source, item.attribute) for item in items]
    present = [index for index, value in enumerate(values) if value is not None]
    last = present[-1] + 1 if present else 0
    return "".join(
        _fit(item, value or "", prefix=prefix)
        for item, value in zip(items[:last], values[:last], strict=True)
    )


def _mandatory(leg: BoardingPassLeg, prefix: str) -> str:
    parts: list[str] = []
    for item in layout.MANDATORY_LEG:
        value = getattr(leg, item.attribute)
        if item.attribute == "julian_date":
            value = "" if value is None else f"{value:03d}"
        parts.append(_fit(item, value, prefix=prefix))
    return "".join(parts)


def _variable(boarding_pass: BoardingPass, leg: BoardingPassLeg, index: int, prefix: str) -> str:
    if boarding_pass.version is None:
        return leg.airline_use
    head = ""
    if index == 0:
        unique = _section(layout.CONDITIONAL_UNIQUE, boarding_pass)
        version = _fit(layout.VERSION, boarding_pass.version)
        head = layout.CONDITIONAL_MARK + version + _size(layout.UNIQUE_SIZE, unique) + unique
    repeated = _section(layout.CONDITIONAL_REPEATED, leg, prefix=prefix)
    if repeated or leg.airline_use:
        head += _size(layout.REPEATED_SIZE, repeated, prefix=prefix) + repeated
    return head + leg.airline_use


def encode_boarding_pass(boarding_pass: BoardingPass) -> str:
    """The format-M string of ``boarding_pass``; ``parse_boarding_pass`` of it gives the pass back."""
    legs = boarding_pass.legs
    if not 1 <= len(legs) <= layout.MAX_LEGS:
        raise BoardingPassInvalid(
            f"a pass has 1 to {layout.MAX_LEGS} legs, not {len(legs)}", field="numberOfLegs", position=2
        )
    parts = [
        layout.FORMAT_CODE,
        str(len(legs)),
        _fit(layout.PASSENGER_NAME, boarding_pass.passenger_name),
        _fit(layout.ELECTRONIC_TICKET, boarding_pass.electronic_ticket_indicator),
    ]
    for index, leg in enumerate(legs):
        prefix = f"legs[{index}]."
        variable = _variable(boarding_pass, leg, index, prefix)
        parts += [_mandatory(leg, prefix), _size(layout.VARIABLE_SIZE, variable, prefix=prefix), variable]
    if boarding_pass.security_data_type is not None:
        data = boarding_pass.security_data or ""
        parts += [
            layout.SECURITY_MARK,
            _fit(layout.SECURITY_TYPE, boarding_pass.security_data_type),
            _size(layout.SECURITY_SIZE, data),
            data,
        ]
    return "".join(parts)
