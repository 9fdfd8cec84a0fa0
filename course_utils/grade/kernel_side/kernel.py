"""The kernel that runs a submission: ipykernel with limits, torch and the probe server loaded.

``python -m course_utils.grade.kernel_side.kernel -f CONNECTION_FILE`` is what the sandbox launcher runs
(``course_utils.grade.launcher.sandbox``); a warm kernel, forked from the warm parent that
imported all this ahead (``launcher.fork_server``), calls ``main`` itself. This is the one grading process where student code runs, so
it decides nothing: it runs the notebook's cells and answers the grader's probes
(``course_utils.probes.server``); every check runs in the grader's own process
(``course_utils.grade.pytest_side.judge``). Before any student code runs it

- caps the size of any file it writes (``RLIMIT_FSIZE``); memory is capped from outside, on
  what the kernel really uses (the launcher's watchdog), so a CUDA build of torch that reserves
  3 GB of address space grades like the CPU build;
- caps what one cell may print or display, so an enormous output is truncated in the kernel
  and never reaches the grader's memory (a probe's reply is bounded by the wire's own limit);
- imports torch, the probe server and the exercise modules being graded (a kernel started
  ahead, or forked from the warm parent, has paid for them before its notebook's turn);
- then moves into the notebook's scratch folder (``COURSE_GRADING_SCRATCH``), so modules a
  notebook writes there can never stand in for the course's own.
"""

from __future__ import annotations

import os
import resource
import sys

from course_utils.grade import contract

TRUNCATION_NOTE = "\n[output truncated by the grader after {limit} characters]\n"


def set_limits(file_mb: int) -> None:
    """Cap the size of any file this process and its children write."""
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
    original_user_expressions = shell.user_expressions
    from course_utils.probes.wire import MAX_TEXT

    probing = [False]   # a probe's reply (user_expressions) may hold tensors: the wire's own limit

    def capped_format(*args, **kwargs):
        data, metadata = original_format(*args, **kwargs)
        cap = MAX_TEXT if probing[0] else limit
        for key, value in data.items():
            if isinstance(value, str) and len(value) > cap:
                data[key] = value[:cap] + TRUNCATION_NOTE.format(limit=cap)
        return data, metadata

    def user_expressions(expressions):
        probing[0] = True
        try:
            return original_user_expressions(expressions)
        finally:
            probing[0] = False

    shell.display_formatter.format = capped_format
    shell.user_expressions = user_expressions


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


def preload() -> None:
    """What every notebook imports first (torch, and the exercise modules its first cell
    imports: 60 ms of each lesson-01 notebook, paid once in the warm parent), and what the
    grader's probes call. A module that cannot be imported is left to the notebook's own
    import, which then says why in its cell."""
    import importlib

    import torch  # noqa: F401

    import course_utils.probes.server  # noqa: F401

    for name in filter(None, os.environ.get(contract.EXERCISES, "").split(",")):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - any error is the notebook's to show
            pass


def main(argv: list[str]) -> None:
    set_limits(contract.env_int(os.environ, contract.FILE_MB_ENV, contract.FILE_MB))
    preload()
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(argv)
    cap_output(app.shell, contract.env_int(os.environ, contract.OUTPUT_CHARS_ENV, contract.OUTPUT_CHARS))
    scratch = os.environ.get(contract.SCRATCH)
    if scratch:
        os.chdir(scratch)
    # A module a notebook writes into its folder must never stand in for one a check imports.
    sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd())]
    app.start()


if __name__ == "__main__":
    main(sys.argv[1:])
