"""Warm kernels against cold ones and against nbgrader, on the same lesson-01 submissions.

``measure()`` is called by ``python -m benchmarks.run --only warm``. In one run it

- times the processor time of one kernel start, until the kernel answers ``kernel_info``:
  cold (the launcher, bwrap and a kernel that imports torch) against warm (a fork of the warm
  parent: the grader's side, the parent and the new kernel's processes, all counted);
- grades N solved copies of lesson 01 with the instructor command, cold and warm
  (``COURSE_GRADING_WARM=0`` and ``1``) with ``--workers 2`` (``--parallel auto`` runs these
  light notebooks in one process that starts the next two kernels ahead), and warm with
  ``--workers 1`` (the next kernel ahead), and checks the gradebooks are the same;
- autogrades the same submissions with nbgrader 0.9.6, installed for this into a temporary
  virtual environment (never into the course's), its kernel being the course's Python;
- runs nbgrader and the warm grader once more over three times as many submissions: the
  difference is what one more submission costs, without each run's fixed start (pytest, the
  grader's and the warm parent's ``import torch``);

rounds interleaved, medians kept, each run's wall time and processor time (of everything it
started). Processor time is what the machine's load does not distort; the wall times of a
shared machine are only comparable within one run.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LESSON = "01_layers.ipynb"
NBGRADER = "nbgrader==0.9.6"
NBGRADER_VENV = Path(tempfile.gettempdir()) / "course-bench-nbgrader"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
KERNEL = "course_utils.grade.kernel_side.kernel"


# ---------------------------------------------------------------- one kernel start

def _cpu(pid: int) -> float:
    """Processor time of a process and of its children already reaped (seconds)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / CLOCK_TICKS


def _tree_cpu(root: int) -> float:
    from course_utils.grade.launcher import memory_watch

    return sum(_cpu(p) for p in [root, *memory_watch.descendants(root)])


def _connection(folder: Path) -> tuple[str, str]:
    from jupyter_client.connect import write_connection_file

    sockets = folder / f"s{uuid.uuid4().hex[:6]}"
    sockets.mkdir()
    kernel_id = str(uuid.uuid4())
    path = str(sockets / f"kernel-{kernel_id}.json")
    write_connection_file(path, transport="ipc", ip=str(sockets / "s"))
    return kernel_id, path


class _Alive:
    """No manager here: the kernel is taken to be alive until the timeout."""

    @staticmethod
    def is_alive() -> bool:
        return True


def _ready(path: str) -> None:
    from jupyter_client import BlockingKernelClient

    from course_utils.grade.pytest_side.kernel_pool import wait_until_ready

    client = BlockingKernelClient(connection_file=path)
    client.load_connection_file()
    client.start_channels()
    try:
        wait_until_ready(_Alive, client, 120)
    finally:
        client.stop_channels()


def warm_start_cpu(parent, folder: Path) -> float:
    """Processor time of one warm start: here, in the parent and in the kernel's processes."""
    from course_utils.grade.launcher import memory_watch

    server = [p for p in memory_watch.descendants(parent.process.pid)]
    before = sum(_cpu(p) for p in server)
    mine = time.process_time()
    scratch = folder / uuid.uuid4().hex[:6]
    scratch.mkdir()
    kernel_id, path = _connection(folder)
    process = parent.start_kernel(kernel_id, path, str(scratch.resolve()), 2048, 256, KERNEL,
                                  folder / "oom")
    here = time.process_time() - mine
    mine = time.process_time()
    _ready(path)
    client_side = time.process_time() - mine   # the client's own handshake, as a cold start's
    spent = here + _tree_cpu(process.pid) + sum(_cpu(p) for p in server) - before
    process.kill()
    process.wait(timeout=30)
    return spent, client_side


def cold_start_cpu(folder: Path) -> tuple[float, float]:
    """Processor time of one cold start: the launcher, bwrap and the kernel."""
    from course_utils.grade.launcher import sandbox

    scratch = folder / uuid.uuid4().hex[:6]
    scratch.mkdir()
    _kernel_id, path = _connection(folder)
    command = [sys.executable, "-I", "-m", "course_utils.grade.launcher.sandbox",
               "--memory-mb", "2048", "--marker-dir", str(folder), path]
    mine = time.process_time()
    launcher = subprocess.Popen(command, cwd=scratch, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    mine = time.process_time() - mine
    began = time.process_time()
    _ready(path)
    client_side = time.process_time() - began
    spent = mine + _tree_cpu(launcher.pid)
    launcher.terminate()
    launcher.wait(timeout=30)
    assert sandbox.problem() is None
    return spent, client_side


# ---------------------------------------------------------------- whole runs

def make_submissions(folder: Path, count: int) -> Path:
    solved = ROOT / "solutions" / LESSON
    for index in range(count):
        (folder / f"student{index:02d}").mkdir(parents=True)
        shutil.copy(solved, folder / f"student{index:02d}" / LESSON)
    return folder


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], cwd: Path, env: dict) -> tuple[float, float]:
    """Wall time and processor time of a command and everything it started (all waited for:
    pytest waits for its workers and kernels, bwrap for what runs in it)."""
    began, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - began, _children_cpu() - cpu


def _grade(root: Path, out: str, warm: bool, workers: int, subs: str = "subs") -> tuple[float, float]:
    env = dict(os.environ, COURSE_GRADING_WARM="1" if warm else "0")   # whatever the default
    command = [sys.executable, "-m", "course_utils.grade", subs, "--out", str(root / out),
               "--workers", str(workers), "--no-progress", "--fresh"]
    took = _timed(command, root, env)
    if warm and "warm kernels unavailable" in (root / out / "pytest.log").read_text(errors="replace"):
        raise RuntimeError("the warm run fell back to cold kernels")
    return took


def _points(root: Path, out: str) -> dict:
    book = json.loads((root / out / "gradebook.json").read_text())
    return {s["student"]: s["points"] for s in book["students"]}


# ---------------------------------------------------------------- nbgrader

def nbgrader_python() -> Path:
    """nbgrader in a virtual environment of its own under the temporary folder, made once."""
    python = NBGRADER_VENV / "bin" / "python"
    if not (NBGRADER_VENV / "bin" / "nbgrader").exists():
        subprocess.run([sys.executable, "-m", "venv", str(NBGRADER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", NBGRADER], check=True)
    return python


def _nbgrader_notebook(source: Path, target: Path) -> None:
    """The lesson with nbgrader's metadata: answer cells are solution cells, check cells are
    autograded test cells worth the course's points; other cells are left alone."""
    nb = nbformat.read(source, as_version=4)
    release = {c.id: c.source for c in nbformat.read(ROOT / "exercises" / LESSON, as_version=4).cells}
    for cell in nb.cells:
        course = cell.metadata.get("course", {})
        if "exercise" in course:
            cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                         "points": course.get("points", 1), "schema_version": 3,
                                         "grade_id": course["exercise"].replace(".", "_")}
        elif cell.cell_type == "code" and release.get(cell.id, cell.source) != cell.source:
            cell.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False,
                                         "schema_version": 3, "grade_id": f"answer_{cell.id}"}
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


def nbgrader_course(root: Path, count: int, name: str = "nbgrader") -> Path:
    """A course folder: the source assignment, its release in the gradebook, N submissions."""
    course = root / name
    _nbgrader_notebook(ROOT / "solutions" / LESSON, course / "source" / "l01" / LESSON)
    for index in range(count):
        _nbgrader_notebook(ROOT / "solutions" / LESSON,
                           course / "submitted" / f"student{index:02d}" / "l01" / LESSON)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.root = %r\nc.ExecutePreprocessor.timeout = 120\n"
        % str(course))
    kernels = root / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True, exist_ok=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    return course


def _nbgrader_env(root: Path, python: Path) -> dict:
    return dict(os.environ, JUPYTER_PATH=str(root / "jupyter"),
                PATH=os.pathsep.join([str(python.parent), os.environ.get("PATH", "")]))


def nbgrader_autograde(course: Path, python: Path, env: dict) -> tuple[float, float]:
    shutil.rmtree(course / "autograded", ignore_errors=True)
    return _timed([str(python.parent / "nbgrader"), "autograde", "l01", "--create", "--force"],
                  course, env)


def measure(submissions: int = 10, repeat: int = 2, starts: int = 5) -> dict:
    from course_utils.grade.launcher import warm

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="warm-bench-") as tmp:
        root = Path(tmp)
        make_submissions(root / "subs", submissions)
        parent = warm.WarmParent(hide=[], tmp_mb=256)
        try:
            cold_cpu, warm_cpu = [], []
            for _ in range(starts):
                cold_cpu.append(cold_start_cpu(root))
                warm_cpu.append(warm_start_cpu(parent, root))
        finally:
            parent.close()
        python = nbgrader_python()
        course = nbgrader_course(root, submissions)
        env = _nbgrader_env(root, python)
        subprocess.run([str(python.parent / "nbgrader"), "generate_assignment", "l01", "--force"],
                       cwd=course, env=env, check=True, capture_output=True)
        times = {"cold": [], "warm": [], "warm1": [], "nbgrader": []}
        for _ in range(repeat):
            times["nbgrader"].append(nbgrader_autograde(course, python, env))
            times["cold"].append(_grade(root, "cold", False, 2))
            times["warm"].append(_grade(root, "warm", True, 2))
            times["warm1"].append(_grade(root, "warm1", True, 1))
        # what one more submission costs: the same runs over three times as many, once
        make_submissions(root / "subs_large", 3 * submissions)
        large = nbgrader_course(root, 3 * submissions, "nbgrader_large")
        subprocess.run([str(python.parent / "nbgrader"), "generate_assignment", "l01", "--force"],
                       cwd=large, env=env, check=True, capture_output=True)
        big = {"nbgrader": nbgrader_autograde(large, python, env),
               "warm": _grade(root, "warm_large", True, 2, "subs_large"),
               "warm1": _grade(root, "warm1_large", True, 1, "subs_large")}
        same = _points(root, "cold") == _points(root, "warm") == _points(root, "warm1")
        import sqlite3

        with sqlite3.connect(course / "gradebook.db") as db:
            nbgrader_points = db.execute("select sum(auto_score) from grade").fetchone()[0]
        full = all(sum(v or 0 for v in p.values()) == 8 for p in _points(root, "warm").values())
    per = {k: statistics.median(w for w, _ in v) / submissions for k, v in times.items()}
    small = {k: statistics.median(w for w, _ in times[k]) for k in big}
    marginal = {k: round((big[k][0] - small[k]) / (2 * submissions), 3) for k in big}
    cpu = {k: statistics.median(c for _, c in v) / submissions for k, v in times.items()}
    return {"submissions": submissions, "lesson": LESSON, "repeat": repeat, "starts": starts,
            "cold_start_cpu_s": round(statistics.median(c for c, _ in cold_cpu), 3),
            "warm_start_cpu_s": round(statistics.median(w for w, _ in warm_cpu), 3),
            "client_handshake_cpu_s": round(statistics.median(c for _, c in warm_cpu), 3),
            "per_submission_s": {k: round(v, 3) for k, v in per.items()},
            "cpu_per_submission_s": {k: round(v, 3) for k, v in cpu.items()},
            "warm_vs_nbgrader_cpu": round(cpu["nbgrader"] / cpu["warm"], 2),
            "load_average": os.getloadavg()[0], "load_average_before": load_before,
            "warm1_vs_nbgrader": round(per["nbgrader"] / per["warm1"], 2),
            "marginal_s": marginal,
            "marginal_warm_vs_nbgrader": round(marginal["nbgrader"] / min(marginal["warm"], marginal["warm1"]), 2),
            "warm_vs_nbgrader": round(per["nbgrader"] / per["warm"], 2),
            "cold_vs_nbgrader": round(per["nbgrader"] / per["cold"], 2),
            "warm_vs_cold": round(per["cold"] / per["warm"], 2),
            "same_gradebook": same, "all_full_marks": full,
            "nbgrader_full_marks": nbgrader_points == 8 * submissions,
            "workers": 2, "nbgrader": NBGRADER}


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 10), indent=1))
