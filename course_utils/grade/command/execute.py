"""The execute stage: one pytest run over the prepared notebooks, with the grading plugin.

The run loads exactly its own plugins (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``), so a pytest plugin
the instructor happens to have installed never runs beside student code. Notebooks that
compute for seconds run side by side in pytest-xdist workers; lighter ones in one process
that starts the next kernels while a notebook runs (``parallel_workers``, ``kernel_pool``).
The plugin writes its records into a private folder; pytest's own output goes to
``OUT/pytest.log``. A pytest that cannot start, exits with a usage or internal error or is
killed raises ``GradingError``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from course_utils.grade.command.errors import GradingError
from course_utils.grade.contract import (KERNEL_SECONDS, LIGHT_KERNEL_SECONDS, SIDE_BY_SIDE_FROM_S,
                                         Parallel)

PYTEST_STATUS = {2: "interrupted", 3: "internal error", 4: "usage error",
                 5: "no notebook was collected"}


# The plugins a grading run loads, in this order and no others.
PLUGINS = ("course_utils.grade.pytest_side.plugin", "nbval.plugin")
XDIST_PLUGIN = "xdist.plugin"
# ... and builtin ones it turns off: unraisableexception collects garbage again and again at the
# end of each pytest process (about a second) to report warnings no grade reads
NOT_LOADED = ("no:cacheprovider", "no:unraisableexception")
CATALOG = "catalog.json"   # in the private folder: the exercises' titles and hints (judge.write_catalog)


def parallel_workers(settings, notebooks: int, kernel_seconds: float) -> int:
    """pytest-xdist workers for this run, 1 for one process that starts kernels ahead.

    One process runs a notebook while it starts the next ``workers`` kernels, so the starts
    overlap the notebooks; xdist's workers each add their own pytest, ``import torch`` and
    warm parent, and every cell's report travels to their controller. Measured on 2 cores
    (warm kernels): 30 solved lesson-01 notebooks took 8.0 s in one process and 14.9 s in two
    workers; 8 lesson-08 notebooks, which train for about ten seconds each, 94 s in one process
    and 60 s in two. So with ``--parallel auto`` notebooks run side by side only where they
    compute for seconds: ``kernel_seconds``, the mean their lessons declare."""
    workers = min(settings.workers, notebooks)
    if workers <= 1 or settings.parallel == Parallel.ONE_PROCESS:
        return 1
    if settings.parallel == Parallel.SIDE_BY_SIDE:
        return workers
    return workers if kernel_seconds >= SIDE_BY_SIDE_FROM_S else 1


def kernel_seconds(prepared) -> float:
    """The mean of what the notebooks' lessons declare a solved notebook computes in its
    kernel (``KERNEL_SECONDS`` of their exercise modules, read without importing them)."""
    from course_utils.grade.command import prepare
    from course_utils.exercises.engine import declared

    per_lesson: dict[str, float] = {}
    for _path, _submission, release in prepared.notebooks:
        if release.path.stem not in per_lesson:
            modules = prepare.checked_modules(release.nb.cells)
            per_lesson[release.path.stem] = max(
                [declared(m, KERNEL_SECONDS, float, LIGHT_KERNEL_SECONDS) or LIGHT_KERNEL_SECONDS
                 for m in modules] or [LIGHT_KERNEL_SECONDS])
    seconds = [per_lesson[release.path.stem] for _path, _submission, release in prepared.notebooks]
    return sum(seconds) / len(seconds) if seconds else 0.0


def run_pytest(settings, work: Path, prepared, private: Path, modules: list[str]) -> Path:
    """One pytest --nbval-lax run over the prepared notebooks; returns the records file."""
    workers = parallel_workers(settings, len(prepared.notebooks), kernel_seconds(prepared))
    if workers > 1:
        try:
            import xdist  # noqa: F401
        except ImportError:
            raise GradingError("pytest-xdist is not installed: install it "
                               "(pip install pytest-xdist) or grade with --workers 1") from None
    records_file, progress = private / "records.jsonl", private / "progress.txt"
    ini = private / "pytest.ini"
    ini.write_text("[pytest]\naddopts =\n")
    plugins = PLUGINS + ((XDIST_PLUGIN,) if workers > 1 else ())
    command = [sys.executable, "-m", "pytest", *(a for p in plugins for a in ("-p", p)),
               "-c", str(ini), "--rootdir", str(work), *(a for p in NOT_LOADED for a in ("-p", p)),
               "--noconftest", "--nbval-lax",
               "--nbval-cell-timeout", str(settings.timeout),
               "--grading-records", str(records_file), "--grading-progress", str(progress),
               "--grading-catalog", str(private / CATALOG),
               "--grading-memory-mb", str(settings.memory_mb),
               "--grading-notebook-timeout", str(settings.notebook_timeout),
               "--grading-exercises", ",".join(modules), "-q", "--tb=line", "-W", "ignore"]
    solutions = Path(settings.release).resolve().parent / "solutions"   # beside the release
    for hidden in (settings.submissions, settings.out, settings.release, solutions, work, private):
        command += ["--grading-hide", str(Path(hidden).resolve())]
    if not settings.sandbox:
        command.append("--grading-no-sandbox")
    if workers > 1:
        command += ["-n", str(workers), "--dist", "loadfile"]
    else:
        command += ["--grading-start-ahead", str(min(settings.workers, os.cpu_count() or 1))]
    command += [str(path) for path, _, _ in prepared.notebooks]
    env = dict(os.environ, COURSE_GRADING="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    settings.out.mkdir(parents=True, exist_ok=True)
    log_path = settings.out / "pytest.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   cwd=private)
        _follow(process, progress, prepared.cells, settings.progress)
    code = process.returncode
    if code < 0:
        raise GradingError(f"pytest was killed by signal {-code}; see {log_path}")
    if code not in (0, 1):
        raise GradingError(f"pytest exited with status {code} ({PYTEST_STATUS.get(code, 'error')}):"
                           f" {_last_line(log_path)} (see {log_path})")
    if not records_file.exists():
        raise GradingError(f"pytest wrote no records; see {log_path}")
    return records_file


def _last_line(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("ERROR", "error", "E "))]
    return (errors or lines or ["(no output)"])[-1][:300]


def _follow(process, progress: Path, total: int, show: bool) -> None:
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="cell", desc="grading", file=sys.stderr)
    while True:
        try:
            process.wait(timeout=0.3)   # returns as soon as pytest ends
            break
        except subprocess.TimeoutExpired:
            pass
        if bar is not None and progress.exists():
            bar.update(min(total, progress.stat().st_size) - bar.n)
    if bar is not None:
        bar.update(total - bar.n)
        bar.close()
