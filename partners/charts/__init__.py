"""The earning charts as data files: ``earning.toml``, ``regions.toml``, ``upgrades.toml``, ``rates.toml``, and
the rail partners' chart ``rail.toml``.

An operator changes a chart by pointing ``MILESGATE_CHARTS_DIR`` at a folder holding copies of the four
files (each with its own ``version``). They are read and checked once per process, at start:
a broken file stops the process with a message naming the file and the entry.
"""

from __future__ import annotations

import os
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from loyalty.earning.chart import EarningChart
from loyalty.earning.chart_files import CHART_FILES, parse_chart
from loyalty.earning.errors import ChartInvalid
from loyalty.earning.rail import RailChart, parse_rail_chart

DEFAULT_CHARTS_DIR = Path(__file__).parent
CHARTS_DIR_ENV = "MILESGATE_CHARTS_DIR"


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ChartInvalid(f"{path.name}: file missing in {path.parent}") from None
    except tomllib.TOMLDecodeError as error:
        raise ChartInvalid(f"{path.name}: not valid TOML ({error})") from None


def load_earning_chart(directory: Path | None = None) -> EarningChart:
    """Read and check the chart files of ``directory`` (the environment's, else the shipped ones)."""
    folder = directory or Path(os.environ.get(CHARTS_DIR_ENV) or DEFAULT_CHARTS_DIR)
    return parse_chart({name: _read(folder / f"{name}.toml") for name in CHART_FILES})


@cache
def current_earning_chart() -> EarningChart:
    """The chart this process runs with (read once)."""
    return load_earning_chart()


def load_rail_chart(directory: Path | None = None) -> RailChart:
    """Read and check ``rail.toml`` of ``directory`` (the environment's, else the shipped one)."""
    folder = directory or Path(os.environ.get(CHARTS_DIR_ENV) or DEFAULT_CHARTS_DIR)
    return parse_rail_chart(_read(folder / "rail.toml"))


@cache
def current_rail_chart() -> RailChart:
    """The rail chart this process runs with (read once)."""
    return load_rail_chart()
