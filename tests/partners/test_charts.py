"""The shipped chart files load, cover the airport database, and broken copies stop the loader."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from loyalty.earning.airports import airport_directory
from loyalty.earning.errors import ChartInvalid
from loyalty.members.models import Tier
from partners.charts import CHARTS_DIR_ENV, DEFAULT_CHARTS_DIR, current_earning_chart, load_earning_chart


def test_the_shipped_chart_loads_and_names_its_versions() -> None:
    chart = load_earning_chart()
    assert chart.version == "earning 2024.1 · regions 2024.1 · rates 2026-11-20"
    assert set(chart.airlines) >= {"LH", "LX", "OS", "SN", "UA", "LO"}
    assert all(chart.revenue.factor(tier, "XX") for tier in Tier)


def test_every_country_of_the_airport_database_has_a_region() -> None:
    regions = current_earning_chart().regions.by_country
    assert sorted(airport_directory().countries() - set(regions)) == []


def test_the_environment_points_at_another_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _copy(tmp_path)
    path = folder / "earning.toml"
    path.write_text(path.read_text().replace('version = "2024.1"', 'version = "2025.7"', 1))
    monkeypatch.setenv(CHARTS_DIR_ENV, str(folder))
    assert load_earning_chart().earning_version == "2025.7"


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "charts"
    folder.mkdir()
    for path in DEFAULT_CHARTS_DIR.glob("*.toml"):
        shutil.copy(path, folder / path.name)
    return folder


def _replace(name: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / name
        text = path.read_text()
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new, 1))

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda folder: (folder / "rates.toml").unlink(), "rates.toml: file missing"),
        (_replace("earning.toml", "[qualifying]", "[qualifying"), "earning.toml: not valid TOML"),
        (_replace("regions.toml", '"AD", ', '"AD", "EG", '), "regions.toml [regions] EUROPE: EG listed twice"),
        (_replace("regions.toml", '"AO", ', '"AO", "DE", '), "DE is in EUROPE and AFRICA"),
        (_replace("regions.toml", '"AD", ', '"ad", '), "regions.toml [regions] EUROPE"),
        (_replace("regions.toml", "SOUTH_AMERICA = [", "ANTARCTICA = []\nSOUTH_AMERICA = ["), "unknown keys"),
        (_replace("earning.toml", 'distance_chart = "default"', 'distance_chart = "gold"'), "distance_chart 'gold'"),
        (_replace("earning.toml", 'designator = "UA"', 'designator = "LH"'), "'LH': listed twice"),
        (_replace("earning.toml", "miles_per_eur = 5 ", "miles_per_eur = -5 "), "not a positive number"),
        (_replace("earning.toml", 'tiers = ["BASE"]', 'tiers = ["GOLD"]'), "'GOLD' is not one of"),
        (_replace("earning.toml", "miles_per_eur = 5 ", "operating_carriers = [\"EW\"]\nmiles_per_eur = 5 "),
         "tier FTL has no default row"),
        (_replace("earning.toml", "FIRST = { continental = 40, ", "FIRST = { continental = 4.5, "),
         "FIRST.continental"),
        (_replace("earning.toml", "PREMIUM_ECONOMY = {", "PREMIUM = {"), "unknown keys ['PREMIUM']"),
        (_replace("earning.toml", 'carrier_basis = "EITHER"', 'carrier_basis = "BOTH"'), "carrier_basis"),
        (_replace("earning.toml", "effective_from = 2024-01-01", 'effective_from = "2024"'), "effective_from"),
        (_replace("earning.toml", "I = 0", "I1 = 0"), "booking class 'I1'"),
        (_replace("earning.toml", 'issuing_airlines = ["LH"', 'issuing_airlines = ["XQ"'), "['XQ'] are not in [[airlines]]"),
        (_replace("upgrades.toml", 'to_cabin = "FIRST"', 'to_cabin = "ECONOMY"'), "higher cabin"),
        (_replace("upgrades.toml", "miles = 10000", "miles = 0"), "miles"),
        (_replace("upgrades.toml", '"LO"]', '"QQ"]'), "upgrades.toml carriers: ['QQ']"),
        (_replace("rates.toml", 'base = "EUR"', 'base = "USD"'), "base must be EUR"),
        (_replace("rates.toml", 'USD = "1.0850"', 'USD = "one"'), "rates.toml [per_eur] USD"),
        (_replace("rates.toml", 'EUR = "1"', 'EUR = "2"'), 'EUR must be listed with rate "1"'),
    ],
)  # fmt: skip
def test_a_broken_chart_stops_the_loader_with_a_clear_message(
    tmp_path: Path, edit: Callable[[Path], None], message: str
) -> None:
    folder = _copy(tmp_path)
    edit(folder)
    with pytest.raises(ChartInvalid) as raised:
        load_earning_chart(folder)
    assert message in str(raised.value)
