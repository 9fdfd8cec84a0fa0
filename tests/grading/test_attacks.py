"""A hostile class graded by the instructor command: attackers earn nothing they did not solve,
victims keep exactly what they earned, nothing outlives the run, and an infrastructure failure
is loud instead of a column of zeros. Checks run in the grader's own process, so no attack in a
kernel can change a verdict (attack class 7); only an edited check cell or a refused file is
flagged.

One grading run (module fixture) over ``attacks.ATTACKS``; the loud-failure tests run the
command in ways that break it before any kernel starts.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import attacks
from course_utils.grade.command import gradebook

pytestmark = pytest.mark.slow
ENV = {"PYTHONPATH": str(attacks.FIXTURES), "COURSE_GRADING_PRELOAD": ""}


def _command(submissions: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "course_utils.grade", str(submissions), "--out", str(out),
            "--release", str(attacks.RELEASE), "--no-progress", *extra]


def _install_digest() -> str:
    """What an attack on the installation would change: course_utils' files, site-packages'
    top level (a .pth, sitecustomize), the interpreter folder."""
    import course_utils
    import site

    digest = hashlib.sha256()
    for path in sorted(Path(course_utils.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    for folder in site.getsitepackages() + [os.path.dirname(sys.executable)]:
        digest.update("\n".join(sorted(os.listdir(folder))).encode())
    return digest.hexdigest()


def _processes_with(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(entry.name)
        except OSError:
            continue
    return found


# About 35 notebooks: side by side in two pytest-xdist workers, or in one process that starts
# kernels ahead while a neighbour's notebook runs (execute.parallel_workers); every attack must
# fail the same way in both.
MODES = {"xdist": ("--workers", "2", "--parallel", "side-by-side"),
         "one process": ("--workers", "2", "--parallel", "one-process")}
# Each kernel started cold (bwrap per kernel) or forked from the warm parent (launcher.warm).
KERNELS = {"cold": {"COURSE_GRADING_WARM": "0"}, "warm": {"COURSE_GRADING_WARM": "1"}}


@pytest.fixture(scope="module", params=[(m, k) for m in sorted(MODES) for k in KERNELS],
                ids=lambda p: f"{p[0]}-{p[1]}")
def attack_run(tmp_path_factory, request):
    mode, kernels = request.param
    root = tmp_path_factory.mktemp("attacks")
    submissions = attacks.build(root / "submissions")
    before = _install_digest()
    done = subprocess.run(_command(submissions, root / "out", *MODES[mode],
                                   "--timeout", "10",
                                   "--notebook-timeout", "20", "--memory-mb", "1024"),
                          capture_output=True, text=True, timeout=900, cwd=root,
                          env=dict(os.environ, **ENV, **KERNELS[kernels]))
    assert done.returncode == 0, done.stderr[-3000:]
    log = (root / "out" / "pytest.log").read_text(errors="replace")
    assert ("bringing up nodes" in log) == (mode == "xdist"), log[:500]
    assert "warm kernels unavailable" not in log, log[-3000:]
    time.sleep(1.0)   # a process left behind would have rewritten the gradebook by now
    return root / "out", done, before


def _rows(out: Path) -> dict:
    return {row["student"]: row for row in gradebook.read(out)["students"]}


@pytest.mark.parametrize("student", sorted(attacks.ATTACKS))
def test_each_student_gets_exactly_the_row_it_earned(attack_run, student):
    out, _done, _before = attack_run
    _class, _build, points, flagged, note = attacks.ATTACKS[student]
    row = _rows(out)[student]
    assert row["points"] == points, json.dumps(row, indent=1)[:3000]
    assert row["flagged"] is flagged, row["notes"]
    assert note in "; ".join(row["notes"]), row["notes"]


def test_the_class_maximum_and_roster_are_the_release_s(attack_run):
    out, _done, _before = attack_run
    book = gradebook.read(out)
    assert book["maximum"] == 12
    assert [e["id"] for e in book["exercises"]] == [f"lesson9{l}.q{q}" for l in (0, 1) for q in (1, 2, 3)]
    expected = set(attacks.ATTACKS) | {"caf\\xe9", "x" * 250}
    assert set(_rows(out)) == expected


def test_odd_folder_names_are_graded_under_a_readable_name(attack_run):
    out, _done, _before = attack_run
    rows = _rows(out)
    for name in ("caf\\xe9", "x" * 250):
        assert rows[name]["total"] == 6, rows[name]
        assert (out / "feedback" / f"{rows[name]['key']}.md").exists()


def test_nothing_outlives_the_run_and_the_gradebook_stays_the_grader_s(attack_run):
    out, _done, _before = attack_run
    assert _processes_with(attacks.PROCESS_MARKER) == []
    json.loads((out / "gradebook.json").read_text())
    assert "rewritten" not in (out / "gradebook.csv").read_text()


def test_a_module_planted_in_its_own_folder_never_becomes_the_kernel(attack_run):
    """After the kernel died, the new kernel started from its own code: the wrong answers got
    the genuine check's verdicts, not a fault and not a forged pass."""
    out, _done, _before = attack_run
    details = _rows(out)["self_shadow"]["details"]
    assert details["lesson90.q2"]["status"] == "not correct", json.dumps(details, indent=1)
    assert "That is not the number we are looking for." in details["lesson90.q2"]["message"]
    assert details["lesson90.q3"]["status"] == "not correct", details


def test_the_installation_is_unchanged(attack_run):
    _out, _done, before = attack_run
    assert _install_digest() == before


def test_no_secret_reaches_feedback(attack_run):
    out, _done, _before = attack_run
    stolen = (out / "feedback" / "reads_secrets.md").read_text()
    assert "found nothing to steal" in stolen
    for path in (out / "feedback").glob("*.md"):
        text = path.read_text()
        assert "STOLEN: /" not in text and "def double(x):\n    return 2 * x" not in text


def test_the_summary_counts_the_flagged(attack_run):
    _out, done, _before = attack_run
    flagged = sorted(s for s, a in attacks.ATTACKS.items() if a[3])
    assert f"flagged (check cells changed): {len(flagged)}" in done.stdout


# ------------------------------------------------------------------ loud, never silent zeros

def _loud(tmp_path, env=None, *extra, students=("ada", "bo")):
    submissions = tmp_path / "subs"
    for student in students:
        (submissions / student).mkdir(parents=True)
        (submissions / student / attacks.L90).write_bytes(attacks.SOLUTIONS[attacks.L90].read_bytes())
    done = subprocess.run(_command(submissions, tmp_path / "out", *extra), capture_output=True,
                          text=True, timeout=300, env={**os.environ, **ENV, **(env or {})})
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert not (tmp_path / "out" / "gradebook.csv").exists()
    assert not (tmp_path / "out" / "gradebook.json").exists()
    return done.stderr


def test_a_pytest_usage_error_is_loud(tmp_path):
    stderr = _loud(tmp_path, {"PYTEST_ADDOPTS": "--no-such-option"})
    assert "pytest exited with status 4 (usage error)" in stderr


def test_missing_pytest_xdist_is_loud(tmp_path):
    fake = tmp_path / "fake"
    (fake / "xdist").mkdir(parents=True)
    (fake / "xdist" / "__init__.py").write_text("raise ImportError('no xdist here')\n")
    stderr = _loud(tmp_path, {"PYTHONPATH": os.pathsep.join([str(fake), str(attacks.FIXTURES)])},
                   "--workers", "2", "--parallel", "side-by-side", students=("ada", "bo", "cy"))
    assert "pytest-xdist is not installed" in stderr


def test_kernels_that_cannot_start_are_loud(tmp_path):
    """Without its exercise module no kernel can check anything: that is the grader's failure."""
    stderr = _loud(tmp_path, {"PYTHONPATH": str(tmp_path / "nowhere")}, "--workers", "1",
                   "--timeout", "5")
    assert "no notebook could be graded: the grader could not find exercise lesson90." in stderr
