"""Grade a folder of submissions: prepare scratch copies, run pytest --nbval-lax once, collect.

The student's code runs only inside kernels started by that pytest run, each with its working
directory set to a private scratch folder that holds nothing but a prepared copy of one
notebook (``WORK/<lesson>/<student>/<lesson>.ipynb``). The originals, the other submissions
and the gradebook are elsewhere, and the gradebook is written by this process after every
kernel has stopped, from records that travelled through pytest, not from files in scratch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_utils.grade import gradebook, prepare

SKIPPED_NAMES = {".ipynb_checkpoints", "__MACOSX", ".DS_Store"}


@dataclass
class Settings:
    submissions: Path
    out: Path
    release: Path
    workers: int = 1
    timeout: float = 30.0
    shard: tuple[int, int] = (1, 1)
    memory_mb: int = 2048
    progress: bool = True
    keep_scratch: bool = False


@dataclass
class Prepared:
    rows: dict = field(default_factory=dict)
    notebooks: list[tuple[Path, str, str]] = field(default_factory=list)  # path, student, lesson
    cells: int = 0


def in_shard(student: str, shard: tuple[int, int]) -> bool:
    """Stable across machines and runs: the same student always lands in the same shard."""
    index, count = shard
    digest = int(hashlib.sha256(student.encode()).hexdigest(), 16)
    return digest % count == index - 1


def students(folder: Path, shard=(1, 1)) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_dir() and p.name not in SKIPPED_NAMES and in_shard(p.name, shard))


def _files(student_dir: Path) -> list[Path]:
    return sorted(p for p in student_dir.rglob("*") if p.is_file()
                  and not SKIPPED_NAMES.intersection(p.relative_to(student_dir).parts))


def _zero(rows, student, release, reason):
    """Every exercise of the lesson: zero points, the reason."""
    for exercise, points in release.exercises.items():
        gradebook.add_record(rows, {"student": student, "exercise": exercise, "points": points,
                                    "status": "fault", "reason": reason, "message": "",
                                    "lesson": release.path.stem, "failed_to_run": True})


def prepare_all(settings: Settings, releases, work: Path) -> Prepared:
    result = Prepared()
    for student_dir in students(settings.submissions, settings.shard):
        student = student_dir.name
        result.rows.setdefault(student, gradebook.new_row(student))
        taken = set()
        for path in _files(student_dir):
            lesson = prepare.lesson_of(path, releases)
            nb, problem = prepare.read_submission(path)
            record = {"student": student, "note": problem}
            if lesson is None:
                why = problem or f"{path.name}: unknown lesson (not one of the released notebooks)"
                gradebook.add_record(result.rows, dict(record, note=why, failed_to_run=True))
                continue
            if lesson in taken:
                gradebook.add_record(result.rows, dict(record, note=f"{path.name}: a second "
                                                       f"file for lesson {lesson}; ignored"))
                continue
            taken.add(lesson)
            release = releases[lesson]
            if nb is None:
                gradebook.add_record(result.rows, dict(record, failed_to_run=True))
                _zero(result.rows, student, release, problem)
                continue
            ready, reports = prepare.restore(nb, release)
            for report in reports:
                gradebook.add_record(result.rows, dict(record, note=f"{path.name}: {report}",
                                                       flagged=True))
            target = work / release.path.stem / student / release.path.name
            target.parent.mkdir(parents=True)
            nbformat.write(ready, target)
            result.notebooks.append((target, student, release.path.stem))
            result.cells += sum(c.cell_type == "code" for c in ready.cells)
    return result


def run_pytest(settings: Settings, work: Path, paths: list[Path], private: Path,
               total_cells: int) -> Path:
    """One pytest --nbval-lax run over the prepared notebooks; returns the records file."""
    records, progress = private / "records.jsonl", private / "progress.txt"
    ini = private / "pytest.ini"
    ini.write_text("[pytest]\naddopts =\n")
    command = [sys.executable, "-m", "pytest", "-c", str(ini), "--rootdir", str(work),
               "-p", "no:cacheprovider", "-p", "no:randomly", "--nbval-lax",
               "--nbval-cell-timeout", str(settings.timeout), "--grading-records", str(records),
               "--grading-progress", str(progress), "-q", "--tb=line", "-W", "ignore"]
    if settings.workers > 1:
        command += ["-n", str(settings.workers), "--dist", "loadfile"]
    command += [str(p) for p in paths]
    env = dict(os.environ, COURSE_GRADING="1",
               COURSE_GRADING_MEMORY_MB=str(settings.memory_mb))
    settings.out.mkdir(parents=True, exist_ok=True)
    with open(settings.out / "pytest.log", "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   cwd=private)
        _follow(process, progress, total_cells, settings.progress)
    return records


def _follow(process, progress: Path, total: int, show: bool) -> None:
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="cell", desc="grading", file=sys.stderr)
    while process.poll() is None:
        time.sleep(0.3)
        if bar is not None and progress.exists():
            bar.update(min(total, progress.stat().st_size) - bar.n)
    if bar is not None:
        bar.update(total - bar.n)
        bar.close()


def collect(records_path: Path, prepared: Prepared, releases) -> None:
    """Fold the plugin's records in; a check the run never reached still gets a reason."""
    seen = set()
    if records_path.exists():
        for line in records_path.read_text().splitlines():
            record = json.loads(line)
            gradebook.add_record(prepared.rows, record)
            if record.get("exercise"):
                seen.add((record["student"], record["exercise"]))
    by_stem = {r.path.stem: r for r in releases.values()}
    for _path, student, lesson in prepared.notebooks:
        for exercise, points in by_stem[lesson].exercises.items():
            if (student, exercise) not in seen:
                gradebook.add_record(prepared.rows, {
                    "student": student, "exercise": exercise, "points": points,
                    "status": "fault", "reason": "the run did not reach this check",
                    "message": "", "lesson": lesson, "failed_to_run": True})


def grade(settings: Settings) -> dict:
    """Everything the instructor command does; returns the gradebook."""
    releases = prepare.load_release(settings.release)
    if not releases:
        raise SystemExit(f"no released exercise notebooks in {settings.release}")
    scratch = Path(tempfile.mkdtemp(prefix="course-grading-scratch-"))
    private = Path(tempfile.mkdtemp(prefix="course-grading-run-"))
    try:
        prepared = prepare_all(settings, releases, scratch)
        if prepared.notebooks:
            records = run_pytest(settings, scratch, [p for p, _, _ in prepared.notebooks],
                                 private, prepared.cells)
            collect(records, prepared, releases)
    finally:
        if not settings.keep_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)
    exercises = {e: p for r in releases.values() for e, p in r.exercises.items()}
    return gradebook.build(prepared.rows, exercises)
