"""Every reliance of the grading plugin on nbval's internals, in one place with its own test.

nbval (0.11) has no API for what grading needs, so the plugin uses these of its internals:

- ``nbval.kernel.start_new_kernel``: what ``RunningKernel`` calls to start a kernel; replaced
  by the kernel pool's (``kernel_pool``), which hands out kernels started ahead; and
  ``nbval.kernel.CURRENT_ENV_KERNEL_NAME``, the kernel name ``--nbval-current-env`` asks for;
- ``nbval.kernel.RunningKernel``: ``km``, ``kc``, ``get_message``, ``await_idle``, ``is_alive``,
  ``stop``, ``interrupt``; its ``get_message`` is replaced by one that polls, so a dead kernel
  fails its cell at once instead of after the cell timeout, and that reads the client's channel
  itself: nbval's pretty-prints every message for a debug log even when nothing logs it, which
  cost the grader a third of its processor time on probe replies;
- ``nbval.plugin.IPyNbCell``: ``cell`` (the nbformat cell), ``cell_num``, ``test_outputs``,
  ``parent``; ``nbval.plugin.IPyNbFile``: ``nb``, ``kernel``, ``timed_out``, ``fspath``.

``tests/grading/test_nbval_bridge.py`` asserts each of these exists, so an nbval upgrade that
moves one fails there, by name, rather than somewhere in a grading run.
"""

from __future__ import annotations

import time
from pathlib import Path
from queue import Empty


class KernelDied(RuntimeError):
    """The kernel process ended while a cell ran (os._exit, exit(), a crash, the memory cap)."""


CURRENT_ENV = ":nbval-parent-env"   # nbval.kernel.CURRENT_ENV_KERNEL_NAME (--nbval-current-env)


def kernel_starter():
    """The ``start_new_kernel`` nbval starts its kernels with now."""
    import nbval.kernel

    return nbval.kernel.start_new_kernel


def use_kernel_starter(start_new_kernel) -> None:
    """``start_new_kernel(startup_timeout, kernel_name, stderr, cwd) -> (manager, client)``."""
    import nbval.kernel

    nbval.kernel.start_new_kernel = start_new_kernel


def poll_for_dead_kernels() -> None:
    """Make nbval's blocking waits poll, so a dead kernel fails its cell within half a second."""
    from nbval.kernel import RunningKernel

    if getattr(RunningKernel.get_message, "_course_grading", False):
        return

    def get_message(self, stream, timeout=None):
        if stream not in ("iopub", "shell"):
            raise ValueError(f"Invalid stream specified: {stream!r}")
        read = self.kc.get_iopub_msg if stream == "iopub" else self.kc.get_shell_msg
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
            try:
                return read(timeout=left)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
                if not self.is_alive():
                    raise KernelDied("the kernel died while this cell ran") from None

    get_message._course_grading = True
    RunningKernel.get_message = get_message


def is_cell(item) -> bool:
    return hasattr(item, "cell") and hasattr(item, "parent") and hasattr(item.parent, "nb")


def cell_of(item):
    return item.cell


def cell_number(item) -> int:
    return item.cell_num


def outputs_of(item) -> list:
    return item.test_outputs or []


def notebook_of(item):
    """The nbval file node that holds the notebook's kernel."""
    return item.parent


def path_of(notebook) -> Path:
    return Path(str(notebook.fspath))


def folder_of(notebook) -> str:
    """The notebook's folder: its kernel's working folder and sandbox."""
    return str(path_of(notebook).parent)


def kernel_of(notebook):
    return notebook.kernel


def forget_timeout(notebook) -> None:
    """nbval xfails every cell after a timeout; the plugin recovers instead."""
    notebook.timed_out = False


def start_kernel(notebook, kernel_name: str):
    """A new kernel for ``notebook`` (after the old one died or was stopped)."""
    from nbval.kernel import RunningKernel

    notebook.kernel = RunningKernel(
        kernel_name, cwd=folder_of(notebook),
        startup_timeout=notebook.config.option.nbval_kernel_startup_timeout)
    return notebook.kernel


def stop_kernel(kernel) -> None:
    """Stop a kernel, dead or alive: its channels' sockets are closed either way."""
    try:
        kernel.stop()
    except Exception:  # noqa: BLE001 - a kernel that died may refuse parts of the shutdown
        kernel.kc.stop_channels()


def run_source(kernel, source: str, timeout: float) -> None:
    """Execute ``source`` and wait until the kernel is idle again (outputs ignored)."""
    msg_id = kernel.execute_cell_input(source, allow_stdin=False)
    _await_reply(kernel, msg_id, timeout)
    kernel.await_idle(msg_id, timeout)


def evaluate_silently(kernel, expressions: dict[str, str], timeout: float) -> dict:
    """Evaluate ``expressions`` through a silent execute request and return the reply's
    ``user_expressions``. Silent requests run no input transformers on the expressions and
    trigger no cell hooks; the reply travels on the shell channel, never through a display.
    Its busy and idle messages on IOPub are left for the next wait, which skips messages of
    other requests (nbval's ``await_idle`` and output loop compare the parent's ``msg_id``)."""
    msg_id = kernel.kc.execute("", silent=True, store_history=False, user_expressions=expressions,
                               allow_stdin=False, stop_on_error=False)
    reply = _await_reply(kernel, msg_id, timeout)
    content = reply.get("content", {})
    return content.get("user_expressions") or {}


def _await_reply(kernel, msg_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Empty
        msg = kernel.get_message(stream="shell", timeout=left)
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            return msg


def interrupt(kernel) -> None:
    kernel.interrupt()
