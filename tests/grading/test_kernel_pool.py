"""The kernel pool (``course_utils.grade.pytest_side.kernel_pool``) with stand-in kernel managers: which
kernels start when, that each notebook gets the kernel started for its own folder, that stops
run in the background and ``shutdown`` leaves nothing running. Real kernels go through it in
every grading test (``test_grading``, ``test_attacks``). Last, the runner's choice between one
process with the pool and pytest-xdist."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from queue import Queue

import pytest

from course_utils.grade.command import execute, runner
from course_utils.grade.pytest_side.kernel_pool import KernelPool, wait_until_ready

FOLDERS = ["/scratch/a", "/scratch/b", "/scratch/c", "/scratch/d"]


class FakeManager:
    """Records what the pool does with it; answers kernel_info unless told otherwise."""

    launched: list = []
    instances: list = []
    ids = itertools.count()

    def __init__(self, kernel_name):
        self.kernel_name = kernel_name
        self.number = next(self.ids)
        self.alive, self.answers = True, True
        self.stopped = threading.Event()
        self.stderr = None
        FakeManager.instances.append(self)

    def start_kernel(self, stdout=None, stderr=None, cwd=None):
        self.cwd, self.stderr, self.stdout = cwd, stderr, stdout
        FakeManager.launched.append(cwd)

    def shutdown_kernel(self, now=False, restart=False):
        time.sleep(1.0)   # what a real kernel's launcher takes (0.1 s), and much more
        self.alive = False
        self.stopped.set()

    def is_alive(self):
        return self.alive

    def client(self):
        return FakeClient(self)


class FakeClient:
    def __init__(self, manager):
        self.manager, self.replies, self.asked = manager, Queue(), 0
        self.channels = False

    def start_channels(self):
        self.channels = True

    def stop_channels(self):
        self.channels = False

    def kernel_info(self):
        self.asked += 1
        msg_id = f"info-{self.asked}"
        if self.manager.answers:
            self.replies.put({"parent_header": {"msg_id": "someone else's"}})
            self.replies.put({"parent_header": {"msg_id": msg_id}})
        return msg_id

    def get_shell_msg(self, timeout=None):
        return self.replies.get(timeout=timeout)


@pytest.fixture(autouse=True)
def fresh_launches():
    FakeManager.launched, FakeManager.instances = [], []


def pool(ahead: int) -> KernelPool:
    kernels = KernelPool(FakeManager, "grading", ahead)
    kernels.plan(FOLDERS)
    return kernels


def test_the_first_kernels_start_together_and_each_notebook_starts_the_next():
    kernels = pool(ahead=2)
    kernels.start_first()
    assert FakeManager.launched == FOLDERS[:3]
    manager, client = kernels.start_new_kernel(startup_timeout=5, kernel_name="grading",
                                               cwd=FOLDERS[0])
    assert manager.cwd == FOLDERS[0] and client.channels
    kernels.start_ahead(FOLDERS[0])   # b and c are started already
    assert FakeManager.launched == FOLDERS[:3]
    kernels.start_ahead(FOLDERS[1])
    assert FakeManager.launched == FOLDERS
    kernels.start_ahead(FOLDERS[3])   # the last notebook: nothing follows
    assert FakeManager.launched == FOLDERS
    kernels.shutdown()


def test_a_notebook_gets_the_kernel_started_for_its_own_folder():
    kernels = pool(ahead=3)
    kernels.start_first()
    started = dict(kernels.waiting)
    for folder in reversed(FOLDERS):
        manager, _client = kernels.start_new_kernel(5, "grading", None, folder)
        assert manager is started[folder] and manager.cwd == folder
    assert len(FakeManager.launched) == 4 and not kernels.waiting
    kernels.shutdown()


def test_a_restart_gets_a_new_kernel_and_a_claimed_folder_is_never_started_ahead():
    kernels = pool(ahead=1)
    first, _ = kernels.start_new_kernel(5, "grading", None, FOLDERS[1])
    kernels.start_ahead(FOLDERS[0])   # b is claimed: not started again
    assert FakeManager.launched == [FOLDERS[1]]
    again, _ = kernels.start_new_kernel(5, "grading", None, FOLDERS[1])   # after a fault
    assert again is not first and FakeManager.launched == [FOLDERS[1], FOLDERS[1]]
    kernels.shutdown()


def test_without_ahead_kernels_start_only_on_demand():
    kernels = pool(ahead=0)
    kernels.start_first()
    kernels.start_ahead(FOLDERS[0])
    assert FakeManager.launched == []
    kernels.start_new_kernel(5, "grading", None, FOLDERS[2])
    assert FakeManager.launched == [FOLDERS[2]]
    kernels.shutdown()


def test_stops_do_not_wait_and_shutdown_waits_for_every_kernel():
    kernels = pool(ahead=2)
    kernels.start_first()
    used, _ = kernels.start_new_kernel(5, "grading", None, FOLDERS[0])
    unclaimed = list(kernels.waiting.values())
    began = time.monotonic()
    used.shutdown_kernel(now=True)   # what nbval's teardown calls
    assert time.monotonic() - began < 0.5 and not used.stopped.is_set()
    kernels.shutdown()
    assert used.stopped.is_set() and all(m.stopped.is_set() for m in unclaimed)
    assert not kernels.waiting and not kernels.stopping


def test_nbvals_devnull_is_closed_and_each_kernel_gets_its_own():
    kernels = pool(ahead=0)
    handle = open(__file__)   # stands in for the os.devnull nbval opens per kernel
    manager, _ = kernels.start_new_kernel(5, "grading", handle, FOLDERS[0])
    assert handle.closed and manager.stderr is not handle and manager.stderr.closed
    assert manager.stdout is not None and manager.stdout.closed
    kernels.shutdown()


def test_waiting_for_a_kernel_matches_its_own_reply():
    manager = FakeManager("grading")
    client = manager.client()
    wait_until_ready(manager, client, timeout=5)
    assert client.asked == 1


def test_a_kernel_that_dies_while_starting_is_reported_at_once():
    manager = FakeManager("grading")
    manager.answers, manager.alive = False, False
    began = time.monotonic()
    with pytest.raises(RuntimeError, match="Kernel died before replying"):
        wait_until_ready(manager, manager.client(), timeout=30)
    assert time.monotonic() - began < 2


def test_a_kernel_that_never_answers_times_out():
    manager = FakeManager("grading")
    manager.answers = False
    with pytest.raises(RuntimeError, match="Kernel didn't respond in 1.5 seconds"):
        wait_until_ready(manager, manager.client(), timeout=1.5)


def test_a_kernel_that_does_not_start_is_stopped_and_the_error_raised():
    kernels = pool(ahead=0)
    original = FakeManager.client

    def silent_client(self):
        self.answers = False
        return original(self)

    FakeManager.client = silent_client
    try:
        with pytest.raises(RuntimeError, match="Kernel didn't respond"):
            kernels.start_new_kernel(1, "grading", None, FOLDERS[0])
    finally:
        FakeManager.client = original
    kernels.shutdown()
    (manager,) = FakeManager.instances
    assert manager.stopped.is_set() and FakeManager.launched == [FOLDERS[0]]



@pytest.mark.parametrize(("workers", "notebooks", "expected"), [
    (2, 3, 1), (2, 4, 1), (2, 5, 2), (2, 100, 2), (1, 100, 1), (8, 16, 1), (8, 17, 8)])
def test_small_runs_are_one_process_and_larger_ones_use_xdist(workers, notebooks, expected):
    settings = runner.Settings(Path("subs"), Path("out"), Path("release"), workers=workers)
    assert execute.parallel_workers(settings, notebooks) == expected


@pytest.mark.parametrize("message", ["Kernel didn't respond in 60 seconds",
                                     "Kernel died before replying to kernel_info"])
def test_a_kernel_that_does_not_start_is_the_graders_failure_never_cached(message):
    """The plugin's reason for the pool's errors blames the grader, so the notebook is not
    cached and runs again next time (a student never keeps a zero for it)."""
    from course_utils.grade import records
    from course_utils.grade.command import cache
    from course_utils.grade.contract import Fault
    from course_utils.grade.pytest_side import cell_records
    from course_utils.grade.records import CheckResult

    class Item:   # a cell whose run left no outputs (the kernel never started)
        parent, test_outputs = None, []

    with pytest.raises(RuntimeError) as raised:
        raise RuntimeError(message)
    fault, reason = cell_records.fault_of(raised, Item(), state=None)
    assert fault is Fault.GRADER and reason.startswith("kernel failure: ")
    record = records.to_wire(CheckResult("ada", "00_start_here", "lesson00.q1", "fault", 1,
                                         reason=reason, fault=fault))
    assert not cache.worth_keeping([record], {"lesson00.q1": 1})
