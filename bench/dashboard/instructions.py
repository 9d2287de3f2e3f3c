"""Instructions per dashboard, counted by callgrind: a measure of milesgate's own work per request that
does not move with whatever else the machine is doing.

wrk's requests per second need a quiet machine; on a shared one a change can still be compared before
and after by the instructions it executes. Each tree given runs its ``bench/dashboard/inprocess.py`` (the
dashboard served in-process on PostgreSQL and Redis, one request at a time) under
``valgrind --tool=callgrind`` with instrumentation off; ``gate.py`` stops it at the request loop while
this script turns instrumentation on (``callgrind_control -i on``) and again at the loop's end, so only
the ``--requests`` dashboards are counted: the app, the middleware, the executor, asyncpg's protocol and
the in-process client, not PostgreSQL's or Redis' own work. The hash seed is fixed.

Run from the project root (valgrind from Debian's packages); trees are checkouts of this project, for
example a ``git worktree`` at an older commit, all run with this project's virtual environment:
  PYTHONPATH=. .venv/bin/python bench/dashboard/instructions.py [--tree PATH ...] [--requests 100]

The trees run one after the other because they share the benchmark's database.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
GATE = Path(__file__).resolve().with_name("gate.py")
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")
START_TIMEOUT_S = 1800  # start-up and seeding run uninstrumented under valgrind: minutes on a busy machine


@dataclass(frozen=True)
class Tools:
    valgrind: str
    control: str


def _wait_for(path: Path, run: subprocess.Popen[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if run.poll() is not None or time.monotonic() > deadline:
            _, err = run.communicate(timeout=60) if run.poll() is None else run.communicate()
            raise SystemExit(f"the run ended or stalled before {path.name}\n{(err or '')[-4000:]}")
        time.sleep(0.05)


def instructions(tools: Tools, tree: Path, requests: int, history: int, *, apq: bool) -> int:
    """The instructions callgrind counted while ``requests`` dashboards of ``tree`` ran."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory(prefix="milesgate-gate-") as folder:
        gate = Path(folder)
        run = subprocess.Popen(  # noqa: S603 - valgrind on our own benchmark
            [
                tools.valgrind,
                "--tool=callgrind",
                "--instr-atstart=no",
                "--callgrind-out-file=/dev/null",
                sys.executable,
                str(GATE),
                str(gate),
                str(tree / "bench" / "dashboard" / "inprocess.py"),
                "--requests",
                str(requests),
                "--history",
                str(history),
                *(["--apq"] if apq else []),
            ],
            cwd=tree,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for mine, switch, theirs in (("ready", "on", "go"), ("done", "off", "stopped")):
            _wait_for(gate / mine, run, START_TIMEOUT_S)
            subprocess.run(  # noqa: S603 - callgrind_control on our own run
                [tools.control, "-i", switch, str(run.pid)], check=True, capture_output=True, timeout=120
            )
            (gate / theirs).touch()
        out, err = run.communicate(timeout=START_TIMEOUT_S)
    found = COLLECTED.findall(err)
    if run.returncode != 0 or not found:
        raise SystemExit(f"{tree}: the run failed\n{out[-2000:]}\n{err[-4000:]}")
    return int(found[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", action="append", type=Path, help="a checkout (default: this one)")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--history", type=int, default=10, help="postings of the seeded member")
    parser.add_argument(
        "--apq", action="store_true", help="send the hash only, as the dashboard bench's persisted case does"
    )
    args = parser.parse_args()
    if not 1 <= args.requests <= 2_000:
        parser.error("--requests is 1 to 2,000: the load is bounded")
    valgrind, control = shutil.which("valgrind"), shutil.which("callgrind_control")
    if valgrind is None or control is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    tools = Tools(valgrind=valgrind, control=control)
    trees = [tree.resolve() for tree in (args.tree or [ROOT])]
    results = []
    for tree in trees:
        per_request = instructions(tools, tree, args.requests, args.history, apq=args.apq) / args.requests
        revision = subprocess.run(  # noqa: S603 - git on our own checkout
            [shutil.which("git") or "git", "rev-parse", "--short", "HEAD"],
            cwd=tree,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        results.append(
            {"tree": tree.name, "revision": revision, "instructions_per_dashboard": round(per_request)}
        )
        print(orjson.dumps(results[-1]).decode(), flush=True)
    first = results[0]["instructions_per_dashboard"]
    for result in results[1:]:
        share = result["instructions_per_dashboard"] / first
        print(f"{result['revision']}: {share:.3f} x the instructions of {results[0]['revision']}")


if __name__ == "__main__":
    main()
