"""IATA bar-coded boarding passes (Resolution 792, format M; DOMAIN.md 6.1).

:func:`loyalty.bcbp.parser.parse_boarding_pass` reads the string a barcode holds,
:func:`loyalty.bcbp.encoder.encode_boarding_pass` writes one, :mod:`loyalty.bcbp.dates` infers the
flight date's year and :mod:`loyalty.bcbp.images` decodes the barcode of an uploaded picture.
"""
