"""The verdict of one check cell, decided in this (the pytest) process, and why a kernel died.

Right after a check cell ran, ``ask`` finds the cell's exercise in this process's own copy of
the exercise modules and runs its check here, against the answer the restored check cell
names, through probes (``judge``). Nothing the cell printed, raised or returned counts.
"""

from __future__ import annotations

import re
from pathlib import Path

from course_utils.grade.pytest_side import judge, nbval_bridge

CHECK_CALL = re.compile(r"^\s*(\w+)\.(q\d+)\.check\((.+)\)\s*$", re.S)


def exercise_of(cell) -> str:
    course = cell.get("metadata", {}).get("course", {})
    return str(course.get("exercise", "")) if isinstance(course, dict) else ""


def ask(item, cell, state) -> dict:
    """The verdict of the check in ``cell`` as a dict (status, reason, message)."""
    notebook = nbval_bridge.notebook_of(item)
    kernel = nbval_bridge.kernel_of(notebook)
    exercise = exercise_of(cell)
    call = CHECK_CALL.match(cell.source)
    if call is None:
        return {"status": "fault", "reason": "the check cell is not of the form ex.qN.check(answer)"}
    found = state.exercises().get(exercise)
    if found is None:
        return {"status": "fault", "reason": f"the grader could not find exercise {exercise}"}
    student = nbval_bridge.path_of(notebook).parent.name
    result = judge.verdict(found, call.group(3).strip(), kernel, item.config.option.nbval_cell_timeout,
                           judge.secret_for(state.secret, student, exercise))
    if result.pop("restart", False):
        notebook._grading_restart = True
        if "timed out" in result["reason"]:
            nbval_bridge.interrupt(kernel)
        else:
            result["reason"] = death_reason(kernel, state)
    return result


def death_reason(kernel, state) -> str:
    connection = getattr(getattr(kernel, "km", None), "connection_file", "") or ""
    marker = state.folder / "markers" / (Path(connection).stem + ".oom")
    if connection and marker.exists():
        return f"ran out of memory (the grader caps each notebook at {state.memory_mb} MB)"
    return "the kernel died (os._exit, exit(), a crash or too much memory)"


