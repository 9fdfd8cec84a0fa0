"""The grader's judge (pytest side): a probed exercise's check runs here, in the grading process,
which never executes student code; the answer stays in the student's kernel.

After a check cell ran, ``verdict`` names the answer by the expression the restored check cell
passes (``ex.q1.check(linear_by_hand)`` -> ``linear_by_hand``) and runs the exercise's own
check (``Exercise.judge``) with a ``KernelTransport``: each probe is one silent execute request
whose ``user_expressions`` call the probe server in the kernel (``course_utils.probes.server``),
and each reply is plain data that the check judges here. What the kernel says is at most a
claim about how the answer behaves on inputs it has never seen (drawn from this run's secret):
a kernel that replies "correct" to everything, or anything malformed, earns nothing.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import os
from queue import Empty

from course_utils.grade.contract import EXERCISES, SOLUTIONS, Fault
from course_utils.grade.pytest_side import nbval_bridge
from course_utils.grade.pytest_side.nbval_bridge import KernelDied
from course_utils.probes.transport import ProbeFault, Transport, TransportFailed

PROBE_CALL = "__import__('course_utils.probes.server', fromlist=['serve']).serve({text!r})"


class KernelTransport(Transport):
    """One probe = one silent ``user_expressions`` request to the notebook's kernel.

    Every request waits for its reply before the next is sent: ipykernel 7 before 7.4 can
    miss a shell request that arrives while it sends a reply (ipykernel#1529, #1554), and the
    cell after it would wait forever."""

    def __init__(self, kernel, timeout: float):
        self.kernel, self.timeout = kernel, timeout

    def send(self, text: str) -> str:
        try:
            reply = nbval_bridge.evaluate_silently(self.kernel, {"probe": PROBE_CALL.format(text=text)},
                                                   self.timeout)
        except Empty:
            raise TransportFailed(Fault.TIMED_OUT, f"timed out after {self.timeout:g} s (an endless loop?)") \
                from None
        except KernelDied:
            raise TransportFailed(Fault.KERNEL_DIED, "the kernel died while the answer was checked") from None
        value = reply.get("probe")
        if not isinstance(value, dict) or value.get("status") != "ok":
            name = value.get("ename", "no reply") if isinstance(value, dict) else "no reply"
            raise ProbeFault(f"the kernel did not answer a probe ({name})")
        data = value.get("data")
        text = data.get("text/plain") if isinstance(data, dict) else None
        try:
            reply_text = ast.literal_eval(text) if isinstance(text, str) else None
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            reply_text = None
        if not isinstance(reply_text, str):
            raise ProbeFault("the kernel's reply to a probe is not text")
        return reply_text


def announce(modules: str) -> None:
    """Name the exercise modules this run grades, and where their solutions live: the
    launcher hides those from every kernel (``sandbox.solution_paths``). Read from the
    modules' source, not imported: kernels start before this process imports torch."""
    os.environ[EXERCISES] = modules
    names = [solutions_of(name) for name in filter(None, modules.split(","))]
    os.environ[SOLUTIONS] = ",".join(sorted({name for name in names if name}))


def solutions_of(module: str) -> str | None:
    """``engine.solutions_module`` of an exercise module that is not imported yet: its
    top-level ``SOLUTIONS = "..."`` if it has one, else the default; None if there is no
    such module."""
    from course_utils.exercises.engine import declared, solutions_module

    named = declared(module, "SOLUTIONS", str, default="")
    return None if named is None else named or solutions_module(module)


def registry() -> dict:
    """The exercises of the modules this run grades, loaded here (the grader's own copy)."""
    from course_utils.exercises.engine import Exercise

    found = {}
    for name in filter(None, os.environ.get(EXERCISES, "").split(",")):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        found.update({value.id: value for value in vars(module).values() if isinstance(value, Exercise)})
    return found


def write_catalog(exercises: dict, path) -> None:
    """Title and hints of each exercise, as JSON: the command's feedback reads them instead of
    importing the exercise modules (and torch) itself. Written whole, then renamed: the workers
    of pytest-xdist each write the same catalog."""
    import json
    import tempfile

    catalog = {name: {"title": str(getattr(exercise, "title", "") or ""),
                      "hints": [str(hint) for hint in getattr(exercise, "hints", [])]}
               for name, exercise in sorted(exercises.items())}
    handle = tempfile.NamedTemporaryFile("w", dir=os.path.dirname(path), delete=False,
                                         suffix=".part")
    with handle:
        json.dump(catalog, handle)
    os.replace(handle.name, path)


def secret_for(run_secret: str, student: str, exercise: str) -> int:
    """The inputs of one student's check: fresh per run, different per student and exercise."""
    digest = hashlib.sha256(f"{run_secret}\x1f{student}\x1f{exercise}".encode()).digest()
    return int.from_bytes(digest[:7], "big") or 1


def verdict(exercise, expression: str, kernel, timeout: float, secret: int) -> dict:
    """The verdict of ``exercise`` on the answer ``expression`` names in ``kernel``."""
    try:
        outcome = exercise.judge(KernelTransport(kernel, timeout), expression, secret=secret)
    except TransportFailed as failed:
        fault, reason = failed.args
        return {"status": "fault", "reason": reason, "fault": fault}
    if outcome.status == "correct":
        return {"status": "correct", "message": outcome.message, "judged": True}
    return {"status": "not correct", "message": f"{outcome.status.replace('_', ' ')}: {outcome.message}",
            "judged": True}
