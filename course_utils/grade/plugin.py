"""pytest plugin: nbval results of check cells become points, faults become reasons.

Active only with ``--gradebook PATH`` (or ``--grading-records PATH``, used by
``python -m course_utils.grade``); plain ``pytest --nbval`` is untouched. When active it

- runs every notebook in the grading kernel (``course_utils.grade.kernel``: memory and output
  caps, tamper snapshot) with ``COURSE_GRADING=1``;
- maps each nbval item to its exercise through the cell's metadata
  (``{"course": {"exercise": ..., "points": ...}}``), never through item names;
- notices a dead kernel within a second instead of waiting for the cell timeout, and after a
  dead kernel, a timeout or a ``MemoryError`` starts a new kernel and replays the notebook's
  other cells, so one runaway cell costs only its own exercise;
- writes the records (JSON lines, as cells finish: the instructor command's progress bar reads
  them) and the gradebook at the end. Works with pytest-xdist (``--dist loadfile``): records
  travel from workers to the controller in ``report.user_properties``.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

import pytest

from course_utils.grade import gradebook
from course_utils.grade.kernel import GUARD_MIME, TRUNCATION_NOTE

KERNEL_NAME = "course-grading"
PROPERTY = "course_grading"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MESSAGE_CHARS = 2000


class KernelDied(RuntimeError):
    """The kernel process ended while a cell ran (os._exit, exit(), a crash, the OOM killer)."""


def pytest_addoption(parser):
    group = parser.getgroup("course grading")
    group.addoption("--gradebook", default=None, metavar="PATH",
                    help="grade check cells; write points per exercise per student to PATH "
                         "(CSV, or JSON when PATH ends in .json)")
    group.addoption("--grading-records", default=None, metavar="PATH",
                    help="grade check cells; append one JSON line per graded cell to PATH")
    group.addoption("--grading-progress", default=None, metavar="PATH",
                    help="append one byte to PATH per finished cell (for a progress bar)")


def _active(config) -> bool:
    option = config.option
    return bool(getattr(option, "gradebook", None) or getattr(option, "grading_records", None))


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    if not _active(config):
        return
    os.environ["COURSE_GRADING"] = "1"
    _install_kernelspec()
    config.option.nbval_current_env = False
    config.option.nbval_kernel_name = KERNEL_NAME
    config.option.continue_on_collection_errors = True
    _notice_dead_kernels()
    config._course_grading = {"records": [], "started": time.monotonic()}
    for path in (config.option.grading_records, config.option.grading_progress):
        if path and not hasattr(config, "workerinput"):
            Path(path).write_text("")


def _install_kernelspec() -> None:
    """A kernelspec whose argv is the grading kernel, found through JUPYTER_PATH."""
    if os.environ.get("COURSE_GRADING_KERNELSPEC_DIR"):
        return
    root = Path(tempfile.mkdtemp(prefix="course-grading-kernelspec-"))
    spec_dir = root / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "course_utils.grade.kernel", "-f",
                     "{connection_file}"],
            "display_name": "Course grading", "language": "python",
            "env": {"COURSE_GRADING": "1"}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        filter(None, [str(root), os.environ.get("JUPYTER_PATH")]))
    os.environ["COURSE_GRADING_KERNELSPEC_DIR"] = str(root)


def _notice_dead_kernels() -> None:
    """Make nbval's blocking waits poll, so a dead kernel fails its cell at once."""
    from nbval.kernel import RunningKernel

    if getattr(RunningKernel.get_message, "_course_grading", False):
        return
    original = RunningKernel.get_message

    def get_message(self, stream, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
            try:
                return original(self, stream, timeout=left)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
                if not self.is_alive():
                    raise KernelDied("the kernel died while this cell ran") from None

    get_message._course_grading = True
    RunningKernel.get_message = get_message


def _is_cell(item) -> bool:
    return hasattr(item, "cell") and hasattr(item, "parent") and hasattr(item.parent, "nb")


def _course(cell) -> dict:
    course = cell.get("metadata", {}).get("course", {})
    return course if isinstance(course, dict) else {}


# ---------------------------------------------------------------- recovery between cells

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if not (_active(item.config) and _is_cell(item)):
        return
    nbfile = item.parent
    if nbfile.kernel is None:
        return
    if getattr(nbfile, "_grading_lost", None):
        raise RuntimeError(f"not run: {nbfile._grading_lost}")
    if getattr(nbfile, "_grading_restart", False) or not nbfile.kernel.is_alive():
        _restart_and_replay(nbfile)
    nbfile.timed_out = False  # nbval would xfail every later cell; we recovered instead


def _restart_and_replay(nbfile) -> None:
    """New kernel, then the notebook's earlier cells again (outputs ignored), minus the
    cells that caused a fault."""
    from nbval.kernel import RunningKernel

    nbfile._grading_restart = False
    if nbfile.kernel.is_alive():
        nbfile.kernel.stop()
    config = nbfile.config
    nbfile.kernel = RunningKernel(KERNEL_NAME, cwd=str(nbfile.fspath.dirname),
                                  startup_timeout=config.option.nbval_kernel_startup_timeout)
    timeout = config.option.nbval_cell_timeout
    for source in getattr(nbfile, "_grading_replay", []):
        kernel = nbfile.kernel
        msg_id = kernel.execute_cell_input(source, allow_stdin=False)
        try:
            kernel.await_reply(msg_id, timeout=timeout)
            kernel.await_idle(msg_id, timeout)
        except (Empty, KernelDied):
            nbfile._grading_lost = "the kernel could not be restored after an earlier fault"
            raise RuntimeError(f"not run: {nbfile._grading_lost}") from None


# ---------------------------------------------------------------- one record per cell

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (_active(item.config) and _is_cell(item)):
        return
    if call.when == "call" or (call.when == "setup" and not report.passed):
        record = _record(item, call, report)
        _remember_for_replay(item, call, record)
        if record is not None:
            report.user_properties.append((PROPERTY, record))


def _record(item, call, report) -> dict | None:
    course = _course(item.cell)
    path = Path(str(item.parent.fspath))
    base = {"notebook": str(path), "student": path.parent.name, "lesson": path.stem,
            "cell": item.cell_num}
    error = _error_output(item)
    fault = _fault(call, error)
    if course.get("exercise"):
        replaced = _replaced(item)
        if report.passed and not replaced:
            status, reason = "correct", ""
        elif replaced:
            status, reason = "tampered", "checking code was replaced by notebook code"
        elif fault:
            status, reason = "fault", fault
        else:
            status, reason = "not correct", "the check did not pass"
        return dict(base, exercise=str(course["exercise"]), points=_points(course),
                    status=status, reason=reason, message=_message(item, error, call),
                    replaced=replaced, failed_to_run=status == "fault")
    if fault:
        return dict(base, note=f"{path.stem}: code cell {item.cell_num + 1}: {fault}",
                    failed_to_run=True)
    if _truncated(item):
        return dict(base, note=f"{path.stem}: code cell {item.cell_num + 1}: enormous output "
                               "truncated")
    return None


def _truncated(item) -> bool:
    marker = TRUNCATION_NOTE.split("{")[0].strip()
    return any(marker in str(output.get("text", "")) or
               any(marker in str(v) for v in output.get("data", {}).values())
               for output in item.test_outputs or [])


def _points(course: dict) -> float:
    points = course.get("points", 1)
    return points if isinstance(points, (int, float)) and not isinstance(points, bool) else 0


def _error_output(item) -> dict | None:
    for output in item.test_outputs or []:
        if output.get("output_type") == "error":
            return output
    return None


def _fault(call, error) -> str:
    """A reason for the runaway cases; '' for a cell that simply raised or passed."""
    excinfo = call.excinfo
    if excinfo is None:
        return ""
    text = str(excinfo.value)
    if excinfo.errisinstance(KernelDied):
        return "the kernel died (os._exit, exit(), a crash or too much memory)"
    if text.startswith("not run:"):
        return text
    if "Timeout of" in text:
        timeout = re.search(r"Timeout of ([\d.]+) seconds", text)
        return f"timed out after {timeout.group(1) if timeout else '?'} s (an endless loop?)"
    if error is not None:
        name, value = error.get("ename", ""), str(error.get("evalue", ""))
        if "MemoryError" in (name + value) or "can't allocate memory" in value:
            return "ran out of memory (the grader caps memory per notebook)"
        if name == "SystemExit":
            return "the cell called sys.exit()"
    if excinfo.errisinstance(RuntimeError) and "Kernel" in text:
        return f"kernel failure: {text}"
    return ""


def _replaced(item) -> list[str]:
    for output in item.test_outputs or []:
        report = output.get("data", {}).get(GUARD_MIME)
        if isinstance(report, dict):
            return list(report.get("replaced", []))
    return []


def _message(item, error, call) -> str:
    """What the check displayed (its outcome), else the error line: never the traceback."""
    parts = []
    for output in item.test_outputs or []:
        data = output.get("data", {})
        if GUARD_MIME in data:
            continue
        if "text/plain" in data:
            parts.append(str(data["text/plain"]))
        elif output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
    text = ANSI.sub("", "\n".join(p.strip("\n") for p in parts)).strip()
    if not text and error is not None:
        text = f"{error.get('ename')}: {error.get('evalue')}"
    if not text and call.excinfo is not None:
        text = str(call.excinfo.value).splitlines()[0]
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + " [...]"


def _remember_for_replay(item, call, record) -> None:
    nbfile = item.parent
    replay = nbfile.__dict__.setdefault("_grading_replay", [])
    fatal = record is not None and record.get("failed_to_run")
    if call.when != "call":
        return
    if fatal:
        nbfile._grading_restart = True
    elif not _course(item.cell).get("exercise"):
        replay.append(item.cell.source)


# ---------------------------------------------------------------- controller side

def pytest_runtest_logreport(report):
    config = _CONFIG.get("config")
    if config is None or hasattr(config, "workerinput"):
        return
    if report.when == "teardown" and config.option.grading_progress:
        with open(config.option.grading_progress, "a") as handle:
            handle.write(".")
    for name, record in report.user_properties:
        if name == PROPERTY:
            config._course_grading["records"].append(record)
            path = config.option.grading_records
            if path:
                with open(path, "a") as handle:
                    handle.write(json.dumps(record) + "\n")


def pytest_collectreport(report):
    config = _CONFIG.get("config")
    if config is None or hasattr(config, "workerinput") or not report.failed:
        return
    path = Path(report.nodeid.split("::")[0])
    if path.suffix == ".ipynb":
        record = {"student": path.parent.name, "lesson": path.stem, "failed_to_run": True,
                  "note": f"{path.name}: could not be read as a notebook"}
        config._course_grading["records"].append(record)


_CONFIG: dict = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    if _active(session.config):
        _CONFIG["config"] = session.config


def pytest_sessionfinish(session):
    config = session.config
    _CONFIG.pop("config", None)
    if not _active(config) or hasattr(config, "workerinput") or not config.option.gradebook:
        return
    rows: dict = {}
    for record in config._course_grading["records"]:
        gradebook.add_record(rows, record)
    book = gradebook.build(rows)
    path = Path(config.option.gradebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        path.write_text(json.dumps(book, indent=1, sort_keys=True) + "\n")
    else:
        gradebook.write_csv(book, path)
