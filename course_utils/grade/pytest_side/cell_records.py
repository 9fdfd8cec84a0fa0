"""What one cell's run says, as a typed record: the verdict of a check cell, or the
fault of a cell that looped, died, exited or printed without end (a plain failing cell says
nothing: its exercise, if any, is judged by the check). The plugin's hooks call these."""

from __future__ import annotations

import re

from course_utils.grade.pytest_side import nbval_bridge, verdicts
from course_utils.grade.kernel_side.kernel import TRUNCATION_NOTE
from course_utils.grade.pytest_side.nbval_bridge import KernelDied
from course_utils.grade.contract import Fault
from course_utils.grade.records import CheckResult, Note

MESSAGE_CHARS = 2000


def _points(cell) -> float:
    points = cell.get("metadata", {}).get("course", {}).get("points", 1)
    return points if isinstance(points, (int, float)) and not isinstance(points, bool) else 0


def _names(item) -> tuple[str, str]:
    path = nbval_bridge.path_of(nbval_bridge.notebook_of(item))
    return path.parent.name, path.stem


def record_of(item, call, state):
    """The record of one cell's run: a check's verdict, a fault's note, or None."""
    student, lesson = _names(item)
    cell = nbval_bridge.cell_of(item)
    number = nbval_bridge.cell_number(item) + 1
    fault, reason = fault_of(call.excinfo, item, state) or (None, "")
    exercise = verdicts.exercise_of(cell)
    if exercise:
        verdict = state.notebook(item).verdicts.get(nbval_bridge.cell_number(item)) or {
            "status": "fault", "reason": reason or "the check cell failed before its verdict",
            "fault": fault or Fault.STOPPED}
        return CheckResult(student, lesson, exercise, verdict["status"], _points(cell),
                           reason=verdict.get("reason") or (
                               verdict.get("message", "") if verdict["status"] == "fault" else ""),
                           message=_short(verdict.get("message", "")),
                           judged=bool(verdict.get("judged")), fault=verdict.get("fault"))
    if fault:
        return Note(student, f"{lesson}: code cell {number}: {reason}", lesson, failed_to_run=True,
                    fault=fault)
    if _truncated(item):
        return Note(student, f"{lesson}: code cell {number}: enormous output truncated", lesson)
    return None


def _short(text: str) -> str:
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + " [...]"


def _truncated(item) -> bool:
    marker = TRUNCATION_NOTE.split("{")[0].strip()
    return any(marker in str(output.get("text", "")) or
               any(marker in str(v) for v in output.get("data", {}).values())
               for output in nbval_bridge.outputs_of(item))


def fault_of(excinfo, item, state) -> tuple[Fault, str] | None:
    """The fault and its reason for the runaway cases; None for a cell that simply raised or
    passed."""
    if excinfo is None:
        return None
    text = str(excinfo.value)
    if excinfo.errisinstance(KernelDied):
        return verdicts.death(nbval_bridge.kernel_of(nbval_bridge.notebook_of(item)), state)
    if excinfo.errisinstance(NotRun):
        return Fault.STOPPED, text
    if "Timeout of" in text:
        timeout = re.search(r"Timeout of ([\d.]+) seconds", text)
        return Fault.TIMED_OUT, f"timed out after {timeout.group(1) if timeout else '?'} s (an endless loop?)"
    for output in nbval_bridge.outputs_of(item):
        if output.get("output_type") == "error" and output.get("ename") == "SystemExit":
            return Fault.SYS_EXIT, "the cell called sys.exit()"
    if excinfo.errisinstance(RuntimeError) and "Kernel" in text:
        return Fault.GRADER, f"kernel failure: {text.splitlines()[0]}"
    return None


class NotRun(RuntimeError):
    """A cell the plugin did not run: the notebook used up its time budget, or its kernel
    could not be restored after an earlier fault."""
