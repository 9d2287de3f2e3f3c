"""POST /boarding-passes/scan: a member uploads a picture of a pass; limits answer with typed errors."""

from __future__ import annotations

import datetime as dt
import io

import zxingcpp
from httpx2 import AsyncClient
from PIL import Image

from loyalty.rules import current_rules
from tests.factories import enrolled_member
from tests.loyalty.test_bcbp import TWO_LEGS
from tests.loyalty.test_bcbp_images import picture
from tests.schema.test_boarding_passes import dated

LIMITS = current_rules().boarding_pass


async def _token(client: AsyncClient) -> str:
    return str((await enrolled_member(client))["accessToken"])


async def test_a_member_uploads_a_screenshot(client: AsyncClient) -> None:
    # given a pass for today's flight, as a PDF417 screenshot
    today = dt.datetime.now(dt.UTC).date()
    data = dated(TWO_LEGS, today)
    token = await _token(client)
    # when
    response = await client.post(
        "/boarding-passes/scan",
        content=picture(data, zxingcpp.BarcodeFormat.PDF417),
        headers={"authorization": f"Bearer {token}", "content-type": "image/png"},
    )
    # then
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["symbology"], body["data"]) == ("PDF417", data)
    first, second = body["boardingPass"]["legs"]
    assert (first["origin"], first["frequentFlyerNumber"], first["flightDate"]) == (
        "FRA",
        "992012345678901",
        today.isoformat(),
    )
    assert second["flightNumber"] == "1234A" and body["boardingPass"]["passengerName"] == "LOVELACE/ADA MRS"


async def test_signing_in_is_required(client: AsyncClient) -> None:
    response = await client.post("/boarding-passes/scan", content=b"x", headers={"content-type": "image/png"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "UNAUTHENTICATED"


async def test_limits(client: AsyncClient) -> None:
    token = await _token(client)
    auth = {"authorization": f"Bearer {token}"}
    blank = io.BytesIO()
    Image.new("RGB", (120, 120), (255, 255, 255)).save(blank, format="PNG")
    cases = [
        (b"x" * (LIMITS.image_max_bytes + 1), "image/png", 413, "IMAGE_TOO_LARGE"),
        (blank.getvalue(), "application/pdf", 415, "IMAGE_TYPE_NOT_ALLOWED"),
        (b"GIF89a not really", "image/png", 415, "IMAGE_TYPE_NOT_ALLOWED"),
        (blank.getvalue(), "image/png", 422, "NO_BARCODE_FOUND"),
        (picture("M1NOT A PASS", zxingcpp.BarcodeFormat.QRCode), "image/png", 422, "BOARDING_PASS_INVALID"),
    ]
    for content, content_type, status, code in cases:
        response = await client.post(
            "/boarding-passes/scan", content=content, headers={**auth, "content-type": content_type}
        )
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    invalid = response.json()["error"]
    assert invalid["field"] == "passengerName" and invalid["position"] == 3


async def test_uploads_are_rate_limited_per_member(client: AsyncClient) -> None:
    headers = {"authorization": f"Bearer {await _token(client)}", "content-type": "image/png"}
    statuses = [
        (await client.post("/boarding-passes/scan", content=b"", headers=headers)).status_code
        for _ in range(LIMITS.scans_per_minute + 1)
    ]
    assert statuses[:-1] == [422] * LIMITS.scans_per_minute and statuses[-1] == 429
