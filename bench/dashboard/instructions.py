"""Instructions per dashboard, counted by callgrind: a measure of milesgate's own work per request that
does not move with whatever else the machine is doing.

wrk's requests per second need a quiet machine; on a shared one a change can still be compared before
and after by the instructions it executes. Each tree given runs ``bench/dashboard/inprocess.py`` (the
dashboard served in-process on PostgreSQL and Redis, one request at a time) under
``valgrind --tool=callgrind`` twice, with ``--low`` and ``--high`` requests, the hash seed fixed. Start-up
and seeding are the same in both runs, so the difference divided by the difference in requests is the
instructions of one dashboard: the app, the middleware, the executor, asyncpg's protocol and the
in-process client, not PostgreSQL's or Redis' own work.

Run from the project root (valgrind from Debian's packages); trees are checkouts of this project, for
example a ``git worktree`` at an older commit, all run with this project's virtual environment:
  PYTHONPATH=. .venv/bin/python bench/dashboard/instructions.py [--tree PATH ...] [--low 20] [--high 220]

Each run takes minutes (callgrind runs Python some 50 times slower); the trees run one after the other
because they share the benchmark's database.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def instructions(valgrind: str, tree: Path, requests: int, history: int) -> int:
    """Every instruction callgrind counted in one run of the in-process dashboard of ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    result = subprocess.run(  # noqa: S603 - valgrind on our own benchmark
        [
            valgrind,
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            str(tree / "bench" / "dashboard" / "inprocess.py"),
            "--requests",
            str(requests),
            "--history",
            str(history),
        ],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    found = COLLECTED.findall(result.stderr)
    if result.returncode != 0 or not found:
        raise SystemExit(f"{tree}: the run failed\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return int(found[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", action="append", type=Path, help="a checkout (default: this one)")
    parser.add_argument("--low", type=int, default=20)
    parser.add_argument("--high", type=int, default=220)
    parser.add_argument("--history", type=int, default=10, help="postings of the seeded member")
    args = parser.parse_args()
    if not 1 <= args.low < args.high <= 2_000:
        parser.error("1 <= --low < --high <= 2000: the load is bounded")
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    trees = [tree.resolve() for tree in (args.tree or [ROOT])]
    results = []
    for tree in trees:
        low = instructions(valgrind, tree, args.low, args.history)
        high = instructions(valgrind, tree, args.high, args.history)
        per_request = (high - low) / (args.high - args.low)
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
