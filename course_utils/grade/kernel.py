"""The kernel that grades a submission: ipykernel with limits and a tamper check.

``python -m course_utils.grade.kernel -f CONNECTION_FILE`` is the ``argv`` of the kernelspec
that the grading plugin installs. Before any student code runs it:

- caps the kernel's address space (``RLIMIT_AS``) and the size of any file it writes
  (``RLIMIT_FSIZE``), so a cell that allocates without end gets a ``MemoryError`` instead of
  taking the machine down;
- caps what one cell may print or display, so an enormous output is truncated in the kernel
  and never reaches the grader's memory;
- imports the modules named in ``COURSE_GRADING_PRELOAD`` (torch by default) and keeps a
  snapshot of their functions, so ``before_check`` can tell when notebook code has replaced
  one of them (``torch.allclose = lambda *a: True``).

Everything here runs in the student's process: it stops accidents and casual cheating, not
a student who reads this file and attacks the grader on purpose (see docs/grading.md).
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys

GUARD_MIME = "application/vnd.course-grading+json"
TRUNCATION_NOTE = "\n[output truncated by the grader after {limit} characters]\n"
WATCHED_CLASSES = ("torch.Tensor", "torch.nn.Module")
WATCHED_MODULES = ("builtins", "torch", "torch.nn.functional", "torch.testing", "importlib")
KERNEL_SWAPPED = {"builtins.input", "builtins.raw_input"}  # ipykernel rebinds these per cell

_snapshot: dict[str, dict[str, object]] = {}


def set_limits(memory_mb: int, file_mb: int) -> None:
    """Cap memory and written file size for this process and its children."""
    if memory_mb > 0:
        limit = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if file_mb > 0:
        limit = file_mb * 2**20
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def cap_output(shell, limit: int) -> None:
    """Keep at most ``limit`` characters per cell on stdout, stderr and in each displayed value."""
    budget = {"stdout": limit, "stderr": limit}  # below zero: the note was written

    def reset(*_args):
        budget["stdout"] = budget["stderr"] = limit

    shell.events.register("pre_run_cell", reset)
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        stream.write = _capped_write(stream.write, name, budget, limit)

    original_format = shell.display_formatter.format

    def capped_format(*args, **kwargs):
        data, metadata = original_format(*args, **kwargs)
        for key, value in data.items():
            if isinstance(value, str) and len(value) > limit:
                data[key] = value[:limit] + TRUNCATION_NOTE.format(limit=limit)
        return data, metadata

    shell.display_formatter.format = capped_format


def _capped_write(write, name, budget, limit):
    def capped(text):
        left = budget[name]
        budget[name] = left - len(text)
        if len(text) <= left:
            write(text)
        elif left >= 0:  # the first write over the limit: what fits, then the note once
            write(text[:left] + TRUNCATION_NOTE.format(limit=limit))
            budget[name] = -1
        return len(text)

    return capped


def _watched() -> dict[str, dict]:
    namespaces = {}
    for name in WATCHED_MODULES:
        if name in sys.modules:
            namespaces[name] = vars(sys.modules[name])
    for dotted in WATCHED_CLASSES:
        module, _, attr = dotted.rpartition(".")
        if module in sys.modules and hasattr(sys.modules[module], attr):
            namespaces[dotted] = vars(getattr(sys.modules[module], attr))
    return namespaces


def take_snapshot() -> None:
    """Remember every callable of the watched namespaces as it is before student code runs."""
    for name, namespace in _watched().items():
        _snapshot[name] = {k: v for k, v in namespace.items() if callable(v)}
    _snapshot["sys"] = {"meta_path": list(sys.meta_path)}


def replaced_functions() -> list[str]:
    """Names of snapshotted callables that notebook code has replaced or deleted since."""
    changed = []
    for name, namespace in _watched().items():
        for key, original in _snapshot.get(name, {}).items():
            current = namespace.get(key)
            if current is original or f"{name}.{key}" in KERNEL_SWAPPED:
                continue
            if not _wraps(current, original):
                changed.append(f"{name}.{key}")
    if "sys" in _snapshot and sys.meta_path != _snapshot["sys"]["meta_path"]:
        changed.append("sys.meta_path")
    return sorted(changed)


def _wraps(current, original) -> bool:
    """torch wraps some of its own functions when a submodule loads (importing torch._dynamo
    wraps ``torch.manual_seed``); a functools.wraps chain back to the original is not flagged."""
    for _ in range(5):
        current = getattr(current, "__wrapped__", None)
        if current is None:
            return False
        if current is original:
            return True
    return False


def before_check(exercise: str, modules: list[str]) -> None:
    """Run by every restored check cell before the check itself.

    Forgets the exercise modules so the next import reads them from disk (a redefined ``ex``,
    a replaced ``check`` or a patched engine class no longer matter), turns grading mode back
    on, and reports what notebook code has replaced, as a display the plugin reads.
    """
    findings = replaced_functions()
    if os.environ.get("COURSE_GRADING") != "1":
        findings.append("os.environ['COURSE_GRADING']")
    os.environ["COURSE_GRADING"] = "1"
    prefixes = tuple(modules) + ("course_utils.exercises",)
    for name in list(sys.modules):
        if name.startswith(prefixes):
            del sys.modules[name]
    importlib.invalidate_caches()
    if findings:
        from IPython.display import display

        report = {"exercise": exercise, "replaced": findings}
        display({GUARD_MIME: report, "text/plain": "grader: " + json.dumps(report)}, raw=True)


def main(argv: list[str]) -> None:
    set_limits(int(os.environ.get("COURSE_GRADING_MEMORY_MB", "2048")),
               int(os.environ.get("COURSE_GRADING_FILE_MB", "256")))
    for name in filter(None, os.environ.get("COURSE_GRADING_PRELOAD", "torch").split(",")):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(argv)
    with app.shell.builtin_trap:  # builtins as a cell sees them (exit, quit, get_ipython)
        take_snapshot()
    cap_output(app.shell, int(os.environ.get("COURSE_GRADING_OUTPUT_CHARS", "100000")))
    app.start()


if __name__ == "__main__":
    # run the imported module, not __main__, so restored check cells see this snapshot
    from course_utils.grade import kernel

    kernel.main(sys.argv[1:])
