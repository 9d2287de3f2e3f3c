"""``milesgate --help`` against a bare ``python -c "import typer"``, timed in the same run (issue 19, item 6).

Both commands run as fresh processes, interleaved (one of each per round), so the machine's load of the
moment weighs on both alike; the ratio of their medians is what to compare across machines and days. The
target is ``milesgate --help`` under 0.5 s. With ``--hyperfine`` and hyperfine on the PATH, hyperfine
measures the same two commands as a cross-check. With ``--code DIR`` the help timed is that of another
checkout's code (``python -m gateway.cli --help`` with ``PYTHONPATH=DIR``), for a before-and-after.

    .venv/bin/python bench/cli/run.py --rounds 20
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HELP = "milesgate --help"
TYPER = 'python -c "import typer"'
COMMANDS = {HELP: [str(BIN / "milesgate"), "--help"], TYPER: [sys.executable, "-c", "import typer"]}
TARGET_S = 0.5
ENV = dict(os.environ)


def time_once(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own CLI and this interpreter
        command, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - started


def measure(rounds: int) -> dict[str, list[float]]:
    for command in COMMANDS.values():  # warm the file cache and the bytecode of both
        time_once(command)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, command in COMMANDS.items():
            times[name].append(time_once(command))
    return times


def hyperfine(rounds: int) -> None:
    tool = shutil.which("hyperfine")
    if tool is None:
        print("hyperfine is not on the PATH; skipped")
        return
    subprocess.run(  # noqa: S603 - the installed hyperfine on our two commands
        [tool, "--warmup", "3", "--runs", str(rounds), "-N", *(" ".join(c) for c in COMMANDS.values())],
        cwd=ROOT,
        env=ENV,
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="runs of each command")
    parser.add_argument("--hyperfine", action="store_true", help="also measure with hyperfine")
    parser.add_argument("--code", type=Path, help="time the help of the code in this directory instead")
    args = parser.parse_args()
    ENV.setdefault("COLUMNS", "100")
    if args.code is not None:
        ENV["PYTHONPATH"] = str(args.code.resolve())
        COMMANDS[HELP] = [sys.executable, "-m", "gateway.cli", "--help"]
        print(f"milesgate --help: python -m gateway.cli --help with PYTHONPATH={args.code}")
    times = measure(args.rounds)
    print(f"{args.rounds} runs each, interleaved, on {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"{'command':<28} {'min s':>7} {'median s':>9} {'max s':>7}")
    for name, values in times.items():
        print(f"{name:<28} {min(values):7.3f} {statistics.median(values):9.3f} {max(values):7.3f}")
    help_s = statistics.median(times[HELP])
    typer_s = statistics.median(times[TYPER])
    verdict = "met" if help_s < TARGET_S else "NOT met"
    print(f"ratio milesgate --help / import typer (medians): {help_s / typer_s:.2f}")
    print(f"target milesgate --help < {TARGET_S} s: {verdict} ({help_s:.3f} s)")
    if args.hyperfine:
        hyperfine(args.rounds)


if __name__ == "__main__":
    main()
