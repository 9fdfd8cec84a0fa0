"""Kernels started ahead of the notebooks that will use them.

Starting a grading kernel costs about two seconds of CPU, most of it importing torch, while a
typical exercise notebook then runs in a fraction of a second. A pytest process that grades
its notebooks one after another would leave the other cores idle during every start. With a
pool, the process starts the kernels of its next notebooks while the current one runs, so the
starts overlap each other and the notebooks.

Each kernel is started for one notebook's folder (its sandbox binds that folder alone) and is
used by that notebook alone; no student code reaches it before its notebook runs, so it is the
kernel an on-demand start would have given. Kernels never claimed (the run was interrupted)
are shut down by ``shutdown``. A kernel restarted after a fault is started on demand.

Stopping a kernel takes a tenth of a second that nbval would wait out before the next notebook;
the pool's kernels stop in a thread each instead, and ``shutdown`` waits for all of them.
"""

from __future__ import annotations

import os
import threading
import time
from queue import Empty


class KernelPool:
    """Kernels for the next ``ahead`` notebooks of ``plan``, started before they are needed."""

    def __init__(self, manager_class, kernel_name: str, ahead: int):
        self.manager_class = manager_class
        self.kernel_name = kernel_name
        self.ahead = ahead
        self.order: list[str] = []          # notebook folders, in the order they will run
        self.waiting: dict[str, object] = {}  # folder -> kernel manager started ahead
        self.claimed: set[str] = set()
        self.stopping: list[threading.Thread] = []

    def plan(self, folders) -> None:
        self.order = list(dict.fromkeys(str(f) for f in folders))

    def start_first(self) -> None:
        """Start the kernels of the first notebooks (the first one's and ``ahead`` more)."""
        self._start(self.order[:1 + self.ahead] if self.ahead > 0 else [])

    def start_ahead(self, folder) -> None:
        """Start the kernels of the ``ahead`` notebooks that follow ``folder``'s."""
        folder = str(folder)
        if self.ahead < 1 or folder not in self.order:
            return
        index = self.order.index(folder)
        self._start(self.order[index + 1:index + 1 + self.ahead])

    def _start(self, folders) -> None:
        for following in folders:
            if following not in self.waiting and following not in self.claimed:
                self.waiting[following] = self._launch(following)

    def _launch(self, folder: str):
        manager = self.manager_class(kernel_name=self.kernel_name)
        # the kernel's own output travels as messages; what a cell writes to the file
        # descriptors themselves (and ipykernel's banner) must not fill the grader's log
        with open(os.devnull, "w") as devnull:   # the child keeps its own copy
            manager.start_kernel(stdout=devnull, stderr=devnull, cwd=folder)
        stop_now = manager.shutdown_kernel

        def shutdown_kernel(now=False, restart=False):
            if restart:
                return stop_now(now=now, restart=restart)
            thread = threading.Thread(target=stop_now, kwargs={"now": now},
                                      name="kernel-stop", daemon=True)
            thread.start()
            self.stopping.append(thread)
            return None

        manager.shutdown_kernel = shutdown_kernel
        return manager

    def start_new_kernel(self, startup_timeout=60, kernel_name=None, stderr=None, cwd=None,
                         **_ignored):
        """nbval's ``start_new_kernel`` (always the pool's kernel name): the kernel started
        ahead for ``cwd``, else a new one; returns the manager and a client it answered."""
        if stderr is not None and hasattr(stderr, "close"):
            stderr.close()   # nbval opens /dev/null for every kernel and never closes it
        folder = str(cwd)
        manager = self.waiting.pop(folder, None) or self._launch(folder)
        self.claimed.add(folder)
        client = manager.client()
        client.start_channels()
        try:
            wait_until_ready(manager, client, startup_timeout)
        except RuntimeError:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
            raise
        return manager, client

    def shutdown(self) -> None:
        """Stop every kernel started ahead and never claimed; wait until all have stopped."""
        while self.waiting:
            _folder, manager = self.waiting.popitem()
            try:
                manager.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001 - a kernel that already died
                pass
        while self.stopping:
            self.stopping.pop().join()


IOPUB_WAIT = 0.1   # seconds to wait for a kernel_info's idle on IOPub before asking again


def wait_until_ready(manager, client, timeout: float) -> None:
    """Ask ``kernel_info`` until the kernel answers on its shell channel and its IOPub
    messages reach this client (the reply's ``idle`` status arrives).

    jupyter_client's ``wait_for_ready`` then also drains IOPub for 0.2 s, a fifth of a second
    per notebook. nbval makes sure IOPub is up itself, right after, but waits a whole second
    for a status it missed: a kernel that had just started when it was claimed (its IOPub
    socket bound after this client subscribed) then cost 1.2 s. Here a missed status costs
    ``IOPUB_WAIT`` and one more question, and nbval's check passes at once. The errors say
    "Kernel" as jupyter_client's do: the plugin reports them as a kernel failure, which is
    never cached and never mistaken for the student's fault."""
    deadline = time.monotonic() + timeout
    while True:
        asked = client.kernel_info()
        answered = False
        while not answered:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")
            try:
                reply = client.get_shell_msg(timeout=min(1.0, left))
            except Empty:
                if not manager.is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info") from None
                break   # ask again
            answered = reply.get("parent_header", {}).get("msg_id") == asked
        if answered and _idle_seen(client, asked, min(IOPUB_WAIT, max(0.0, deadline - time.monotonic()))):
            return


def _idle_seen(client, asked: str, wait: float) -> bool:
    """Whether IOPub brings the ``idle`` status of request ``asked`` within ``wait`` seconds."""
    until = time.monotonic() + wait
    while (left := until - time.monotonic()) > 0:
        try:
            message = client.get_iopub_msg(timeout=left)
        except Empty:
            return False
        if (message.get("parent_header", {}).get("msg_id") == asked
                and message.get("msg_type") == "status"
                and message.get("content", {}).get("execution_state") == "idle"):
            return True
    return False
