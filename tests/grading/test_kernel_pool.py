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

from course_utils.grade import contract
from course_utils.grade.command import execute, prepare, runner
from course_utils.grade.pytest_side import kernel_pool
from course_utils.grade.pytest_side.kernel_pool import KernelPool, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]
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
        self.iopub_misses = 0   # statuses published before this client's IOPub subscription
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
        self.published = Queue()
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
            if self.manager.iopub_misses:
                self.manager.iopub_misses -= 1
            else:
                self.published.put({"parent_header": {"msg_id": msg_id}, "msg_type": "status",
                                    "content": {"execution_state": "busy"}})
                self.published.put({"parent_header": {"msg_id": msg_id}, "msg_type": "status",
                                    "content": {"execution_state": "idle"}})
        return msg_id

    def get_shell_msg(self, timeout=None):
        return self.replies.get(timeout=timeout)

    def get_iopub_msg(self, timeout=None):
        return self.published.get(timeout=timeout)


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


def test_a_kernel_is_ready_once_its_iopub_messages_arrive_and_a_missed_one_costs_little():
    """A kernel that had just started when it was claimed published the first statuses before
    the client's IOPub subscription reached it: asked again after IOPUB_WAIT, not after the
    whole second nbval waits (and nbval's own check then passes at once)."""
    manager = FakeManager("grading")
    manager.iopub_misses = 3
    client = manager.client()
    began = time.monotonic()
    wait_until_ready(manager, client, timeout=5)
    assert client.asked == 4
    assert time.monotonic() - began < 3 * kernel_pool.IOPUB_WAIT + 0.5
    assert client.published.empty() or client.published.get()["content"]["execution_state"] != "idle"


def test_a_kernel_whose_iopub_never_arrives_times_out():
    manager = FakeManager("grading")
    manager.iopub_misses = 10 ** 6
    with pytest.raises(RuntimeError, match="Kernel didn't respond in 1 seconds"):
        wait_until_ready(manager, manager.client(), timeout=1)


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



LIGHT, HEAVY = contract.LIGHT_KERNEL_SECONDS, 10.0


@pytest.mark.parametrize(("parallel", "workers", "notebooks", "seconds", "expected"), [
    # auto: light notebooks in one process however many; heavy ones side by side
    ("auto", 2, 100, LIGHT, 1), ("auto", 8, 17, LIGHT, 1), ("auto", 2, 8, HEAVY, 2),
    ("auto", 2, 2, HEAVY, 2), ("auto", 8, 3, HEAVY, 3), ("auto", 2, 1, HEAVY, 1),
    ("auto", 1, 100, HEAVY, 1), ("auto", 2, 8, contract.SIDE_BY_SIDE_FROM_S - 0.1, 1),
    # what the instructor asked for, never more workers than notebooks
    ("side-by-side", 2, 100, LIGHT, 2), ("side-by-side", 4, 3, LIGHT, 3),
    ("side-by-side", 1, 100, LIGHT, 1), ("one-process", 2, 100, HEAVY, 1)])
def test_notebooks_run_side_by_side_only_where_they_compute_for_seconds(parallel, workers,
                                                                         notebooks, seconds, expected):
    settings = runner.Settings(Path("subs"), Path("out"), Path("release"), workers=workers,
                               parallel=contract.Parallel(parallel))
    assert execute.parallel_workers(settings, notebooks, seconds) == expected


def test_the_lessons_declare_their_kernel_seconds_and_a_run_takes_the_mean(tmp_path):
    """Lesson 08 trains (KERNEL_SECONDS = 10); lesson 01 declares nothing (LIGHT)."""
    releases = prepare.load_release(ROOT / "exercises")

    def run_of(*lessons):
        return runner.Prepared(notebooks=[(tmp_path / str(i), None, releases[lesson])
                                          for i, lesson in enumerate(lessons)])

    assert execute.kernel_seconds(run_of("08", "08")) == 10
    assert execute.kernel_seconds(run_of("01", "01", "01")) == LIGHT
    assert execute.kernel_seconds(run_of("08", "01")) == (10 + LIGHT) / 2
    assert execute.kernel_seconds(run_of()) == 0


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
