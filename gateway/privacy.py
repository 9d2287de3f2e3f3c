"""The full list of personal-data sources: the loyalty core's, engagement's and the partner inbox."""

from __future__ import annotations

from loyalty.engagement.privacy import EngagementSource
from loyalty.privacy.sources import PersonalDataSource, core_sources
from webhooks.privacy import InboxSource


def personal_data_sources() -> list[PersonalDataSource]:
    return [*core_sources(), EngagementSource(), InboxSource()]
