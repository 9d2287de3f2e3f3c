"""The sample files in ``examples/`` (issue 21) load through their commands as the README and the help
texts say: offers, a quiz, a rewards catalogue and an earning chart with a partner airline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from loyalty.engagement.models import Quiz
from loyalty.offers.models import Offer
from tests.gateway.cli.stacks import in_stack_db, milesgate, stack_env
from tests.support import collapse

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture
def env(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    return stack_env(tmp_path, request)


def test_the_offers_and_the_quiz_load_into_the_database(env: dict[str, str]) -> None:
    # given: the partners they name
    for code, kind in (("swiss", "airline"), ("worldshop", "shop")):
        added = milesgate(["partners", "add", code, "--name", code.title(), "--kind", kind], env)
        assert added.exit_code == 0, added.output

    # when
    offers = milesgate(["offers", "add", str(EXAMPLES / "offers.toml")], env)
    quiz = milesgate(["quiz", "create", str(EXAMPLES / "quiz.toml"), "--operator", "newcomer"], env)

    # then
    assert offers.exit_code == 0, offers.output
    assert "2 offers added" in offers.stdout
    assert quiz.exit_code == 0, quiz.output

    async def stored() -> tuple[set[str], list[str]]:
        codes = {str(code) for code in await Offer.all().values_list("code", flat=True)}
        months = [str(month) for month in await Quiz.all().values_list("month", flat=True)]
        return codes, months

    assert in_stack_db(env, stored) == ({"SWISS-ZRH-SUMMER", "WORLDSHOP-HEADPHONES"}, ["2030-01"])


def test_the_rewards_catalogue_checks_as_the_service_would_load_it(env: dict[str, str]) -> None:
    result = milesgate(["rewards", "check", str(EXAMPLES / "rewards.toml")], env)
    assert result.exit_code == 0, result.output
    assert "4 rewards, all valid" in collapse(result.stdout)
    assert "CASH-MILES-EU-ECO-OW" in result.stdout


def test_the_earning_chart_with_a_partner_airline_checks(env: dict[str, str]) -> None:
    result = milesgate(["charts", "check", str(EXAMPLES / "charts")], env)
    assert result.exit_code == 0, result.output
    assert "3 airlines, 2 distance charts, all valid" in collapse(result.stdout)
    assert "condor" in result.stdout


def test_a_broken_catalogue_or_chart_is_one_line_and_exit_1(env: dict[str, str], tmp_path: Path) -> None:
    # given: a reward below the minimum redemption, and a chart folder missing a file
    rewards = tmp_path / "rewards.toml"
    rewards.write_text((EXAMPLES / "rewards.toml").read_text().replace("miles = 10000", "miles = 10"))
    charts = tmp_path / "charts"
    shutil.copytree(EXAMPLES / "charts", charts)
    (charts / "rates.toml").unlink()

    # when
    bad_rewards = milesgate(["rewards", "check", str(rewards)], env)
    bad_charts = milesgate(["charts", "check", str(charts)], env)

    # then
    assert bad_rewards.exit_code == 1
    assert collapse(bad_rewards.stderr).startswith("FILE_INVALID:")
    assert "UPGRADE-EU-ECO-BUS" in bad_rewards.stderr
    assert bad_charts.exit_code == 1
    assert "rates.toml" in collapse(bad_charts.stderr)
