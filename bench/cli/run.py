"""``milesgate --help`` against a bare ``python -c "import typer"``, timed in the same run (issue 19, item 6).

Both commands run as fresh processes, interleaved (one of each per round), so the machine's load of the
moment weighs on both alike; the ratio of their medians is what to compare across machines and days. Each
run's wall time and CPU time (user + system of the child process) are recorded: on a busy machine the CPU
time is the steadier of the two. The
target is ``milesgate --help`` under 0.5 s. With ``--hyperfine`` and hyperfine on the PATH, hyperfine
measures the same two commands as a cross-check. With ``--code DIR`` the help timed is that of another
checkout's code (``python -m gateway.cli --help`` with ``PYTHONPATH=DIR``), for a before-and-after.

    .venv/bin/python bench/cli/run.py --rounds 20
"""

from __future__ import annotations

import argparse
import os
import resource
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
CWD = [ROOT]  # where the commands run; --code: that checkout (python -m puts the working directory first)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_once(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command``."""
    cpu = _children_cpu_s()
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own CLI and this interpreter
        command, cwd=CWD[0], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - started, _children_cpu_s() - cpu


def measure(rounds: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    for command in COMMANDS.values():  # warm the file cache and the bytecode of both
        time_once(command)
    wall: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, command in COMMANDS.items():
            wall_s, cpu_s = time_once(command)
            wall[name].append(wall_s)
            cpu[name].append(cpu_s)
    return wall, cpu


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
        CWD[0] = args.code.resolve()
        COMMANDS[HELP] = [sys.executable, "-m", "gateway.cli", "--help"]
        print(f"milesgate --help: python -m gateway.cli --help with PYTHONPATH={args.code}")
    wall, cpu = measure(args.rounds)
    print(f"{args.rounds} runs each, interleaved, on {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"{'command':<28} {'wall min':>9} {'median':>7} {'max':>7}   {'CPU min':>8} {'median':>7}")
    for name in COMMANDS:
        print(
            f"{name:<28} {min(wall[name]):9.3f} {statistics.median(wall[name]):7.3f} {max(wall[name]):7.3f}"
            f"   {min(cpu[name]):8.3f} {statistics.median(cpu[name]):7.3f}"
        )
    for label, times in (("wall", wall), ("CPU", cpu)):
        ratio = statistics.median(times[HELP]) / statistics.median(times[TYPER])
        print(f"ratio milesgate --help / import typer, {label} medians: {ratio:.2f}")
    help_s = statistics.median(wall[HELP])
    verdict = "met" if help_s < TARGET_S else "NOT met"
    print(f"target milesgate --help < {TARGET_S} s (wall median): {verdict} ({help_s:.3f} s)")
    if args.hyperfine:
        hyperfine(args.rounds)


if __name__ == "__main__":
    main()
