"""``pytest --nbval-lax --gradebook FILE SUBMISSIONS/``: the instructor command behind pytest.

The course names that line as how instructors grade, so it must be exactly as safe as
``python -m course_utils.grade``: this module turns pytest's options into the command's and
runs it before pytest collects anything from the submissions folder. Results other than the
gradebook (feedback, report, cache, log) go to ``FILE``'s folder, under ``<stem>-results/``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def grade_from_pytest(config) -> int:
    from course_utils.grade.__main__ import grade_main

    option = config.option
    folders = [Path(arg) for arg in config.args]
    if len(folders) != 1 or not folders[0].is_dir():
        raise pytest.UsageError("--gradebook FILE takes one folder of submissions "
                                "(one sub-folder per student), e.g. pytest --nbval-lax "
                                "--gradebook grades.csv SUBMISSIONS/")
    target = Path(option.gradebook)
    out = target.parent / f"{target.stem}-results"
    argv = [str(folders[0]), "--out", str(out), "--no-progress",
            "--memory-mb", str(option.grading_memory_mb),
            "--notebook-timeout", str(option.grading_notebook_timeout),
            "--workers", str(_workers(option))]
    if getattr(option, "nbval_cell_timeout", None):
        argv += ["--timeout", str(option.nbval_cell_timeout)]
    if option.grading_release:
        argv += ["--release", option.grading_release]
    if option.grading_no_sandbox:
        argv.append("--no-sandbox")
    status = grade_main(argv)
    if status == 0:
        source = out / ("gradebook.json" if target.suffix == ".json" else "gradebook.csv")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        print(f"gradebook: {target}")
    return status


def _workers(option) -> int:
    requested = getattr(option, "numprocesses", None)
    return requested if isinstance(requested, int) and requested > 0 else (os.cpu_count() or 1)
