"""Asking a grading kernel for the verdict of one check, and telling why a kernel died.

Right after a check cell ran, the plugin sends the kernel a silent execute request whose
``user_expressions`` call the verdict function the kernel installed before any student cell
(``guard``), with a fresh nonce; only a verdict sealed with this run's key, for this exercise
and nonce, counts (``seal.unseal``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from queue import Empty

from course_utils.grade import judge, nbval_bridge, seal
from course_utils.grade.nbval_bridge import KernelDied

CHECK_CALL = re.compile(r"^\s*(\w+)\.(q\d+)\.check\((.+)\)\s*$", re.S)
NO_VERDICT = "no sealed verdict came back from the check (the grader's checking code was " \
             "replaced, blocked or broken in this notebook)"


def exercise_of(cell) -> str:
    course = cell.get("metadata", {}).get("course", {})
    return str(course.get("exercise", "")) if isinstance(course, dict) else ""


def ask(item, cell, state) -> dict:
    """The verdict of the check in ``cell`` as a dict (status, reason, message, ...)."""
    notebook = nbval_bridge.notebook_of(item)
    kernel = nbval_bridge.kernel_of(notebook)
    exercise = exercise_of(cell)
    call = CHECK_CALL.match(cell.source)
    if call is None:
        return {"status": "fault", "reason": "the check cell is not of the form ex.qN.check(answer)"}
    timeout = item.config.option.nbval_cell_timeout
    probed = state.exercises().get(exercise)
    if probed is not None and probed.probed:
        student = nbval_bridge.path_of(notebook).parent.name
        result = judge.verdict(probed, call.group(3).strip(), kernel, timeout,
                               judge.secret_for(state.secret, student, exercise))
        if result.pop("restart", False):
            notebook._grading_restart = True
            if "timed out" in result["reason"]:
                nbval_bridge.interrupt(kernel)
            elif "died" in result["reason"]:
                result["reason"] = death_reason(kernel, state)
        return result
    nonce = seal.new_nonce()
    expression = (f"__import__('course_utils.grade.kernel', fromlist=['verdict'])"
                  f".verdict({exercise!r}, {call.group(3).strip()!r}, {nonce!r})")
    try:
        reply = nbval_bridge.evaluate_silently(kernel, {"verdict": expression}, timeout)
    except Empty:
        notebook._grading_restart = True
        nbval_bridge.interrupt(kernel)
        return {"status": "fault", "reason": f"timed out after {timeout:g} s (an endless loop?)"}
    except KernelDied:
        notebook._grading_restart = True
        return {"status": "fault", "reason": death_reason(kernel, state)}
    value = reply.get("verdict", {})
    text = value.get("data", {}).get("text/plain") if value.get("status") == "ok" else None
    try:
        text = ast.literal_eval(text) if isinstance(text, str) else None
    except (ValueError, SyntaxError):
        text = None
    verdict = seal.unseal(state.key, text, nonce, exercise)
    if verdict is None:
        return {"status": "tampered", "reason": NO_VERDICT, "sealed": False}
    verdict["sealed"] = True
    if verdict["status"] == "tampered":
        verdict["reason"] = "notebook code changed the grader's checking code: " + \
                            ", ".join(verdict["findings"][:8])
    return verdict


def death_reason(kernel, state) -> str:
    connection = getattr(getattr(kernel, "km", None), "connection_file", "") or ""
    marker = state.folder / "markers" / (Path(connection).stem + ".oom")
    if connection and marker.exists():
        return f"ran out of memory (the grader caps each notebook at {state.memory_mb} MB)"
    return "the kernel died (os._exit, exit(), a crash or too much memory)"


