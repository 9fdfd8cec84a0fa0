"""Grade a folder of submissions, in named stages:

    collect → validate → restore → execute (sandboxed kernels) → verdicts → gradebook

``collect`` (module ``collect``) decides which file of which student is graded for which lesson;
a notebook whose records are cached is skipped from here on (module ``reuse``); ``validate`` and
``restore`` (module ``prepare``) read each notebook and put the released check cells back;
``execute`` runs one ``pytest --nbval-lax`` over scratch copies, one folder per notebook, each
kernel in a bubblewrap sandbox that sees only its own folder (module ``sandbox``), in
pytest-xdist workers where notebooks compute for seconds, else in one process that starts
kernels ahead (``kernel_pool``); ``verdicts`` reads the records the plugin wrote into a private folder no
kernel can see, and checks every one against the release; the gradebook is built once, at the
end.

An infrastructure failure (pytest cannot start, exits with a usage or internal error or dies by
a signal, no kernel starts, no check can be judged) raises ``GradingError``: the
command says why and writes no gradebook, never a column of zeros that looks like grades.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_utils.grade import contract
from course_utils.grade import records
from course_utils.grade.command import collect, gradebook, prepare
from course_utils.grade.launcher import sandbox
from course_utils.grade.command.collect import Submission, in_shard  # noqa: F401 - in_shard re-exported
from course_utils.grade.command.errors import GradingError
from course_utils.grade.command.execute import CATALOG, run_pytest
from course_utils.grade.contract import Fault
from course_utils.grade.records import CheckResult, Note
from course_utils.grade.command.reuse import Reuse


@dataclass
class Settings:
    submissions: Path
    out: Path
    release: Path
    workers: int = 1
    parallel: contract.Parallel = contract.PARALLEL.default
    timeout: float = contract.TIMEOUT.default
    shard: tuple[int, int] = (1, 1)
    memory_mb: int = contract.MEMORY_MB.default
    notebook_timeout: float = contract.NOTEBOOK_TIMEOUT.default
    sandbox: bool = True
    progress: bool = True
    keep_scratch: bool = False
    fresh: bool = False       # ignore results cached in OUT/.cache

    def verdict_settings(self) -> dict:
        """What besides the notebooks changes a verdict: part of every cache key."""
        return {"timeout": self.timeout, "memory_mb": self.memory_mb, "sandbox": self.sandbox,
                "notebook_timeout": self.notebook_timeout,
                "environment": {k: v for k, v in sorted(os.environ.items())
                                if k.startswith("COURSE_GRADING") or k == "PYTHONPATH"}}


@dataclass
class Prepared:
    """What the stages before execution leave: notes, and the notebooks to run."""

    records: list = field(default_factory=list)
    notebooks: list[tuple[Path, Submission, prepare.Release]] = field(default_factory=list)
    code_cells: dict[Path, int] = field(default_factory=dict)   # per prepared notebook
    ready: dict[Path, dict] = field(default_factory=dict)       # the prepared notebooks
    notes: dict[Path, list] = field(default_factory=dict)       # what preparing one said
    reused: int = 0                                             # notebooks found in the cache

    @property
    def cells(self) -> int:
        """Code cells to run in all: the progress bar's total."""
        return sum(self.code_cells[path] for path, _, _ in self.notebooks)


# ---------------------------------------------------------------- collect, validate, restore

def prepare_all(submissions: list[Submission], releases, work: Path,
                reuse: Reuse | None = None) -> Prepared:
    """Notes of every submission, and the notebooks to run; with ``reuse``, a notebook whose
    records are cached is neither read nor run (its records join ``records``)."""
    result = Prepared()
    for submission in submissions:
        student = submission.student
        for note in submission.notes:
            unreadable = submission.path is None and bool(submission.lesson)
            known = releases.get(submission.lesson)
            result.records.append(Note(student, note, known.path.stem if known else submission.lesson,
                                       flagged=submission.flagged,
                                       failed_to_run=unreadable,
                                       fault=Fault.UNREADABLE if unreadable else None))
        if not submission.lesson:
            continue
        release = releases[submission.lesson]
        kept = reuse.records(submission, release) if reuse and submission.path else None
        if kept is not None:
            result.records.extend(kept)
            result.reused += 1
            continue
        nb, problem = (prepare.read_submission(submission.path, submission.name)
                       if submission.path is not None else (None, ""))
        if nb is None:
            result.records.extend(_zero(student, release, problem or "nothing to grade"))
            continue
        ran_with = prepare.ran_with(student, release.path.stem, nb)   # before outputs are cleared
        ready, reports = prepare.restore(nb, release, submission.name)
        notes = [Note(student, report, release.path.stem, flagged=True) for report in reports]
        notes.append(ran_with)   # kept in the cache with the notes: a cache hit shows it too
        result.records.extend(notes)
        target = work / release.path.stem / submission.key / release.path.name
        result.ready[target] = ready
        result.notes[target] = notes
        result.notebooks.append((target, submission, release))
        result.code_cells[target] = sum(c.cell_type == "code" for c in ready.cells)
    return result


def write_notebooks(prepared: Prepared) -> None:
    """The scratch copies of the notebooks that will run."""
    for target, _submission, _release in prepared.notebooks:
        target.parent.mkdir(parents=True)
        nbformat.write(prepared.ready[target], target)


def _zero(student: str, release, reason: str):
    """Every exercise of the lesson: zero points, the reason."""
    if reason:
        yield Note(student, reason, release.path.stem, failed_to_run=True, fault=Fault.UNREADABLE)
    for exercise, points in release.exercises.items():
        yield CheckResult(student, release.path.stem, exercise, "fault", points, reason=reason,
                          fault=Fault.UNREADABLE)


# ---------------------------------------------------------------- verdicts

def read_verdicts(records_file: Path, prepared: Prepared) -> list:
    """The plugin's records, each checked against the release and the notebooks that ran;
    a check the run never reached still gets a reason."""
    by_place = {(path.parent.name, release.path.stem): submission
                for path, submission, release in prepared.notebooks}
    exercises = {release.path.stem: release.exercises for _, _, release in prepared.notebooks}
    found, seen = [], set()
    for number, line in enumerate(records_file.read_text().splitlines(), 1):
        try:
            record = records.from_wire(json.loads(line), exercises)
        except ValueError as error:   # BadRecord and JSON errors
            raise GradingError(f"record {number} of the grading run is malformed: {error}") from None
        submission = by_place.get((record.student, record.lesson))
        if submission is None:
            raise GradingError(f"record {number} names a notebook that was not graded: "
                               f"{record.student}/{record.lesson}")
        record = _renamed(record, submission.student)
        found.append(record)
        if isinstance(record, CheckResult):
            seen.add((record.student, record.exercise))
    for _path, submission, release in prepared.notebooks:
        for exercise, points in release.exercises.items():
            if (submission.student, exercise) not in seen:
                found.append(CheckResult(submission.student, release.path.stem, exercise, "fault",
                                         points, reason="the run did not reach this check"))
    return found


def _renamed(record, student: str):
    """Records name a student by scratch folder (a file-name-safe key); rows use the name."""
    from dataclasses import replace

    return replace(record, student=student)


def _refuse_silent_failure(found: list) -> None:
    """Every check a fault, or not one check judged in the whole run: the grader failed, not
    the class (a kernel that cannot start, an exercise module it cannot import)."""
    checks = [r for r in found if isinstance(r, CheckResult)]
    if not checks:
        return
    faults = [r.reason for r in checks if r.status == "fault"]
    if len(faults) == len(checks):
        raise GradingError(f"no notebook could be graded: {faults[0]}")
    if not any(r.judged for r in checks):
        raise GradingError("no check could be judged: the grading kernels do not answer on "
                           "this machine (see pytest.log)")


# ---------------------------------------------------------------- all stages

@dataclass
class Graded:
    """A grading run's gradebook and how many notebooks ran or came from the cache."""

    book: dict
    ran: int = 0
    reused: int = 0
    catalog: dict = field(default_factory=dict)   # titles and hints the grading run wrote


def grade(settings: Settings) -> Graded:
    """Everything the instructor command does but writing."""
    releases = prepare.load_release(settings.release)
    if not releases:
        raise GradingError(f"no released exercise notebooks in {settings.release}")
    if settings.sandbox and sandbox.problem():
        raise GradingError(f"cannot sandbox the grading kernels: {sandbox.problem()}; "
                           "--no-sandbox grades without one (student code then runs as you)")
    scratch = Path(tempfile.mkdtemp(prefix="course-grading-scratch-"))
    private = Path(tempfile.mkdtemp(prefix="course-grading-run-"))
    try:
        submissions = collect.collect(settings.submissions, releases, settings.shard)
        reuse = Reuse(settings)
        prepared = prepare_all(submissions, releases, scratch, reuse)
        found = list(prepared.records)
        ran, from_cache = len(prepared.notebooks), prepared.reused
        catalog: dict = {}
        if prepared.notebooks:
            write_notebooks(prepared)
            modules = sorted(set().union(*(prepare.checked_modules(r.nb.cells) for r in releases.values())))
            records_file = run_pytest(settings, scratch, prepared, private, modules)
            fresh = read_verdicts(records_file, prepared)
            _refuse_silent_failure(fresh)
            reuse.keep([(submission, release) for _, submission, release in prepared.notebooks],
                       fresh + [n for notes in prepared.notes.values() for n in notes])
            found += fresh
            catalog = _read_catalog(private / CATALOG)
    finally:
        if not settings.keep_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)
    rows: dict = {}
    for submission in submissions:
        row = rows.setdefault(submission.student, records.Row(submission.student, submission.key))
        if not settings.sandbox:
            row.note("graded without a sandbox (--no-sandbox)")
    for record in found:
        gradebook.add(rows, record)
    exercises = {e: p for r in releases.values() for e, p in r.exercises.items()}
    return Graded(gradebook.build(rows, exercises), ran, from_cache, catalog)


def _read_catalog(path: Path) -> dict:
    """The catalog the grading run wrote ({} if none or unreadable: the feedback then reads
    the exercise modules itself; ``feedback._from_catalog`` checks each entry)."""
    try:
        catalog = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return catalog if isinstance(catalog, dict) else {}
