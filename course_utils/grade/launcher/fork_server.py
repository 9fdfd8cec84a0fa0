"""The warm parent: imports what every grading kernel imports once, then forks one kernel per
request. It runs inside its own bubblewrap sandbox (``warm.parent_command``: the kernels'
read-only layout, no network, no scratch folder of anyone) and never runs student code.

    bwrap <layout> -- python -m course_utils.grade.launcher.fork_server --control-fd N --plan-fd M

The grader (``warm.WarmParent``) holds the other end of the control socket (a socketpair:
no path a kernel could connect to). Each ``start`` request carries two open folders (the
notebook's scratch folder and its socket folder, ``SCM_RIGHTS``) and no path: the parent
never learns whose notebook it starts. For each request it forks a child (``child.py``)
that shuts itself into new namespaces and becomes the kernel; the parent watches the
resident memory of each kernel's tree like the cold launcher's watchdog, relays signals and
reports each exit. It forks only while it is a single thread (checked from /proc before
every fork); otherwise it refuses and the grader falls back to cold kernels.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import socket
import sys
import threading
from dataclasses import dataclass

from course_utils.grade.launcher import child, memory_watch

# What a kernel imports before it answers: measured, these leave ~half of a child's start
# (ipykernel's initialize imports its debugger, debugpy, alone ~150 modules)
WARM_MODULES = ("course_utils", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
                "ipykernel.debugger", "ipykernel.comm", "IPython.core.history", "IPython.extensions",
                "debugpy", "sqlite3", "faulthandler", "http.server", "runpy", "comm", "pdb",
                "tornado.platform.asyncio")
MESSAGE_BYTES = 65536
MAX_FDS = 4


def tasks() -> int:
    """Threads of this process as the kernel counts them (native ones included)."""
    return len(os.listdir("/proc/self/task"))


def fork_safety() -> str:
    """Why forking now would be unsafe ("" when it is safe): any second thread (Python's or a
    native pool's: torch's, OpenBLAS's) may hold a lock the child would inherit held."""
    if threading.active_count() != 1:
        return f"{threading.active_count()} Python threads"
    if tasks() != 1:
        return f"{tasks()} threads in /proc/self/task"
    return ""


def warm_up() -> str:
    """Import what a kernel imports, then fork once, a trial of a kernel's namespaces
    (``child.trial``): OpenBLAS (through numpy) starts a thread pool when loaded and shuts it
    down in its fork handler, so after this the parent is one thread and stays so (it never
    computes anything). Returns why kernels cannot be forked here ("" when they can)."""
    from course_utils.grade.kernel_side import kernel

    kernel.preload()
    import importlib

    for name in WARM_MODULES:
        importlib.import_module(name)

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            child.trial(write_end)
        finally:
            os._exit(child.SETUP_FAILED)
    os.close(write_end)
    _pid, status = os.waitpid(pid, 0)
    with os.fdopen(read_end, "rb") as handle:
        said = handle.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        return f"a kernel's namespaces cannot be made here ({said or 'status %d' % status})"
    return ""


@dataclass
class Kernel:
    """One forked kernel, as the parent knows it: its id and its watchdog."""

    id: str
    pid: int                 # the child in this namespace (it waits for the kernel's init)
    watch: memory_watch.MemoryWatch | None = None
    killed: bool = False


class Server:
    def __init__(self, control: socket.socket, plan: dict):
        self.control = control
        self.plan = plan
        self.kernels: dict[int, Kernel] = {}

    def send(self, **message) -> None:
        try:
            self.control.send(json.dumps(message).encode())
        except OSError:
            pass

    def serve(self) -> int:
        while True:
            ready, _, _ = select.select([self.control], [], [], memory_watch.POLL_SECONDS)
            if ready:
                try:
                    data, fds, _flags, _addr = socket.recv_fds(self.control, MESSAGE_BYTES, MAX_FDS)
                except OSError:
                    data, fds = b"", []
                if not data:
                    break        # the grader is gone: so are its kernels
                self.handle(json.loads(data), fds)
            self.watch()
            self.reap()
        for kernel in list(self.kernels.values()):
            self.kill(kernel)
        return 0

    def handle(self, request: dict, fds: list[int]) -> None:
        op = request.get("op")
        if op == "start":
            self.start(request, fds)
            return
        for fd in fds:
            os.close(fd)
        kernel = self.find(request.get("id"))
        if op == "signal" and kernel is not None:
            signum = int(request["signum"])
            if signum == signal.SIGINT:
                self.interrupt(kernel)
            else:
                self.kill(kernel)

    def find(self, kernel_id) -> Kernel | None:
        return next((k for k in self.kernels.values() if k.id == kernel_id), None)

    def start(self, request: dict, fds: list[int]) -> None:
        kernel_id = str(request["id"])
        unsafe = fork_safety()
        if unsafe or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            self.send(event="refused", id=kernel_id,
                      reason=unsafe or f"expected 2 folders, got {len(fds)}")
            return
        pid = os.fork()
        if pid == 0:   # whatever happens, this fork never returns into the server's loop
            try:
                child.become_kernel(fds, request, self.plan)
            finally:
                os._exit(child.SETUP_FAILED)
        for fd in fds:
            os.close(fd)
        limit = float(request.get("memory_mb") or 0)
        self.kernels[pid] = Kernel(kernel_id, pid,
                                   memory_watch.MemoryWatch(pid, limit) if limit > 0 else None)
        self.send(event="started", id=kernel_id, pid=pid)

    def watch(self) -> None:
        for kernel in list(self.kernels.values()):
            if kernel.watch is None or kernel.killed:
                continue
            # the child and the kernel's init are forks of this process that never grow:
            # count what is below them (the kernel and all it starts), as the cold watchdog does
            init = memory_watch.children(kernel.pid)
            if not init:
                continue
            kernel.watch.root = init[0]
            if kernel.watch.over_limit():
                self.send(event="oom", id=kernel.id, peak_mb=kernel.watch.peak_mb)
                self.kill(kernel)

    def interrupt(self, kernel: Kernel) -> None:
        init = memory_watch.children(kernel.pid)
        below = memory_watch.children(init[0]) if init else []
        for pid in below[:1]:
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def kill(self, kernel: Kernel) -> None:
        """SIGKILL the kernel's init (its PID namespace dies with it: the kernel and all it
        started) and the child that waits for it."""
        kernel.killed = True
        for pid in [*memory_watch.descendants(kernel.pid), kernel.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def reap(self) -> None:
        while self.kernels:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            kernel = self.kernels.pop(pid, None)
            if kernel is not None:
                code = os.waitstatus_to_exitcode(status)
                self.send(event="exit", id=kernel.id, code=code if code >= 0 else 128 - code)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.grade.launcher.fork_server")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--plan-fd", type=int, required=True)
    args = parser.parse_args(argv)
    with os.fdopen(args.plan_fd, "rb") as handle:
        plan = json.loads(handle.read())
    plan["fonts"] = {}
    folder = plan.get("font_folder", "")
    for name in sorted(os.listdir(folder)) if folder and os.path.isdir(folder) else []:
        with open(os.path.join(folder, name), "rb") as handle:
            plan["fonts"][name] = handle.read()
    control = socket.socket(fileno=args.control_fd)
    refused = warm_up()
    server = Server(control, plan)
    unsafe = fork_safety()
    if unsafe or refused:
        server.send(event="refused", id="",
                    reason=refused or f"the warm parent is not safe to fork: {unsafe}")
        return 1
    server.send(event="ready", tasks=tasks(), threads=threading.active_count())
    return server.serve()


if __name__ == "__main__":
    code = main()
    # its kernels are killed by now; Python's teardown of torch (0.6 s of processor time)
    # would only compete with the grader's last work
    sys.stderr.flush()
    os._exit(code)
