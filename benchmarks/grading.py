"""Grading speed: the instructor command against plain ``pytest --nbval-lax``, 1 worker vs 2.

``measure()`` is called by ``python -m benchmarks.run``. It builds N submissions from the
course's own notebooks (a mix of correct, partly wrong and broken), then times, each
``repeat`` times (median kept):

- plain ``pytest --nbval-lax --nbval-current-env`` over the same files, one process;
- ``python -m course_utils.grade`` with ``--workers 1`` (the overhead ratio compares these two):
  one pytest process that starts the next notebook's kernel while one runs;
- ``python -m course_utils.grade`` with ``--workers 2 --parallel side-by-side`` (the speed-up
  compares 1 and 2 workers): two pytest-xdist workers (``--parallel auto``, the default, runs
  these light notebooks in one process);
- the same with ``--no-sandbox``, against the sandbox with cold kernels (what bubblewrap costs:
  warm kernels, the default, need the sandbox, so the sandbox's cost is measured cold on both sides);
- the default (warm kernels) against cold ones, 1 worker;
- a regrade after 3 of the submissions changed, with the cache of the 2-worker run, against the
  faster full run (what incremental regrading saves).
"""

from __future__ import annotations

import copy
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SIDE_BY_SIDE = ("--parallel", "side-by-side")   # two pytest-xdist workers, whatever auto chooses


def _lesson() -> str:
    names = sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb")
                   if (ROOT / "exercises" / p.name).exists())
    if not names:
        raise RuntimeError("no lesson has both solutions/ and exercises/ notebooks yet")
    return names[0]


def make_submissions(folder: Path, count: int, lesson: str | None = None, seed: int = 0) -> dict:
    """``folder/<student>/<lesson>``: 70 % correct, 20 % partly wrong, 10 % broken."""
    lesson = lesson or _lesson()
    solution = nbformat.read(ROOT / "solutions" / lesson, as_version=4)
    release = {c.id: c for c in nbformat.read(ROOT / "exercises" / lesson, as_version=4).cells}
    answers = [c for c in solution.cells if c.id in release and c.source != release[c.id].source]
    rng = random.Random(seed)
    kinds = {"correct": 0, "partly_wrong": 0, "broken": 0}
    for index in range(count):
        student = folder / f"student{index:04d}"
        student.mkdir(parents=True)
        roll = rng.random()
        if roll < 0.1:
            (student / lesson).write_text('{"cells": [')  # truncated upload
            kinds["broken"] += 1
            continue
        nb = copy.deepcopy(solution)
        if roll < 0.3 and answers:
            stubbed = rng.choice(answers)
            next(c for c in nb.cells if c.id == stubbed.id).source = release[stubbed.id].source
            kinds["partly_wrong"] += 1
        else:
            kinds["correct"] += 1
        nbformat.write(nb, student / lesson)
    return {"lesson": lesson, **kinds}


def _timed(command: list[str], cwd: Path, **env: str) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, **env))
    return time.perf_counter() - start


def measure(submissions: int = 100, repeat: int = 1) -> dict:
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        root = Path(tmp)
        mix = make_submissions(root / "subs", submissions)
        plain = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", str(root / "none.ini"),
                 "--rootdir", str(root), "--continue-on-collection-errors", "--nbval-lax",
                 "--nbval-current-env", "-q", "subs"]
        (root / "none.ini").write_text("[pytest]\n")

        def grade(workers: int, *extra: str, out: str = "") -> list[str]:
            return [sys.executable, "-m", "course_utils.grade", "subs", "--out",
                    str(root / (out or f"out{workers}")), "--workers", str(workers),
                    "--no-progress", *extra]

        times = {"plain": [], 1: [], 2: [], "cold1": [], "cold2": [], "open": [], "regrade": []}
        for _ in range(repeat):
            times["plain"].append(_timed(plain, root))
            times[1].append(_timed(grade(1, "--fresh"), root))
            times[2].append(_timed(grade(2, "--fresh", *SIDE_BY_SIDE), root))
            times["cold1"].append(_timed(grade(1, "--fresh", out="cold1"), root, COURSE_GRADING_WARM="0"))
            times["cold2"].append(_timed(grade(2, "--fresh", *SIDE_BY_SIDE, out="cold2"), root,
                                         COURSE_GRADING_WARM="0"))
            times["open"].append(_timed(grade(2, "--fresh", "--no-sandbox", *SIDE_BY_SIDE, out="open"), root))
            changed = _change_three(root / "subs")
            times["regrade"].append(_timed(grade(2), root))
            _restore(changed)
    plain_s, one, two, cold1, cold2, open_s, regrade = (
        statistics.median(times[k]) for k in ("plain", 1, 2, "cold1", "cold2", "open", "regrade"))
    return {"submissions": submissions, "mix": mix, "plain_s": plain_s, "grade_s": one,
            "one_worker_s": one, "two_workers_s": two, "overhead_ratio": one / plain_s,
            "speedup": one / two, "cold_one_worker_s": cold1, "cold_two_workers_s": cold2,
            "no_sandbox_s": open_s, "sandbox_cost": cold2 / open_s - 1,
            "regrade_s": regrade, "regrade_ratio": regrade / min(one, two), "repeat": repeat}


def _change_three(folder: Path) -> dict[Path, bytes]:
    """Three readable submissions get one more markdown cell: new content, same verdicts."""
    changed = {}
    for path in sorted(folder.glob("*/*.ipynb")):
        if len(changed) == 3:
            break
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - the broken uploads of the mix
            continue
        changed[path] = path.read_bytes()
        nb.cells.append(nbformat.v4.new_markdown_cell("Resubmitted."))
        nbformat.write(nb, path)
    return changed


def _restore(changed: dict[Path, bytes]) -> None:
    for path, raw in changed.items():
        path.write_bytes(raw)


if __name__ == "__main__":
    import json

    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 100), indent=1))
