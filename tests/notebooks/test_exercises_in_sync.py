"""exercises/ must be exactly what the release makes from solutions/ (CI fails when stale)."""

import subprocess
import sys

from course_utils.exercises import release
from course_utils.notebooks import ROOT


def test_every_exercise_notebook_is_released_from_its_solution():
    released, orphans = release.plan(ROOT)   # also fails on any bad source, naming notebook and cell
    stale = release.stale(released)
    assert not stale, ("exercises/ is stale; run `python -m course_utils.exercises.release`: "
                       + ", ".join(str(p.relative_to(ROOT)) for p in stale))
    assert not orphans, f"exercise notebooks without a source in solutions/: {orphans}"
    assert {r.source.name for r in released} == {p.name for p in (ROOT / "solutions").glob("*.ipynb")}


def test_release_check_command_agrees():
    result = subprocess.run([sys.executable, "-m", "course_utils.exercises.release", "--check"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout
