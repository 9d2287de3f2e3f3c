"""Rail partners' segments (DOMAIN.md 3.4): Points from the rail chart, HON Circle Points in first or business
class; through a rail partner's signed accrual.created and at the chart's pure function."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from httpx2 import AsyncClient

from loyalty.earning.errors import ChartInvalid
from loyalty.earning.rail import parse_rail_chart, rail_earning
from loyalty.errors import DomainError
from loyalty.ledger.models import Currency
from loyalty.ledger.service import balances_of, year_counters
from partners.charts import current_rail_chart
from partners.models import PartnerKind
from tests.factories import make_member, make_partner
from tests.support import signed_delivery
from tests.waiting import settled_inbox_row
from webhooks.models import InboxState

CHART = current_rail_chart()


@pytest.mark.parametrize(
    ("product", "travel_class", "earned"),
    [
        ("AIRAIL", "BUSINESS", (40, 40, 40)),
        ("AIRAIL", "SECOND", (20, 20, 0)),
        ("LH_EXPRESS_RAIL", "FIRST", (40, 40, 40)),
        ("LH_EXPRESS_RAIL", "SECOND", (20, 20, 0)),
        ("SWISS_AIR_RAIL", "FIRST", (40, 40, 40)),
        ("swiss_air_rail", "second", (20, 20, 0)),
    ],
)
def test_points_by_class_and_hon_circle_points_in_first_or_business(
    product: str, travel_class: str, earned: tuple[int, int, int]
) -> None:
    segment = rail_earning(CHART, product=product, travel_class=travel_class)
    assert (segment.points, segment.qualifying_points, segment.hon_circle_points) == earned


@pytest.mark.parametrize(
    ("product", "travel_class", "code", "field"),
    [
        ("ICE", "FIRST", "RAIL_PRODUCT_UNKNOWN", "rail.product"),
        ("AIRAIL", "FIRST", "RAIL_CLASS_INVALID", "rail.travelClass"),
    ],
)
def test_unknown_products_and_classes_are_refused(
    product: str, travel_class: str, code: str, field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        rail_earning(CHART, product=product, travel_class=travel_class)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_a_broken_chart_names_its_entry() -> None:
    data: dict[str, Any] = {
        "version": "x",
        "classes": {"FIRST": {"points": 40, "hon_circle": True}},
        "products": [{"code": "AIRAIL", "name": "AIRail", "classes": ["SECOND"]}],
    }
    with pytest.raises(ChartInvalid, match=r"rail.toml: products\[0\]"):
        parse_rail_chart(data)


def _rail_accrual(number: str, transaction_id: str, travel_class: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "transactionId": transaction_id,
        "member": {"serviceCardNumber": number},
        "activityDate": "2026-03-02",
        "category": "rail",
        "miles": 250,
        "rail": {
            "product": "LH_EXPRESS_RAIL",
            "travelClass": travel_class,
            "origin": "QKL",
            "destination": "FRA",
        },
    }
    data.update(extra)
    return {"type": "accrual.created", "data": data}


async def _deliver(client: AsyncClient, secret: str, event: dict[str, Any]) -> Any:
    body, headers = signed_delivery(secret, event, webhook_id=f"msg_{uuid.uuid4().hex}")
    response = await client.post("/webhooks/partners/dbrail", content=body, headers=headers)
    assert response.status_code == 202, response.text
    return await settled_inbox_row(response.json()["id"], timeout_s=5.0)


async def test_a_rail_partner_credits_points_from_the_chart(client: AsyncClient) -> None:
    partner = await make_partner("dbrail", PartnerKind.RAIL)
    member = await make_member()

    first = await _deliver(client, partner.signing_secret, _rail_accrual(member.card.number, "R-1", "FIRST"))
    second = await _deliver(
        client, partner.signing_secret, _rail_accrual(member.card.number, "R-2", "SECOND")
    )

    assert (first.state, second.state) == (InboxState.PROCESSED, InboxState.PROCESSED)
    counters = await year_counters(account_id=member.member.id, year=2026)
    assert counters == {
        Currency.HON_CIRCLE_POINTS: 40,  # first class only
        Currency.POINTS: 60,
        Currency.QUALIFYING_POINTS: 60,
    }
    assert (await balances_of(account_id=member.member.id))[Currency.AWARD_MILES] == 500


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        pytest.param({"points": 500}, "AMOUNT_INVALID", id="points-sent-by-the-partner"),
        pytest.param(
            {"rail": {"product": "ICE", "travelClass": "FIRST", "origin": "QKL", "destination": "FRA"}},
            "RAIL_PRODUCT_UNKNOWN",
            id="not-a-programme-product",
        ),
    ],
)
async def test_a_rail_segment_the_chart_does_not_cover_is_refused(
    client: AsyncClient, extra: dict[str, Any], code: str
) -> None:
    partner = await make_partner("dbrail", PartnerKind.RAIL)
    member = await make_member()

    row = await _deliver(
        client, partner.signing_secret, _rail_accrual(member.card.number, "R-9", "FIRST", **extra)
    )

    assert (row.state, row.error_code) == (InboxState.FAILED, code)
    assert (await balances_of(account_id=member.member.id))[Currency.POINTS] == 0
