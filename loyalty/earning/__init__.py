"""What a flight earns (DOMAIN.md 3): award miles, Points, Qualifying Points and HON Circle Points.

One code path for the calculator members use before they book, automatic accrual from partners'
flown data and retroactive credit: :func:`loyalty.earning.calculator.compute_earning`. The rules come
from an :class:`loyalty.earning.chart.EarningChart` (data files under ``partners/charts``), distances
from the airport database (:mod:`loyalty.earning.airports`). Nothing here does I/O beyond reading that
database once, and nothing imports a framework.
"""
