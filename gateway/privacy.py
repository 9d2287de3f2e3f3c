"""The full list of personal-data sources: the loyalty core's and the partner inbox."""

from __future__ import annotations

from loyalty.privacy.sources import PersonalDataSource, core_sources
from webhooks.privacy import InboxSource


def personal_data_sources() -> list[PersonalDataSource]:
    return [*core_sources(), InboxSource()]
