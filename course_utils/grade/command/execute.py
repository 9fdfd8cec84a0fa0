"""The execute stage: one pytest run over the prepared notebooks, with the grading plugin.

The run loads exactly its own plugins (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``), so a pytest plugin
the instructor happens to have installed never runs beside student code. Larger runs use
pytest-xdist; a small one (a regrade of a few resubmissions) is one process that starts the
next kernels while a notebook runs (``kernel_pool``). The plugin writes its records into a
private folder; pytest's own output goes to ``OUT/pytest.log``. A pytest that cannot start,
exits with a usage or internal error or is killed raises ``GradingError``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from course_utils.grade.command.errors import GradingError

PYTEST_STATUS = {2: "interrupted", 3: "internal error", 4: "usage error",
                 5: "no notebook was collected"}


# The plugins a grading run loads, in this order and no others.
PLUGINS = ("course_utils.grade.pytest_side.plugin", "nbval.plugin")
XDIST_PLUGIN = "xdist.plugin"
# ... and builtin ones it turns off: unraisableexception collects garbage again and again at the
# end of each pytest process (about a second) to report warnings no grade reads
NOT_LOADED = ("no:cacheprovider", "no:unraisableexception")
SMALL_RUN = 2   # notebooks per worker up to which one process grades them all


def parallel_workers(settings, notebooks: int) -> int:
    """pytest-xdist workers for this run, 1 for one process that starts kernels ahead.

    A kernel takes about two seconds to start and an exercise notebook far less to run, so
    one process that starts the next ``workers`` kernels while a notebook runs keeps every
    core busy; pytest-xdist's workers add their own start (a second or two each) and pay
    off only when each has several notebooks to run, whose cells then run in parallel too."""
    return settings.workers if notebooks > SMALL_RUN * settings.workers else 1


def run_pytest(settings, work: Path, prepared, private: Path, modules: list[str]) -> Path:
    """One pytest --nbval-lax run over the prepared notebooks; returns the records file."""
    workers = parallel_workers(settings, len(prepared.notebooks))
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
