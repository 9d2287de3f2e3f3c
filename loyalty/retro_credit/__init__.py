"""Retroactive credit of flights (DOMAIN.md 6): requests by form or boarding pass, checked against flown data.

The rules (window, partners' waiting period, the name on the ticket) are pure functions in
:mod:`loyalty.retro_credit.rules` and :mod:`loyalty.retro_credit.names`; the state machine and the one
credit per flight live in :mod:`loyalty.retro_credit.service`.
"""
