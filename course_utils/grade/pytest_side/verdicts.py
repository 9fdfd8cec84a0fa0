"""The verdict of one check cell, decided in this (the pytest) process, and why a kernel died.

Right after a check cell ran, ``ask`` finds the cell's exercise in this process's own copy of
the exercise modules and runs its check here, against the answer the restored check cell
names, through probes (``judge``). Nothing the cell printed, raised or returned counts.
"""

from __future__ import annotations

from pathlib import Path

from course_utils.grade.command.prepare import CHECK_CALL
from course_utils.grade.contract import Fault
from course_utils.grade.pytest_side import judge, nbval_bridge


def exercise_of(cell) -> str:
    course = cell.get("metadata", {}).get("course", {})
    return str(course.get("exercise", "")) if isinstance(course, dict) else ""


def ask(item, cell, state, mine) -> dict:
    """The verdict of the check in ``cell`` as a dict (status, reason, message, fault);
    ``mine`` is the notebook's state (a fault that needs a new kernel sets its restart)."""
    notebook = nbval_bridge.notebook_of(item)
    kernel = nbval_bridge.kernel_of(notebook)
    exercise = exercise_of(cell)
    call = CHECK_CALL.match(cell.source)
    if call is None:
        return {"status": "fault", "reason": "the check cell is not of the form ex.qN.check(answer)",
                "fault": Fault.GRADER}
    found = state.exercises().get(exercise)
    if found is None:
        return {"status": "fault", "reason": f"the grader could not find exercise {exercise}",
                "fault": Fault.GRADER}
    student = nbval_bridge.path_of(notebook).parent.name
    result = judge.verdict(found, call.group(3).strip(), kernel, item.config.option.nbval_cell_timeout,
                           judge.secret_for(state.secret, student, exercise))
    fault = result.get("fault")
    if fault is not None and fault.restarts_kernel:
        mine.restart = True
        if fault is Fault.TIMED_OUT:
            nbval_bridge.interrupt(kernel)
        else:
            result["fault"], result["reason"] = death(kernel, state)
    return result


def death(kernel, state) -> tuple[Fault, str]:
    """Why a kernel died: the launcher's marker tells the memory cap from anything else."""
    connection = getattr(getattr(kernel, "km", None), "connection_file", "") or ""
    marker = state.folder / "markers" / (Path(connection).stem + ".oom")
    if connection and marker.exists():
        return Fault.OUT_OF_MEMORY, f"ran out of memory (the grader caps each notebook at {state.memory_mb} MB)"
    return Fault.KERNEL_DIED, "the kernel died (os._exit, exit(), a crash or too much memory)"


