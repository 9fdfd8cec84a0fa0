"""Cap the resident memory of a process tree from outside it, and end the tree for good.

An address-space limit (``RLIMIT_AS``) caps what a process *reserves*: a CUDA build of torch
reserves about 3 GB at import and never touches most of it, so a cap that lets students use
2 GB stops ``import torch``. What matters for the machine is what is *resident*, so the
sandbox launcher samples the resident size of every process below it (the kernel and all it
started, a process in a new session included) about ten times a second and kills the whole
tree once the sum passes the cap. Shared pages (the torch libraries mapped by a kernel and a
child it forked) count once per process, so the sum errs on the side of stopping.

The launcher is a child subreaper (``PR_SET_CHILD_SUBREAPER``): a process whose parent dies
is re-parented to the launcher instead of to init, so nothing started below the launcher can
leave the tree by double-forking, and ``kill_tree`` can find and end all of it.
"""

from __future__ import annotations

import ctypes
import math
import os
import signal
import time
from pathlib import Path

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
MB = 2**20
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
POLL_SECONDS = 0.1


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def become_subreaper() -> None:
    """Orphans below this process are re-parented to it (and stay in its tree)."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent() -> None:
    """For ``preexec_fn``: the child gets SIGKILL when the process that started it dies."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (threads included: each lists the children it forked)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, parents before their children."""
    found, queue = [], [pid]
    while queue:
        below = children(queue.pop(0))
        found.extend(below)
        queue.extend(below)
    return found


def resident_bytes(pid: int) -> int:
    """Resident set size of one process; 0 once it has ended."""
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] in "ZX"
    except (OSError, IndexError):
        return True


def command_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip()
    except OSError:
        return ""


class MemoryWatch:
    """The resident size of everything below ``root``, sampled on demand, and its peak."""

    def __init__(self, root: int, limit_mb: float):
        self.root = root
        self.limit = limit_mb * MB
        self.peak = 0

    def sample(self) -> int:
        total = sum(resident_bytes(pid) for pid in descendants(self.root))
        self.peak = max(self.peak, total)
        return total

    def over_limit(self) -> bool:
        return self.limit > 0 and self.sample() > self.limit

    @property
    def peak_mb(self) -> int:
        """Rounded up: a peak just over a 400 MB cap reads 401, never 400."""
        return math.ceil(self.peak / MB)


def reap(wanted: int) -> int | None:
    """Collect every ended child (orphans adopted as subreaper included) without blocking;
    return the wait status of ``wanted`` if it was among them."""
    status = None
    while True:
        try:
            pid, raw = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status
        if pid == 0:
            return status
        if pid == wanted:
            status = raw


def kill_tree(root: int, on_reaped=lambda status: None, child: int | None = None) -> None:
    """SIGKILL every process below ``root`` until none is left.

    Repeats because a process may fork while the others are being killed, and because the
    children of a killed process are re-parented (to ``root``, the subreaper) only once it
    died. ``on_reaped`` receives the wait status of ``child`` if it is collected here.
    """
    for _ in range(200):
        alive = [pid for pid in descendants(root) if not is_zombie(pid)]
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        status = reap(child if child is not None else -2)
        if status is not None:
            on_reaped(status)
        if not alive and not descendants(root):
            return
        time.sleep(0.005)


def supervise(child: int, limit_mb: float, marker: Path, kernel_is_child: bool) -> int:
    """Wait for ``child`` (bwrap, or the kernel itself), sampling the tree's memory; return
    its exit status (128 + N for signal N). Over the limit: write the peak in MB to
    ``marker``, then kill. SIGTERM or SIGHUP: kill and return. SIGINT: pass it on to the
    kernel. Afterwards nothing below this process is left."""
    watch = MemoryWatch(os.getpid(), limit_mb)
    stopped = []
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda number, _frame: stopped.append(number))
    signal.signal(signal.SIGINT, lambda *_: _interrupt(child, kernel_is_child))
    status = None
    while status is None and not stopped:
        if watch.over_limit():
            try:  # before the kill, so the grader never sees the kernel dead without it
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.write_text(f"{watch.peak_mb}\n")
            except OSError:
                pass  # the kill matters more than the note
            break
        status = reap(child)
        if status is None:
            time.sleep(POLL_SECONDS)
    ended = [status]
    kill_tree(os.getpid(), ended.append, child)
    if stopped:
        return 128 + stopped[0]
    if ended[-1] is None:
        return 128 + signal.SIGKILL
    code = os.waitstatus_to_exitcode(ended[-1])
    return code if code >= 0 else 128 - code


def _interrupt(child: int, kernel_is_child: bool) -> None:
    """Pass a SIGINT on to the kernel (in a sandbox: the first process below bwrap's)."""
    targets = [child] if kernel_is_child else [
        pid for pid in descendants(child) if command_name(pid) != "bwrap"][:1]
    for target in targets:
        try:
            os.kill(target, signal.SIGINT)
        except ProcessLookupError:
            pass
