"""The end of ``.ci/run``: a table of every part (exit status, counts, seconds) and the verdict.

Usage: ``python .ci/summary.py REPORTS_DIR TOTAL_SECONDS``. ``REPORTS_DIR`` holds ``parts.tsv`` (name, exit
status, seconds per line) and one JUnit XML report per suite (``embedded.xml``, ``production.xml``,
``redis-cluster.xml``). The last line printed is ``N passed, N failed`` over all of them; the exit status is 1 if any part failed.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

SUITES = ("embedded", "production", "redis-cluster")


@dataclass(frozen=True)
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.passed + other.passed, self.failed + other.failed, self.skipped + other.skipped)


def suite_counts(report: Path) -> Counts | None:
    """Counts from a JUnit report; None when the suite left none (it did not get to run)."""
    if not report.is_file():
        return None
    root = ET.parse(report).getroot()  # noqa: S314  (our own pytest's report, not untrusted input)
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = failures = errors = skipped = 0
    for suite in suites:
        tests += int(suite.get("tests", 0))
        failures += int(suite.get("failures", 0))
        errors += int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return Counts(passed=tests - failures - errors - skipped, failed=failures + errors, skipped=skipped)


def main(reports: Path, total_s: int) -> int:
    rows = [line.split("\t") for line in (reports / "parts.tsv").read_text().splitlines() if line]
    total = Counts()
    failed_parts = []
    print(f"\n{'part':<48} {'result':<8} {'seconds':>7}  tests")
    print("-" * 100)
    for name, code, seconds in rows:
        result = "ok" if code == "0" else f"FAILED({code})"
        detail = ""
        stack = name.removeprefix("suite: ")
        if stack in SUITES:
            counts = suite_counts(reports / f"{stack}.xml")
            if counts is None:
                detail = "no report: the suite did not run"
                counts = Counts(failed=1) if code != "0" else Counts()
            else:
                detail = f"{counts.passed} passed, {counts.failed} failed, {counts.skipped} skipped"
            total += counts
        if code != "0":
            failed_parts.append(name)
        print(f"{name:<48} {result:<8} {seconds:>7}  {detail}")
    print("-" * 100)
    minutes, seconds = divmod(total_s, 60)
    if failed_parts:
        print(f"FAILED parts: {', '.join(failed_parts)}  (whole run {minutes} min {seconds} s)")
    else:
        print(f"every part passed  (whole run {minutes} min {seconds} s)")
    print(f"{total.passed} passed, {total.failed} failed")
    return 1 if failed_parts else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2])))
