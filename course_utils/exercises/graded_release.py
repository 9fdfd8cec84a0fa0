"""Build the graded release, and publish the solutions after it (docs/graded_course.md).

    python -m course_utils.exercises.release --graded build/graded-release
    python -m course_utils.exercises.release --publish-solutions build/solutions

The graded release is a folder for students:

    README.md                               what it is, how to install it (one line)
    release.json                            which release this is: kind, build date, source
    course_utils-<version>+graded-py3-none-any.whl
    exercises/NN_*.ipynb                    the exercise notebooks; the first cell says "graded
                                            release", the set-up cell prints the course_utils it runs with

The wheel is ``course_utils`` without ``course_solutions`` (no solution code, no reference), plus
``course_utils/exercises/recorded/``: ``release.json`` and, per lesson, the expectations recorded
while building (``course_utils.exercises.expectations``): each exercise's check is run, with the
solutions at hand, on its reference answer and on every answer of ``tests/unit/test_lessonNN.py``
(right and wrong), and what the references did on those fixed inputs is kept. Recording runs in a
child process (``record``), so nothing of it stays in the process that asked for the release.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from course_utils.notebooks import ROOT, normalise

NOTE_ID, SETUP_MARK = "graded-release-note", "# which course_utils this notebook runs with"
GRADED_VERSION = "graded"        # the wheel's local version: course_utils-0.1.0+graded
FIRST_NOTEBOOK = "00_start_here.ipynb"

FIRST_NOTE = """\
**Graded release.** This copy of the course is for a graded course: it holds no solutions
(`ex.q1.solution()` says when your instructor publishes them), and `hint()` works as always.

`check()` still gives instant feedback: it compares your answer with what the reference solution
did on this release's fixed inputs, recorded when the release was built. Your instructor grades
with **fresh inputs**, drawn anew for every student: an answer tuned to pass the checks here,
rather than to solve the exercise, passes here and fails in grading. Where a check needs more of
the reference than was recorded, it says *Checked when graded*: that part is decided by the grader.

The set-up cell below prints which course_utils this notebook runs with.\
"""
OTHER_NOTE = """\
**Graded release**: no solutions in this copy; checks compare your answer with expectations
recorded when the release was built, and your instructor grades with fresh inputs (see the first
notebook, *00 · Start here*).\
"""


# --- which lessons need a recording, and of what ---------------------------------------------------

def lessons(root: Path = ROOT) -> list[str]:
    return sorted(p.stem.removeprefix("lesson") for p in (root / "course_utils" / "exercises").glob("lesson[0-9][0-9].py"))


def exercises_of(lesson: str) -> list:
    from course_utils.exercises.engine import Exercise

    module = importlib.import_module(f"course_utils.exercises.lesson{lesson}")
    return [value for name, value in vars(module).items() if isinstance(value, Exercise) and value.id.endswith(f".{name}")]


def record(out: Path, tests: Path | None, only: list[str] | None = None, log: Path | None = None,
           all_tests: bool = False) -> dict:
    """Record the expectations of every lesson into ``out`` (run in a fresh process: ``main record``).

    First each exercise's check runs on its reference answer; the exercises whose check asked for
    a reference are those the release needs recordings for. Then the tests of those exercises run
    (``graded_harness``, record mode) and every answer they hand a check is recorded too."""
    from course_utils.exercises import engine, expectations

    recorder = expectations.Recorder()
    engine.set_reference_hook(recorder.hook)
    out.mkdir(parents=True, exist_ok=True)
    summary: dict = {"reference_answers": {}, "tests": None}
    started = time.perf_counter()
    for lesson in only or lessons():
        for exercise in exercises_of(lesson):
            outcome = exercise.evaluate(exercise.reference_answer())
            summary["reference_answers"][exercise.id] = outcome.status
    needed = sorted({token.partition(":")[0] for store in recorder.stores.values() for token in store.references})
    summary["needed"] = needed
    summary["seconds_reference_answers"] = round(time.perf_counter() - started, 1)
    if tests is not None and all_tests:      # measuring: every test of every lesson
        files = [str(tests / f"test_lesson{lesson}.py") for lesson in only or lessons()
                 if (tests / f"test_lesson{lesson}.py").exists()] + _bank_tests(tests)
        summary["tests"] = run_tests("record", files, None, log, recorder=recorder)
    elif tests is not None and needed:
        select: dict[str, list[int]] = {}
        for exercise_id in needed:
            lesson, _, question = exercise_id.partition(".")
            select.setdefault(f"test_{lesson}.py", []).append(int(question.removeprefix("q")))
        files = [str(tests / name) for name in sorted(select) if (tests / name).exists()] + _bank_tests(tests)
        summary["tests"] = run_tests("record", files, select, log, recorder=recorder)
    for lesson, store in sorted(recorder.stores.items()):
        summary.setdefault("files", {})[lesson] = expectations.save(store, out / f"{lesson}.json")
    summary["skipped"] = recorder.skipped
    summary["seconds"] = round(time.perf_counter() - started, 1)
    return summary


def _bank_tests(tests: Path) -> list[str]:
    """The answer banks' runner (the harness keeps only the bank answers of the selected exercises)."""
    path = tests / "test_every_exercise.py"
    return [str(path)] if path.exists() else []


def run_tests(mode: str, files: list[str], select: dict | None, log: Path | None, recorder=None) -> dict:
    """The exercise tests in this process, with the harness (record mode)."""
    import pytest

    from course_utils.exercises.graded_harness import Harness

    harness = Harness(mode, log, select, recorder=recorder)
    started = time.perf_counter()
    code = pytest.main([*files, "-q", "-p", "no:cacheprovider", "--no-header", "-rN", "--assert=plain"],
                       plugins=[harness])   # plain: the course is imported already, nothing to rewrite
    return {"files": [Path(f).name for f in files], "select": select, "exit_code": int(code),
            "answers": len(harness.entries), "seconds": round(time.perf_counter() - started, 1)}


# --- the wheel ------------------------------------------------------------------------------------

def build_wheel(out: Path, root: Path = ROOT, recorded: Path | None = None, info: dict | None = None,
                graded: bool = True) -> Path:
    """A wheel of ``course_utils`` built from a copy of the source: for the graded release without
    ``course_solutions`` and with ``recorded/``; otherwise (publishing) the whole package."""
    with tempfile.TemporaryDirectory(prefix="course-wheel-") as scratch:
        source = Path(scratch) / "src"
        source.mkdir()
        shutil.copy2(root / "README.md", source / "README.md")
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "recorded")
        shutil.copytree(root / "course_utils", source / "course_utils", ignore=ignore)
        pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
        if graded:
            pyproject = _graded_pyproject(pyproject)
            target = source / "course_utils" / "exercises" / "recorded"
            target.mkdir()
            for path in sorted(recorded.glob("lesson*.json")) if recorded else []:
                shutil.copy2(path, target / path.name)
            (target / "release.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        else:
            shutil.copytree(root / "course_solutions", source / "course_solutions", ignore=ignore)
        (source / "pyproject.toml").write_text(pyproject, encoding="utf-8")
        dist = Path(scratch) / "dist"
        code = ("import sys; from setuptools import build_meta; "
                "print(build_meta.build_wheel(sys.argv[1]))")
        done = subprocess.run([sys.executable, "-c", code, str(dist)], cwd=source, capture_output=True,
                              text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        if done.returncode != 0:
            raise RuntimeError(f"building the wheel failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        name = done.stdout.strip().splitlines()[-1]
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("course_utils-*.whl"):
            old.unlink()
        return Path(shutil.copy2(dist / name, out / name))


def _graded_pyproject(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if line.startswith("version = ") and "+" not in line:
            version = line.split("=", 1)[1].strip().strip('"')
            line = f'version = "{version}+{GRADED_VERSION}"'
        if line.startswith("include = ") and "course_solutions" in line:
            line = 'include = ["course_utils*"]'
        lines.append(line)
    return "\n".join(lines) + "\n"


# --- the notebooks --------------------------------------------------------------------------------

def graded_notebook(text: str, name: str) -> str:
    """A released exercise notebook as the graded release hands it out: a first cell that says so,
    and a set-up cell that prints the course_utils it runs with. Check cells are untouched."""
    nb = nbformat.reads(text, as_version=4)
    note = nbformat.v4.new_markdown_cell(FIRST_NOTE if name == FIRST_NOTEBOOK else OTHER_NOTE)
    note.id = NOTE_ID
    note.metadata = {"course": {"release": "graded"}}
    setup = next((cell for cell in nb.cells if cell.cell_type == "code"), None)
    if setup is not None and SETUP_MARK not in setup.source:
        setup.source = (setup.source.rstrip("\n") + "\n\n" + SETUP_MARK +
                        "\nfrom course_utils.exercises.graded import show_release\nshow_release()")
    nb.cells.insert(0, note)
    nb.metadata.setdefault("course", {})["release"] = "graded"
    normalise(nb)
    nbformat.validate(nb)
    out = nbformat.writes(nb)
    return out if out.endswith("\n") else out + "\n"


# --- the whole release ----------------------------------------------------------------------------

def source_description(root: Path) -> str:
    done = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def build(out: Path, root: Path = ROOT, tests: Path | None = None, published: str | None = None,
          only: list[str] | None = None, all_tests: bool = False) -> dict:
    """Write the graded release into ``out`` (replaced). Returns a summary (figures, what was skipped)."""
    from course_utils import __version__
    from course_utils.exercises import release

    started = time.perf_counter()
    _replace_folder(out, "release.json", check_only=True)   # before a minute of recording
    released, _ = release.plan(root)          # stops on a bad solutions notebook, like make release
    tests = tests if tests is not None else root / "tests" / "unit"
    info = {"kind": "graded", "course_utils": __version__, "built": datetime.date.today().isoformat(),
            "source": source_description(root), "solutions_published": published or "after the deadline"}
    with tempfile.TemporaryDirectory(prefix="course-recording-") as scratch:
        recorded = Path(scratch) / "recorded"
        summary_path, log = Path(scratch) / "summary.json", Path(scratch) / "self_study.json"
        command = [sys.executable, "-m", "course_utils.exercises.graded_release", "record", str(recorded),
                   "--summary", str(summary_path), "--log", str(log)]
        if tests.is_dir():
            command += ["--tests", str(tests)]
        if only:
            command += ["--lessons", *only]
        if all_tests:
            command.append("--all-tests")
        done = subprocess.run(command, cwd=root, capture_output=True, text=True)
        if done.returncode != 0 or not summary_path.exists():
            raise RuntimeError(f"recording the expectations failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
        summary = json.loads(summary_path.read_text())
        _replace_folder(out, "release.json")
        (out / "exercises").mkdir(parents=True)
        wheel = build_wheel(out, root, recorded, info)
        if log.exists():   # the self-study outcomes of the tests' answers, to measure the release by
            summary["self_study_log"] = json.loads(log.read_text())
    for item in released:
        (out / "exercises" / item.target.name).write_text(graded_notebook(item.text, item.target.name),
                                                          encoding="utf-8")
    (out / "release.json").write_text(json.dumps({**info, "wheel": wheel.name}, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").write_text(readme(wheel.name, info), encoding="utf-8")
    summary.update({"wheel": wheel.name, "wheel_bytes": wheel.stat().st_size, "notebooks": len(released),
                    "seconds_total": round(time.perf_counter() - started, 1)})
    return summary


def _replace_folder(out: Path, mark: str, check_only: bool = False) -> None:
    """Empty ``out`` for a new release, but only if it is one this module wrote (it holds ``mark``)
    or is empty: a folder given by mistake (the repository, a home directory) is never deleted."""
    if out.exists():
        if any(out.iterdir()) and not (out / mark).exists():
            raise FileExistsError(f"{out} is not empty and holds no {mark}: choose a new folder")
        if not check_only:
            shutil.rmtree(out)


def readme(wheel: str, info: dict) -> str:
    return f"""# Composing PyTorch Models: graded release

Built {info['built']}{' from ' + info['source'] if info.get('source') else ''}. This folder holds the
exercise notebooks (`exercises/`) and the course's helper package without the solutions
(`{wheel}`). Checks give instant feedback against expectations recorded when this release was
built; your instructor grades with fresh inputs. The solutions are published {info['solutions_published']}.

## Install

Into the course's environment (the one with PyTorch and JupyterLab), one line:

```bash
python -m pip install --force-reinstall --no-deps {wheel}
```

Into a new environment, PyTorch's CPU build first, then the package with what it needs:

```bash
python -m pip install --index-url https://download.pytorch.org/whl/cpu torch
python -m pip install {wheel}
```

Then open `exercises/00_start_here.ipynb` in JupyterLab: its set-up cell prints
`course_utils ...: graded release (...)`.
"""


# --- publishing the solutions ---------------------------------------------------------------------

def publish(out: Path, root: Path = ROOT) -> dict:
    """After the deadline: the solution notebooks (instructor-only cells left out, outputs kept)
    and the self-study wheel (course_utils with its solutions: ``ex.q1.solution()`` shows them)."""
    _replace_folder(out, "solutions")
    (out / "solutions").mkdir(parents=True)
    count = 0
    for source in sorted((root / "solutions").glob("*.ipynb")):
        nb = nbformat.read(source, as_version=4)
        nb.cells = [c for c in nb.cells if c.get("metadata", {}).get("course", {}).get("hidden") is not True]
        nbformat.write(nb, out / "solutions" / source.name)
        count += 1
    wheel = build_wheel(out, root, graded=False)
    (out / "README.md").write_text(f"""# Composing PyTorch Models: the solutions

`solutions/` holds every exercise notebook solved, with its outputs. To see them from the exercise
notebooks too (`ex.q1.solution()`), install the self-study package over the graded one:

```bash
python -m pip install --force-reinstall --no-deps {wheel.name}
```
""", encoding="utf-8")
    return {"notebooks": count, "wheel": wheel.name}


# --- measuring a release ---------------------------------------------------------------------------

def environment(wheel: Path, folder: Path, kernel: str | None = None) -> Path:
    """A fresh venv in ``folder`` with ``wheel`` installed and, through one .pth line, the packages
    of this environment beside it (torch and the rest: no download). The .pth files of this
    environment do not run there, so an editable install of the checkout stays out of reach.
    With ``kernel``, a Jupyter kernel of that name runs the venv's Python. Returns its python."""
    import sysconfig

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "course-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True, capture_output=True)
    if kernel:
        spec = folder / "share" / "jupyter" / "kernels" / kernel
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": kernel, "language": "python"}))
    return python


def replay_tests(python: Path, files: list[str], select: dict | None, folder: Path, root: Path = ROOT):
    """The command and environment that run the exercise tests in ``python``'s environment with the
    graded harness in replay mode (log: ``folder/graded.json``). The tests build some wrong
    answers by subclassing the reference: outside checks they get it from a copy of
    ``course_solutions`` put on the path; a check that read it is logged as a leak."""
    answers_side = folder / "answers"
    shutil.copytree(root / "course_solutions", answers_side / "course_solutions",
                    ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    (folder / "pytest.ini").write_text("[pytest]\n")
    command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "course_utils.exercises.graded_harness",
               "-c", str(folder / "pytest.ini"), "--rootdir", str(folder), *files]
    env = {**os.environ, "PYTHONPATH": str(answers_side), "COURSE_GRADED_HARNESS": "replay",
           "COURSE_GRADED_LOG": str(folder / "graded.json")}
    if select is not None:
        env["COURSE_GRADED_SELECT"] = json.dumps(select)
    return command, env


def measure(folder: Path, root: Path = ROOT, all_tests: bool = True) -> dict:
    """Build the release recording every test's answers (or only those it ships with), install it
    in a fresh environment, judge the same answers there, and compare with the self-study outcomes."""
    summary = build(folder / "release", root, all_tests=all_tests)
    python = environment(folder / "release" / summary["wheel"], folder / "venv")
    tests = summary["tests"]
    command, env = replay_tests(python, [str(root / "tests" / "unit" / f) for f in tests["files"]],
                                tests["select"], folder)
    subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    from course_utils.exercises.graded_harness import compare

    graded_log = json.loads((folder / "graded.json").read_text())
    figures = compare(summary["self_study_log"], graded_log)
    figures["leaks"] = graded_log["leaks"]
    figures["recorded_exercises"] = summary["needed"]
    figures["build_seconds"] = summary["seconds_total"]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.exercises.graded_release")
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build", help="write the graded release into a folder")
    build_command.add_argument("out", type=Path)
    build_command.add_argument("--solutions-published", default=None,
                               help='when students get the solutions, as solution() says it ("on 14 March")')
    build_command.add_argument("--tests", type=Path, default=None, help="the exercise tests (default tests/unit)")
    publish_command = commands.add_parser("publish", help="write the solution notebooks and the self-study wheel")
    publish_command.add_argument("out", type=Path)
    measure_command = commands.add_parser("measure", help="build, install in a fresh venv, and compare the "
                                          "outcomes of the exercise tests' answers with the self-study release")
    measure_command.add_argument("folder", type=Path)
    measure_command.add_argument("--shipped-tests-only", action="store_true",
                                 help="only the tests the release records (not every test of every lesson)")
    record_command = commands.add_parser("record", help="(internal) record the expectations into a folder")
    record_command.add_argument("out", type=Path)
    record_command.add_argument("--tests", type=Path, default=None)
    record_command.add_argument("--lessons", nargs="*", default=None)
    record_command.add_argument("--all-tests", action="store_true")
    record_command.add_argument("--summary", type=Path, required=True)
    record_command.add_argument("--log", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "record":
        summary = record(args.out, args.tests, args.lessons, args.log, args.all_tests)
        args.summary.write_text(json.dumps(summary, indent=2), encoding="utf-8")
        return 0
    if args.command == "measure":
        figures = measure(args.folder, all_tests=not args.shipped_tests_only)
        (args.folder / "measure.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
        print(json.dumps({k: v for k, v in figures.items() if k not in ("differences", "missing_entries")}, indent=2))
        for difference in figures["differences"]:
            print(json.dumps(difference))
        return 0
    if args.command == "publish":
        done = publish(args.out)
        print(f"published {done['notebooks']} solution notebooks and {done['wheel']} into {args.out}")
        return 0
    summary = build(args.out, tests=args.tests, published=args.solutions_published)
    print(report(summary, args.out))
    return 0


def report(summary: dict, out: Path) -> str:
    tests = summary.get("tests") or {}
    lines = [f"graded release written to {out} in {summary['seconds_total']} s",
             f"  {summary['notebooks']} exercise notebooks, {summary['wheel']} ({summary['wheel_bytes']:,} bytes)",
             f"  references recorded for {len(summary['needed'])} exercises: {', '.join(summary['needed']) or 'none'}"]
    if tests:
        lines.append(f"  with {tests['answers']} answers of {', '.join(tests['files'])} "
                     f"(tests exit code {tests['exit_code']}, {tests['seconds']} s)")
    else:
        lines.append("  no exercise tests found: recorded on the reference answers only")
    for item in summary.get("skipped", []):
        lines.append(f"  not recorded: {item}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
