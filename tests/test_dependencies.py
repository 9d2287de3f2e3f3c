"""Every import names a declared dependency: deptry over the project, its tests and its benchmarks.

An import that works only because another package happens to pull its distribution in (``httpx`` through
svix, ``cryptography`` through Authlib) breaks the day that package changes its own requirements.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _deptry(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deptry", "."],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"NO_COLOR": "1", "PATH": str(Path(sys.executable).parent)},
    )


def test_every_import_is_a_declared_dependency() -> None:
    result = _deptry(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_undeclared_import_fails_the_check(tmp_path: Path) -> None:
    # given: a project that imports a distribution it does not declare (installed here through others)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "probe"\nversion = "0"\ndependencies = ["svix>=1"]\n', encoding="utf-8"
    )
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "__init__.py").write_text("import svix\nimport httpx\n", encoding="utf-8")

    # when
    result = _deptry(tmp_path)

    # then: the transitive import is named, the declared one is not
    assert result.returncode == 1, result.stdout + result.stderr
    report = result.stdout + result.stderr
    assert "'httpx' imported but it is a transitive dependency" in report
    assert "'svix'" not in report
