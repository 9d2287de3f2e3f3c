"""Runs a tree's ``bench/dashboard/inprocess.py`` with a gate around its request loop, for
``instructions.py``: the loop's first ``time.process_time()`` call waits until the controller has turned
callgrind's instrumentation on, the second until it has turned it off, so only the loop is counted.

  python gate.py GATE_DIR INPROCESS_PY [inprocess arguments]

Files in GATE_DIR: this side writes ``ready`` and ``done``; the controller answers ``go`` and ``stopped``.
The gate is outside the measured tree, so older checkouts are measured as they are."""

from __future__ import annotations

import runpy
import sys
import time
from pathlib import Path

POLL_S = 0.01


def main() -> None:
    gate = Path(sys.argv[1])
    target = Path(sys.argv[2])
    real = time.process_time
    steps = iter((("ready", "go"), ("done", "stopped")))

    def gated() -> float:
        step = next(steps, None)
        if step is not None:
            mine, theirs = step
            (gate / mine).touch()
            while not (gate / theirs).exists():
                time.sleep(POLL_S)
        return real()

    time.process_time = gated
    sys.argv = [str(target), *sys.argv[3:]]
    sys.path.insert(0, str(target.parents[2]))
    runpy.run_path(str(target), run_name="__main__")


if __name__ == "__main__":
    main()
