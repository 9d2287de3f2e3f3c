"""``milesgate quiz``: create a month's quiz from a TOML file, draw its winners, verify a past draw.

Wired into the main CLI in ``gateway/cli/__init__.py`` with ``app.add_typer(quiz_app, name="quiz")``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.cli.support import Operator, aware_moment, read_toml, run_or_exit
from loyalty.engagement import quiz
from loyalty.engagement.models import Quiz, QuizWinner
from loyalty.errors import ValidationFailed

quiz_app = typer.Typer(help="The monthly quiz and its auditable prize draw.", no_args_is_help=True)
console = Console()


@quiz_app.command("create")
def create_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="The quiz as TOML (examples/quiz.toml).")
    ],
    operator: Operator,
) -> None:
    """Create a month's quiz: month, question, options, correct_option, opens_at, closes_at, [[prizes]].

    month is YYYY-MM; options a list of at least two answers; correct_option the index of the right one,
    from 0; opens_at and closes_at TOML date-times; each [[prizes]] table has partner, prize and count.
    examples/quiz.toml shows the format."""
    data = read_toml(file)

    async def work() -> Quiz:
        return await quiz.create_quiz(
            month=str(data.get("month", "")),
            question=str(data.get("question", "")),
            options=[str(option) for option in data.get("options", [])],
            correct_option=int(data.get("correct_option", -1)),
            prizes=list(data.get("prizes", [])),
            opens_at=aware_moment(data.get("opens_at"), "opens_at"),
            closes_at=aware_moment(data.get("closes_at"), "closes_at"),
            actor=f"operator:{operator}",
            now=dt.datetime.now(dt.UTC),
        )

    created = run_or_exit(work)
    console.print(f"quiz {created.month} created ({len(created.options)} options)")


def _checked_month(month: str) -> str:
    if not quiz.MONTH.match(month):
        raise ValidationFailed("A month is written YYYY-MM.", field="month", code="MONTH_INVALID")
    return month


def _winners_table(month: str, winners: list[QuizWinner]) -> Table:
    table = Table("position", "account id", "prize", "partner", title=f"quiz {month} winners")
    for winner in winners:
        table.add_row(str(winner.position), str(winner.account_id), winner.prize, winner.partner)
    return table


@quiz_app.command("draw")
def draw_command(
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    operator: Operator,
    seed: Annotated[str | None, typer.Option(help="Use this seed (default: a fresh random one).")] = None,
) -> None:
    """Draw the prizes among the correct entries, once the quiz has closed; the seed is recorded."""

    async def work() -> tuple[list[QuizWinner], str | None]:
        winners = await quiz.draw(
            month=_checked_month(month), actor=f"operator:{operator}", now=dt.datetime.now(dt.UTC), seed=seed
        )
        return winners, (await quiz.quiz_for(month)).draw_seed

    winners, used = run_or_exit(work)
    console.print(_winners_table(month, winners))
    console.print(f"seed {used} (recorded; 'milesgate quiz verify {month}' recomputes the draw)")


@quiz_app.command("verify")
def verify_command(month: Annotated[str, typer.Argument(help="YYYY-MM")]) -> None:
    """Recompute a past draw from its recorded seed and the entries (exit 1 when it does not match)."""

    async def work() -> bool:
        return await quiz.verify_draw(month=_checked_month(month))

    if run_or_exit(work):
        console.print(f"the {month} draw matches its seed and entries", style="green")
        return
    console.print(f"[red]the {month} draw does NOT match its seed and entries[/red]")
    raise typer.Exit(1)
