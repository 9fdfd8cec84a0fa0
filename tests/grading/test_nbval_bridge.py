"""The nbval internals the grading plugin relies on (``course_utils.grade.pytest_side.nbval_bridge``) exist,
and the bridge's own pieces work against a real kernel: an nbval upgrade that moves one of
them fails here, by name."""

from __future__ import annotations

import inspect
from queue import Empty

import nbval.kernel
import nbval.plugin
import pytest

from course_utils.grade.pytest_side import nbval_bridge


def test_the_internals_the_bridge_uses_exist():
    assert callable(nbval.kernel.start_new_kernel)
    assert nbval.kernel.CURRENT_ENV_KERNEL_NAME == nbval_bridge.CURRENT_ENV
    assert nbval_bridge.kernel_starter() is nbval.kernel.start_new_kernel
    for name in ("get_message", "await_idle", "execute_cell_input", "is_alive", "stop", "interrupt"):
        assert callable(getattr(nbval.kernel.RunningKernel, name)), name
    init = inspect.signature(nbval.kernel.RunningKernel.__init__).parameters
    assert {"kernel_name", "cwd", "startup_timeout"} <= set(init)
    cell_source = inspect.getsource(nbval.plugin.IPyNbCell)
    for attribute in ("self.cell", "self.cell_num", "self.test_outputs", "self.parent"):
        assert attribute in cell_source, attribute
    file_source = inspect.getsource(nbval.plugin.IPyNbFile)
    for attribute in ("self.nb", "self.kernel", "self.timed_out"):
        assert attribute in file_source, attribute


def test_use_kernel_starter_is_what_nbval_starts_kernels_with(tmp_path):
    """RunningKernel (what nbval's notebook setup makes) calls the starter with the notebook's
    folder, and the kernel name, time-out and stderr nbval chose."""
    original, calls = nbval.kernel.start_new_kernel, []

    class Started(Exception):
        pass

    def starter(**kwargs):
        calls.append(kwargs)
        raise Started

    try:
        nbval_bridge.use_kernel_starter(starter)
        with pytest.raises(Started):
            nbval.kernel.RunningKernel("some-kernel", cwd=str(tmp_path), startup_timeout=7)
    finally:
        nbval_bridge.use_kernel_starter(original)
    assert nbval.kernel.start_new_kernel is original
    (call,) = calls
    assert (call["kernel_name"], call["cwd"], call["startup_timeout"]) == ("some-kernel",
                                                                          str(tmp_path), 7)
    call["stderr"].close()


@pytest.fixture
def kernel():
    nbval_bridge.poll_for_dead_kernels()
    running = nbval.kernel.RunningKernel(nbval.kernel.CURRENT_ENV_KERNEL_NAME, startup_timeout=60)
    stderr = running.km._launch_args.get("stderr")   # nbval opens os.devnull and never closes it
    yield running
    running.stop()   # also after the kernel died: its channels' sockets must be closed
    if stderr is not None:
        stderr.close()


@pytest.mark.slow
def test_silent_evaluation_returns_values_and_skips_transformers(kernel):
    nbval_bridge.run_source(kernel, "x = 20\nget_ipython().input_transformers_cleanup.append("
                                    "lambda lines: ['x = -1\\n'])", timeout=30)
    values = nbval_bridge.evaluate_silently(kernel, {"answer": "x * 2 + 2"}, timeout=30)
    assert values["answer"]["status"] == "ok"
    assert values["answer"]["data"]["text/plain"] == "42"


@pytest.mark.slow
def test_silent_evaluation_times_out_with_empty(kernel):
    with pytest.raises(Empty):
        nbval_bridge.evaluate_silently(kernel, {"slow": "__import__('time').sleep(3)"}, timeout=0.5)
    nbval_bridge.interrupt(kernel)


@pytest.mark.slow
def test_messages_are_read_without_nbval_pretty_printing_each(kernel, monkeypatch):
    # nbval formats every message for a debug log that nothing reads; on probe replies that
    # was a third of the grader's processor time, so the bridge reads the channels itself
    def refuse(message):
        raise AssertionError("a kernel message was pretty-printed")

    monkeypatch.setattr(nbval.kernel, "pformat", refuse)
    nbval_bridge.run_source(kernel, "y = 41 + 1", timeout=30)
    assert nbval_bridge.evaluate_silently(kernel, {"y": "y"}, timeout=30)["y"]["data"]["text/plain"] == "42"
    with pytest.raises(ValueError, match="Invalid stream"):
        kernel.get_message("stdin", timeout=1)


@pytest.mark.slow
def test_a_dead_kernel_is_noticed_at_once(kernel):
    msg_id = kernel.execute_cell_input("import os\nos._exit(1)", allow_stdin=False)
    with pytest.raises(nbval_bridge.KernelDied):
        nbval_bridge._await_reply(kernel, msg_id, timeout=30)

