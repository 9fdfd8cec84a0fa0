"""Whole-course validation time against its floor, and each lesson kernel's peak memory.

The floor is what any course of this size must pay: the same number of notebooks, each with
one cell that imports torch, validated by the same pytest command. The ratio says how much
the lessons themselves cost on top of kernel start-up and the torch import.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from course_utils.notebooks import ROOT, execute

SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
NBVAL = ["--nbval", "--nbval-current-env"]
MEMORY_PROBE = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)"


def lesson_notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))


def _pytest(paths, workers: int, cwd: Path, *extra: str) -> float:
    """Wall time of one validation run. The sanitizer must sit under ``cwd`` and the rootdir be
    given: pytest takes option values that are paths into account when it picks the rootdir,
    and a rootdir above the notebooks gives every item the same id ("::Cell 0"), which xdist
    then runs only once."""
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(cwd),
            "-n", str(workers), "--dist", "loadfile", *NBVAL, *extra,
            "--nbval-sanitize-with", str((cwd / "tests" / SANITIZE.name).relative_to(cwd)),
            *(str(p.relative_to(cwd)) for p in paths)]
    start = time.perf_counter()
    run = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode != 0 or f"{expected_items(paths)} passed" not in run.stdout:
        raise RuntimeError(f"validation failed or ran other items than expected:\n{run.stdout[-2000:]}")
    return elapsed


def expected_items(paths) -> int:
    """How many nbval items the notebooks give: one per code cell."""
    return sum(sum(c.cell_type == "code" for c in nbformat.read(p, as_version=4).cells) for p in paths)


def floor_notebooks(folder: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        cell = nbformat.v4.new_code_cell("import torch")
        cell.execution_count = 1
        nb.cells.append(cell)
        path = folder / f"floor_{i:02d}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


WARM = "--warm-kernels"   # what make test runs with: kernels forked from a warm parent


def measure_validation(repeat: int = 3, workers: int = 2) -> dict:
    """Median wall time of `pytest --nbval` over the course notebooks and over the floor, each
    with nbval's own kernels (the ratio) and with make test's warm kernels (what they save)."""
    course = lesson_notebooks()
    with tempfile.TemporaryDirectory() as tmp:
        floor = floor_notebooks(Path(tmp), len(course))
        (Path(tmp) / "pytest.ini").write_text("[pytest]\n")
        (Path(tmp) / "tests").mkdir()
        shutil.copy(SANITIZE, Path(tmp) / "tests" / SANITIZE.name)
        times = {"course": [], "floor": [], "course_warm": [], "floor_warm": []}
        for _ in range(repeat):  # interleaved, so drift in machine load hits all alike
            times["course"].append(_pytest(course, workers, ROOT))
            times["floor"].append(_pytest(floor, workers, Path(tmp)))
            times["course_warm"].append(_pytest(course, workers, ROOT, WARM))
            times["floor_warm"].append(_pytest(floor, workers, Path(tmp), WARM))
    median = {k: statistics.median(v) for k, v in times.items()}
    return {"notebooks": len(course), "workers": workers, "course_s": round(median["course"], 2),
            "floor_s": round(median["floor"], 2), "ratio": round(median["course"] / median["floor"], 2),
            "goal_ratio": 1.5, "course_warm_s": round(median["course_warm"], 2),
            "floor_warm_s": round(median["floor_warm"], 2),
            "warm_saves_s": round(median["course"] - median["course_warm"], 2)}


def measure_memory() -> dict:
    """Peak resident memory (MB) of the kernel that runs each lesson top to bottom."""
    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in lesson_notebooks():
            nb = nbformat.read(path, as_version=4)
            nb.cells.append(nbformat.v4.new_code_cell(MEMORY_PROBE))
            copy = Path(tmp) / path.name
            nbformat.write(nb, copy)
            executed = execute(copy)
            text = executed.cells[-1].outputs[0]["text"]
            peaks[f"{path.parent.name}/{path.stem}"] = int(text.strip())
    return {"peak_mb": peaks, "max_mb": max(peaks.values()) if peaks else None, "goal_mb": 600}
