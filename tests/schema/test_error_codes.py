"""Each domain room's error-code enum lists every code its services raise, with the code as the wire value."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest

from schema.auth.errors import AuthErrorCode
from schema.awards.errors import AwardErrorCode
from schema.boarding_passes.errors import BoardingPassErrorCode
from schema.cards.errors import CardErrorCode
from schema.consents.errors import ConsentErrorCode
from schema.earning.errors import EarningErrorCode
from schema.engagement.errors import EngagementErrorCode
from schema.hub.errors import HubErrorCode
from schema.ledger.errors import LedgerErrorCode
from schema.lounges.errors import LoungeErrorCode
from schema.members.errors import MemberErrorCode
from schema.miles_to_status.errors import MilesToStatusErrorCode
from schema.offers.errors import OfferErrorCode
from schema.partners.errors import PartnerErrorCode
from schema.pooling.errors import PoolingErrorCode
from schema.privacy.errors import PrivacyErrorCode
from schema.retro_credit.errors import RetroCreditErrorCode
from schema.rewards.errors import RewardErrorCode
from schema.status.errors import StatusErrorCode

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r'code\s*=\s*"([A-Z_]+)"')
SOURCES: list[tuple[type[StrEnum], tuple[str, ...]]] = [
    (
        MemberErrorCode,
        (
            "loyalty/members/service.py",
            "loyalty/members/pins.py",
            "loyalty/members/profile.py",
            "loyalty/addresses.py",
            "loyalty/enrolment.py",
        ),
    ),
    (CardErrorCode, ("loyalty/members/cards.py", "loyalty/members/support.py")),
    (AuthErrorCode, ("loyalty/auth/*.py", "resolvers/auth.py")),
    (PoolingErrorCode, ("loyalty/pooling/*.py", "resolvers/pooling.py")),
    (EngagementErrorCode, ("loyalty/engagement/*.py",)),
    (EarningErrorCode, ("loyalty/earning/*.py",)),
    (RetroCreditErrorCode, ("loyalty/retro_credit/*.py", "loyalty/photo_credit/*.py")),
    (OfferErrorCode, ("loyalty/offers/*.py",)),
    (RewardErrorCode, ("loyalty/rewards/*.py", "resolvers/rewards.py")),
    (ConsentErrorCode, ("loyalty/consents/*.py",)),
    (PrivacyErrorCode, ("loyalty/privacy/*.py", "loyalty/notices/*.py")),
    (LedgerErrorCode, ("loyalty/ledger/*.py", "loyalty/paging.py")),
    (BoardingPassErrorCode, ("loyalty/bcbp/*.py",)),
    (PartnerErrorCode, ("partners/service.py", "partners/signing.py", "resolvers/partners.py")),
    (HubErrorCode, ("webhooks/outbound/*.py", "resolvers/hub.py")),
    (StatusErrorCode, ("loyalty/status/*.py",)),
    (MilesToStatusErrorCode, ("loyalty/miles_to_status/*.py",)),
    (AwardErrorCode, ("loyalty/awards/*.py", "resolvers/awards.py")),
    (LoungeErrorCode, ("loyalty/lounges/*.py",)),
]


def _raised(patterns: tuple[str, ...]) -> set[str]:
    files = [path for pattern in patterns for path in ROOT.glob(pattern)]
    assert files, patterns
    return {code for path in files for code in CODE.findall(path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize(("codes", "sources"), SOURCES, ids=[codes.__name__ for codes, _ in SOURCES])
def test_every_raised_code_is_in_its_domain_enum(codes: type[StrEnum], sources: tuple[str, ...]) -> None:
    assert _raised(sources) <= {member.value for member in codes}
    assert all(member.name == member.value for member in codes)
