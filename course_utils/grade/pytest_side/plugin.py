"""pytest plugin: check cells become verdicts, faults become reasons.

``pytest --nbval-lax --gradebook FILE SUBMISSIONS/`` is the same as the instructor command
(``python -m course_utils.grade``): the plugin hands the folder to it before pytest collects
anything, so check cells are restored from the release, every notebook runs in a scratch copy
in its own sandbox, and nothing in the submissions folder (a ``conftest.py``, an
``__init__.py``, a ``test_*.py``) is ever imported into this process: with either option no
``conftest.py`` is loaded at all. ``--grading-records PATH`` is the command's own run over
its prepared scratch copies; plain ``pytest --nbval`` is untouched. In that run it

- runs every notebook in the grading kernel (``kernel``), inside a bubblewrap sandbox
  (``sandbox``) unless ``--grading-no-sandbox``; refuses to start when the sandbox cannot run;
- after each check cell (found by its metadata ``{"course": {"exercise": ...}}``, never by
  item names) runs the exercise's check in this process against the answer in the kernel,
  through probes (``verdicts``, ``judge``); "the cell did not raise" is never a pass;
- notices a dead kernel within a second, tells "ran out of memory" from the sandbox's marker,
  and after a dead kernel or a timeout starts a new kernel and replays the notebook's other
  cells, so one runaway cell costs only its own exercise; stops a notebook that used up its
  time budget (``--grading-notebook-timeout``);
- turns each cell's run into a typed record (``cell_records``) and passes it to the controller
  (pytest-xdist ``user_properties``), which writes them to ``--grading-records`` and, for
  ``--gradebook``, builds the gradebook once;
- starts each notebook's kernel through ``kernel_pool`` (ahead of time: the next N notebooks'
  with ``--grading-start-ahead N`` in a process without pytest-xdist, the next queued
  notebook's in a pytest-xdist worker).

Every reliance on nbval's internals is in ``nbval_bridge``, on pytest-xdist's in ``xdist_bridge``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

import pytest

from course_utils.grade import contract
from course_utils.grade import records
from course_utils.grade.command import prepare
from course_utils.grade.launcher import sandbox
from course_utils.grade.pytest_side import (cell_records, judge, nbval_bridge, quick_exit,
                                            validation_kernels, verdicts, xdist_bridge)
from course_utils.grade.pytest_side.controller import PROPERTY, Controller
from course_utils.grade.pytest_side.kernel_pool import KernelPool
from course_utils.grade.pytest_side.sandbox_manager import SandboxKernelManager, start_warm_parent
from course_utils.grade.pytest_side.cell_records import NotRun
from course_utils.grade.pytest_side.nbval_bridge import KernelDied
from course_utils.grade.records import Note

KERNEL_NAME = "course-grading"


@dataclass
class NotebookState:
    """What the plugin keeps about one notebook while its cells run (never on nbval's items)."""

    started: float | None = None        # when its first cell ran (the time budget)
    lost: str = ""                      # why its remaining cells are not run
    restart: bool = False               # the next cell needs a new kernel
    replay: list = field(default_factory=list)     # sources of the cells that ran cleanly
    verdicts: dict = field(default_factory=dict)   # cell number -> the verdict of its check


@dataclass
class GradingState:
    """What one pytest process (controller or worker) keeps while grading."""

    folder: Path                   # private: kernelspec, kernel sockets, memory markers
    memory_mb: int
    notebook_timeout: float
    sandboxed: bool
    pool: KernelPool
    secret: str = field(default_factory=lambda: secrets.token_hex(16))   # draws probe inputs
    collected: list = field(default_factory=list)    # controller: typed records
    notebooks: dict = field(default_factory=dict)    # notebook path -> NotebookState
    catalog: str | None = None     # where to write the exercises' titles and hints
    _exercises: dict | None = None

    def notebook(self, item) -> NotebookState:
        path = str(nbval_bridge.path_of(nbval_bridge.notebook_of(item)))
        return self.notebooks.setdefault(path, NotebookState())

    def exercises(self) -> dict:
        """This process's own copy of the exercises being graded (their checks run here)."""
        if self._exercises is None:
            self._exercises = judge.registry()
            if self.catalog:
                judge.write_catalog(self._exercises, Path(self.catalog))
        return self._exercises

    def load_exercises(self) -> None:
        """Import the exercises (and torch, 2 s) right after the first kernels were started, so
        the two overlap. Not in a thread: imports that create loggers while pytest's logging
        plugin walks ``loggerDict`` made collection fail ("dictionary changed size")."""
        self.exercises()


STATE = pytest.StashKey[GradingState]()
VALIDATION = pytest.StashKey[validation_kernels.ValidationKernels]()


def pytest_addoption(parser):
    group = parser.getgroup("course grading")
    group.addoption("--gradebook", default=None, metavar="PATH",
                    help="grade check cells; write points per exercise per student to PATH "
                         "(CSV, or JSON when PATH ends in .json)")
    group.addoption("--grading-records", default=None, metavar="PATH",
                    help="grade check cells; append one JSON line per record to PATH")
    group.addoption("--grading-progress", default=None, metavar="PATH",
                    help="append one byte to PATH per finished cell (for a progress bar)")
    group.addoption("--grading-catalog", default=None, metavar="PATH",
                    help="write the title and hints of every exercise judged here to PATH "
                         "(JSON), so the feedback needs no import of torch after the run")
    group.addoption("--grading-hide", action="append", default=[], metavar="PATH",
                    help="a folder no grading kernel may see (repeatable)")
    group.addoption("--grading-memory-mb", type=int, default=contract.MEMORY_MB.default,
                    help="resident memory per notebook, everything it starts included")
    group.addoption("--grading-notebook-timeout", type=float, default=contract.NOTEBOOK_TIMEOUT.default,
                    help="seconds one notebook may take in all")
    group.addoption("--grading-exercises", default=None, metavar="MODULES",
                    help="exercise modules to load in every kernel, comma-separated "
                         "(default: those the notebooks' check cells import)")
    group.addoption("--grading-no-sandbox", action="store_true",
                    help="run kernels without bubblewrap (only where it cannot run)")
    group.addoption("--grading-warm", dest="grading_warm", action="store_true", default=None,
                    help=contract.WARM.help + f" (or {contract.WARM_ENV}=1; "
                         f"{'the default' if contract.WARM.default else 'off by default'})")
    group.addoption("--grading-cold", dest="grading_warm", action="store_false",
                    help=f"start every kernel cold, each importing torch (or {contract.WARM_ENV}=0)")
    group.addoption("--grading-release", default=None, metavar="DIR",
                    help="with --gradebook: the released exercise notebooks check cells are "
                         "restored from (default: the course's exercises/)")
    group.addoption("--warm-kernels", action="store_true", default=False,
                    help="with --nbval-current-env: run each notebook in a kernel forked from a "
                         "warm parent that imported torch once (grading's warm kernels, plain "
                         "ipykernel; see validation_kernels)")
    group.addoption("--grading-start-ahead", type=int, default=0, metavar="N",
                    help="start the kernels of the next N notebooks while one runs (one "
                         "process grading many notebooks; a pytest-xdist worker starts the "
                         "next notebook it was given)")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    """No conftest.py runs in a grading run: one in a student's folder would run as the grader."""
    namespace = early_config.known_args_namespace
    if getattr(namespace, "gradebook", None) or getattr(namespace, "grading_records", None):
        namespace.noconftest = True


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """``--gradebook FILE``: grade the folder given with the instructor command, collect nothing."""
    option = config.option
    if not option.gradebook or option.grading_records:
        return None
    from course_utils.grade.command import command_route

    return command_route.grade_from_pytest(config)


def _active(config) -> bool:
    option = config.option
    return bool(getattr(option, "gradebook", None) or getattr(option, "grading_records", None))


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    if not _active(config):
        if validation_kernels.wanted(config) and not _xdist_controller(config):
            config.stash[VALIDATION] = validation_kernels.ValidationKernels()
        return
    option = config.option
    sandboxed = not option.grading_no_sandbox
    if sandboxed and sandbox.problem():
        raise pytest.UsageError(f"cannot sandbox the grading kernels: {sandbox.problem()} "
                                "(--grading-no-sandbox grades without one)")
    folder = Path(tempfile.mkdtemp(prefix="course-grading-"))
    spec_dir = folder / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    (folder / "markers").mkdir()
    spec = sandbox.kernelspec(option.grading_memory_mb, folder / "markers",
                              [Path(p) for p in option.grading_hide] + [folder],
                              sandbox=sandboxed,
                              warm=_warm(config))
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(folder),
                                                               os.environ.get("JUPYTER_PATH")]))
    os.environ[contract.GRADING] = "1"
    os.environ[contract.SOCKET_BASE] = str(folder)
    option.nbval_current_env = False
    option.nbval_kernel_name = KERNEL_NAME
    option.continue_on_collection_errors = True
    nbval_bridge.poll_for_dead_kernels()
    # a worker of pytest-xdist learns its notebooks a few at a time: it starts the next one's
    ahead = 1 if _xdist_worker(config) else max(0, option.grading_start_ahead)
    pool = KernelPool(SandboxKernelManager, KERNEL_NAME, ahead)
    nbval_bridge.use_kernel_starter(pool.start_new_kernel)
    config.stash[STATE] = GradingState(folder, option.grading_memory_mb,
                                       option.grading_notebook_timeout, sandboxed, pool,
                                       catalog=option.grading_catalog)
    if option.grading_exercises is not None:
        # announce first: it sets variables every kernel's environment holds, which are part
        # of a warm parent's identity; a parent started before would be closed unused
        judge.announce(option.grading_exercises)
        if not _xdist_controller(config):   # the controller of pytest-xdist starts no kernel
            start_warm_parent(spec)
    if option.grading_records and not _xdist_worker(config):
        quick_exit.arm()   # the command's run: no teardown of torch once pytest is done
    if not hasattr(config, "workerinput"):
        for path in (option.grading_records, option.grading_progress):
            if path:
                Path(path).write_text("")
        config.pluginmanager.register(Controller(config), "course-grading-controller")


def pytest_sessionstart(session):
    """With the exercise modules named (as the instructor command does), kernels start before
    collection: the notebooks to grade are the command's arguments."""
    config = session.config
    quick_exit.remember(session)
    # the controller of pytest-xdist runs no notebook: its workers start kernels and judge
    if _active(config) and config.option.grading_exercises is not None and not _xdist_controller(config):
        state = config.stash[STATE]
        if not _xdist_worker(config):   # a worker runs what it is given, not every argument
            state.pool.plan(str(Path(arg).parent) for arg in config.args if arg.endswith(".ipynb"))
        if _warm(config):   # the parent imports while this process does; a fork is then quick
            state.load_exercises()
            state.pool.start_first()
        else:
            state.pool.start_first()
            state.load_exercises()


def _warm(config) -> bool:
    """--grading-warm or --grading-cold, else COURSE_GRADING_WARM (1 or 0), else the default."""
    if config.option.grading_warm is not None:
        return config.option.grading_warm
    said = os.environ.get(contract.WARM_ENV, "")
    return said == "1" if said in ("0", "1") else bool(contract.WARM.default)


def _xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


def _xdist_controller(config) -> bool:
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None))


def pytest_unconfigure(config):
    validation = config.stash.get(VALIDATION, None)
    if validation is not None:
        validation.close()
    state = config.stash.get(STATE, None)
    if state is not None:
        state.pool.shutdown()
        shutil.rmtree(state.folder, ignore_errors=True)


def pytest_collection_modifyitems(session, config, items):
    """Tell kernels which exercise modules to load before any student cell: the modules the
    notebooks' check cells name."""
    if VALIDATION in config.stash:
        config.stash[VALIDATION].serve(items)
    if not _active(config):
        return
    pool = config.stash[STATE].pool
    if not _xdist_worker(config):   # a worker collects every notebook and runs what it is given
        pool.plan(nbval_bridge.folder_of(nbval_bridge.notebook_of(item))
                  for item in items if nbval_bridge.is_cell(item))
    if config.option.grading_exercises is None:
        judge.announce(_exercise_modules(items))
    if not _xdist_controller(config):
        pool.start_first()
        config.stash[STATE].load_exercises()


def _exercise_modules(items) -> str:
    notebooks = {id(nbval_bridge.notebook_of(i)): nbval_bridge.notebook_of(i) for i in items if nbval_bridge.is_cell(i)}
    return ",".join(sorted(set().union(*(prepare.checked_modules(nb.nb.cells) for nb in notebooks.values()))))


_exercise = verdicts.exercise_of


# ---------------------------------------------------------------- before each cell

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if not (_active(item.config) and nbval_bridge.is_cell(item)):
        return
    notebook = nbval_bridge.notebook_of(item)
    state = item.config.stash[STATE]
    folder = nbval_bridge.folder_of(notebook)
    if _xdist_worker(item.config):   # its order: this notebook, then what it was given next
        state.pool.plan([folder, *(nbval_bridge.folder_of(nbval_bridge.notebook_of(queued))
                                   for queued in xdist_bridge.queued_items(item.config)
                                   if nbval_bridge.is_cell(queued))])
    state.pool.start_ahead(folder)   # before nbval starts its own
    if nbval_bridge.kernel_of(notebook) is None:
        return
    mine = state.notebook(item)
    if mine.started is None:
        mine.started = time.monotonic()
    if time.monotonic() - mine.started > state.notebook_timeout:
        mine.lost = f"the notebook used up its time budget ({state.notebook_timeout:g} s)"
    if mine.lost:
        raise NotRun(f"not run: {mine.lost}")
    kernel = nbval_bridge.kernel_of(notebook)
    if mine.restart or not kernel.is_alive():
        _restart_and_replay(notebook, mine)
    nbval_bridge.forget_timeout(notebook)


def _restart_and_replay(notebook, mine: NotebookState) -> None:
    """New kernel, then the notebook's earlier cells again (outputs ignored), minus the cells
    that caused a fault."""
    mine.restart = False
    nbval_bridge.stop_kernel(nbval_bridge.kernel_of(notebook))
    kernel = nbval_bridge.start_kernel(notebook, KERNEL_NAME)
    timeout = notebook.config.option.nbval_cell_timeout
    for source in mine.replay:
        try:
            nbval_bridge.run_source(kernel, source, timeout)
        except (Empty, KernelDied):
            mine.lost = "the kernel could not be restored after an earlier fault"
            raise NotRun(f"not run: {mine.lost}") from None


# ---------------------------------------------------------------- the verdict of a check

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    outcome = yield
    if not (_active(item.config) and nbval_bridge.is_cell(item)):
        return
    cell = nbval_bridge.cell_of(item)
    excinfo = pytest.ExceptionInfo.from_exc_info(outcome.excinfo) if outcome.excinfo else None
    state = item.config.stash[STATE]
    if not _exercise(cell) or (excinfo is not None and cell_records.fault_of(excinfo, item, state)):
        return
    mine = state.notebook(item)
    mine.verdicts[nbval_bridge.cell_number(item)] = verdicts.ask(item, cell, state, mine)


# ---------------------------------------------------------------- one record per cell

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (_active(item.config) and nbval_bridge.is_cell(item)):
        return
    if call.when == "call" or (call.when == "setup" and not report.passed):
        record = cell_records.record_of(item, call, item.config.stash[STATE])
        _remember_for_replay(item, call, record)
        if record is not None:
            report.user_properties.append((PROPERTY, records.to_wire(record)))


def _remember_for_replay(item, call, record) -> None:
    """Cells that ran cleanly are replayed into a new kernel after a fault; the cell that
    killed, exhausted or hung the kernel is not, and triggers the restart."""
    mine = item.config.stash[STATE].notebook(item)
    if call.when != "call":
        return
    fault = getattr(record, "fault", None)
    if fault is not None and fault.restarts_kernel:
        mine.restart = True
    elif not _exercise(nbval_bridge.cell_of(item)) and not (isinstance(record, Note)
                                                           and record.failed_to_run):
        mine.replay.append(nbval_bridge.cell_of(item).source)
