"""The grader's side of warm kernels: start the warm parent, ask it for kernels, follow them.

One warm parent per grading process (and per set of hidden paths): started on the first warm
kernel or earlier (``start_early``, so that its imports overlap the grader's), inside bubblewrap with the kernels' read-only layout (``parent_command``), ended when
the process ends (its control socket closes: the parent kills its kernels and exits). A
kernel is asked for with the notebook's scratch folder and socket folder as open descriptors;
the answer is a ``WarmProcess``, which behaves like the ``Popen`` of a cold launcher (poll,
wait, send_signal, kill), the parent relaying signals and reporting the exit. Over the memory
cap the parent says so before it kills, and the marker the grader reads is written here, as
the cold launcher writes it.

Where the parent cannot start or refuses to fork (not single-threaded), ``Unavailable`` is
raised and the caller starts a cold kernel instead (``say_once`` tells the log once).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from course_utils.grade.launcher import memory_watch
from course_utils.grade.launcher.sandbox_layout import (PRIVATE_DIRS, SHM_MB,
                                                        environment_options, layout_options,
                                                        matplotlib_font_cache,
                                                        sandbox_environment)

READY_SECONDS = 120.0
MESSAGE_BYTES = 65536
NEW_ROOT = "/.kernel-root"   # child.NEW_ROOT (child.py imports heavier modules than this one)
HOST_PROC = "/.host-proc"
HOST_ROOT = "/.host"        # child.HOST_ROOT


class Unavailable(RuntimeError):
    """Warm kernels cannot be started here: the message says why."""


def plan_of(options: list[str]) -> dict:
    """What a warm child rebuilds from the parent's layout: the read-only binds (those inside
    an earlier one come along with it, hidden paths included) and the symlinks."""
    binds, symlinks = [], []
    for index, option in enumerate(options):
        if option == "--ro-bind":
            target = options[index + 2]
            if not any(target == b or target.startswith(b.rstrip("/") + "/") for b in binds):
                binds.append(target)
        elif option == "--symlink":
            symlinks.append([options[index + 1], options[index + 2]])
    return {"binds": binds, "symlinks": symlinks, "shm_mb": SHM_MB,
            "private_dirs": sorted(set(PRIVATE_DIRS.values())),
            "font_folder": PRIVATE_DIRS["MPLCONFIGDIR"]}


def parent_command(hide, tmp_mb: int, font_fds: dict, show=()) -> tuple[list[str], dict]:
    """bwrap's options for the parent (the kernels' layout; capabilities kept inside its own
    user namespace, which it needs to build each child's namespaces) and the child's plan."""
    options = layout_options(hide, tmp_mb, font_fds, show)
    drop = options.index("--cap-drop")
    options[drop:drop + 2] = ["--cap-add", "ALL"]
    # each kernel makes a user namespace of its own (its keyrings are then its own, as a cold
    # kernel's), and forbids any below it itself (child.py): the parent must be able to
    options.remove("--disable-userns")
    # A new /proc (each kernel's own PID namespace) may be mounted only where a proc mount
    # without locked covers is already visible; bwrap's /proc has covers (/proc/sys...) that a
    # child's new mount namespace inherits locked, so the parent keeps the host's. And a
    # folder can be bound only from a mount of one's own namespace, so the parent keeps the
    # grader's view of the disk, from which each child binds its own two folders. Both lie
    # where no kernel looks: a kernel's root is built afresh and holds neither.
    options += ["--dir", NEW_ROOT, "--bind", "/", HOST_ROOT, "--bind", "/proc", HOST_PROC]
    options += environment_options(sandbox_environment())
    return options, plan_of(options)


def _pipe_holding(data: bytes) -> int:
    if len(data) > 60000:
        raise Unavailable(f"{len(data)} bytes of sandbox options do not fit in a pipe")
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    return read_end


class WarmProcess:
    """A warm kernel as its manager sees it: the ``Popen`` methods jupyter_client calls."""

    stdin = stdout = stderr = None

    def __init__(self, parent: "WarmParent", kernel_id: str, marker: Path):
        self.parent = parent
        self.kernel_id = kernel_id
        self.marker = marker
        self.returncode: int | None = None
        self.ended = threading.Event()
        self.parent_pid: int | None = None   # the child's PID in the parent's namespace

    @property
    def pid(self) -> int | None:
        """The forked child's PID as this process sees it (the cold launcher's counterpart):
        SIGKILL to it ends the kernel's namespace. None once it has ended."""
        if self.returncode is not None or self.parent_pid is None:
            return None
        for pid in memory_watch.descendants(self.parent.process.pid):
            try:
                with open(f"/proc/{pid}/status") as handle:
                    line = next(l for l in handle if l.startswith("NSpid:"))
            except (OSError, StopIteration):
                continue
            levels = line.split()[1:]
            if len(levels) >= 2 and int(levels[-1]) == self.parent_pid and len(levels) == self.parent.depth:
                return pid
        return None

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self.ended.wait(timeout):
            raise subprocess.TimeoutExpired("warm kernel", timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            self.parent.send(op="signal", id=self.kernel_id, signum=int(signum))

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def _ended(self, code: int) -> None:
        self.returncode = code
        self.ended.set()


class WarmParent:
    """One warm parent process and the kernels it started for this process."""

    def __init__(self, hide=(), tmp_mb: int = 256, log: str | None = None, wait: bool = True,
                 show=()):
        self.lock = threading.Lock()
        self.starting = threading.Lock()
        self.ready: dict = {}
        self.kernels_started = 0
        self.kernels: dict[str, WarmProcess] = {}
        self.answers: dict[str, dict] = {}
        self.answered = threading.Condition(self.lock)
        self.closed = ""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fonts = {os.open(path, os.O_RDONLY): path.name for path in matplotlib_font_cache()}
        options, plan = parent_command(list(hide), tmp_mb, fonts, list(show))
        options_fd = _pipe_holding(b"".join(os.fsencode(a) + b"\0" for a in options))
        plan_fd = _pipe_holding(json.dumps(plan).encode())
        theirs_fd = theirs.fileno()
        passed = [theirs_fd, options_fd, plan_fd, *fonts]
        command = ["bwrap", "--args", str(options_fd), "--", sys.executable, "-m",
                   "course_utils.grade.launcher.fork_server", "--control-fd",
                   str(theirs.fileno()), "--plan-fd", str(plan_fd)]
        err = open(log, "ab") if log else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(command, pass_fds=passed, cwd="/",
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=err, preexec_fn=memory_watch.die_with_parent)
        except OSError as error:
            raise Unavailable(f"the warm parent could not be started: {error}") from error
        finally:
            for fd in (options_fd, plan_fd, *fonts):
                os.close(fd)
            theirs.close()
            if log:
                err.close()
        self.control = ours
        self.control_fd = theirs_fd   # its number in the parent
        self.reader = threading.Thread(target=self._read, name="warm-parent", daemon=True)
        self.reader.start()
        if wait:
            self.wait_ready()

    def wait_ready(self) -> dict:
        """Wait until the parent has imported what kernels import and may fork (``wait=False``
        returns as soon as it was started, so its imports overlap the caller's own)."""
        with self.starting:
            if not self.ready:
                ready = self._answer("", READY_SECONDS)
                if ready.get("event") != "ready":
                    self.close()
                    raise Unavailable(ready.get("reason") or "the warm parent did not start")
                self.ready = ready
        return self.ready

    def send(self, **message) -> None:
        try:
            self.control.send(json.dumps(message).encode())
        except OSError:
            pass   # the parent is gone; the reader marks every kernel ended

    def start_kernel(self, kernel_id: str, connection_file: str, scratch: str,
                     memory_mb: float, tmp_mb: int, kernel_module: str, marker: Path) -> WarmProcess:
        self.wait_ready()
        self.kernels_started += 1
        process = WarmProcess(self, kernel_id, marker)
        with self.lock:
            if self.closed:
                raise Unavailable(self.closed)
            self.kernels[kernel_id] = process
        folders = [os.open(scratch, os.O_PATH | os.O_DIRECTORY),
                   os.open(os.path.dirname(connection_file), os.O_PATH | os.O_DIRECTORY)]
        try:
            request = {"op": "start", "id": kernel_id, "memory_mb": memory_mb, "tmp_mb": tmp_mb,
                       "kernel_module": kernel_module,
                       "connection_file": os.path.basename(connection_file)}
            socket.send_fds(self.control, [json.dumps(request).encode()], folders)
        finally:
            for fd in folders:
                os.close(fd)
        answer = self._answer(kernel_id, READY_SECONDS)
        if answer.get("event") != "started":
            with self.lock:
                self.kernels.pop(kernel_id, None)
            raise Unavailable(answer.get("reason") or "the warm parent did not start the kernel")
        process.parent_pid = int(answer["pid"])
        return process

    @property
    def depth(self) -> int:
        """How many PID namespaces deep the parent's children are, seen from here."""
        with open(f"/proc/{os.getpid()}/status") as handle:
            mine = len(next(l for l in handle if l.startswith("NSpid:")).split()) - 1
        return mine + 1

    def _answer(self, kernel_id: str, timeout: float) -> dict:
        with self.answered:
            self.answered.wait_for(lambda: kernel_id in self.answers or self.closed, timeout)
            return self.answers.pop(kernel_id, {"reason": self.closed or "no answer"})

    def _read(self) -> None:
        while True:
            try:
                data = self.control.recv(MESSAGE_BYTES)
            except OSError:
                data = b""
            if not data:
                break
            event = json.loads(data)
            kind, kernel_id = event.get("event"), event.get("id", "")
            if kind == "oom":
                self._write_marker(kernel_id, event.get("peak_mb", 0))
            elif kind == "exit":
                with self.lock:
                    process = self.kernels.pop(kernel_id, None)
                if process is not None:
                    process._ended(int(event["code"]))
            else:   # ready, started, refused: someone waits for it
                with self.answered:
                    self.answers[kernel_id] = event
                    self.answered.notify_all()
        with self.answered:
            self.closed = "the warm parent ended"
            ended, self.kernels = list(self.kernels.values()), {}
            self.answered.notify_all()
        for process in ended:
            process._ended(128 + signal.SIGKILL)

    def _write_marker(self, kernel_id: str, peak_mb: int) -> None:
        with self.lock:
            process = self.kernels.get(kernel_id)
        if process is None:
            return
        try:
            process.marker.parent.mkdir(parents=True, exist_ok=True)
            process.marker.write_text(f"{peak_mb}\n")
        except OSError:
            pass

    def close(self) -> None:
        """Close the control socket: the parent kills its kernels and exits."""
        try:
            self.control.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.control.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_parents: dict[tuple, WarmParent] = {}
_refused: list[str] = []
_parents_lock = threading.Lock()


def parent_for(hide, tmp_mb: int, wait: bool = True, show=()) -> WarmParent:
    """This process's warm parent for these hidden paths (started on first use); with
    ``wait``, once it is ready to fork. A parent that cannot start or get ready is refused
    for the rest of the process: every later kernel starts cold at once."""
    # the layout and the kernels' environment are the parent's own: a change starts another
    key = (tuple(sorted(str(h) for h in hide)), tmp_mb, tuple(sorted(sandbox_environment().items())),
           os.environ.get("MPLCONFIGDIR"), os.environ.get("XDG_CACHE_HOME"),
           tuple(sorted(str(s) for s in show)))
    with _parents_lock:
        if _refused:
            raise Unavailable(_refused[0])
        parent = _parents.get(key)
        if wait:   # a parent started early for other hidden paths would never be used
            for other in [k for k, p in _parents.items() if k != key and not p.kernels_started]:
                _parents.pop(other).close()
        if parent is None or parent.closed:
            try:
                parent = WarmParent(key[0], tmp_mb, os.environ.get("COURSE_GRADING_WARM_LOG"),
                                    wait=False, show=key[-1])
            except Unavailable as error:
                _refused.append(str(error))
                raise
            _parents[key] = parent
    if wait:
        try:
            parent.wait_ready()
        except Unavailable as error:
            with _parents_lock:
                _refused.append(str(error))
            raise
    return parent


def start_early(hide, tmp_mb: int, show=()) -> None:
    """Start this process's warm parent now and return at once: its ``import torch`` then
    runs beside the grading process's own (about 1.5 s of processor time each, on two
    cores at once instead of one after the other). A failure is kept for ``parent_for``.
    Started for hidden paths that turn out not to be the kernels' own, it is closed unused:
    a kernel only ever comes from a parent whose layout hides exactly what it must."""
    try:
        parent_for(hide, tmp_mb, wait=False, show=show)
    except Unavailable:
        pass


def close_all() -> None:
    with _parents_lock:
        while _parents:
            _parents.popitem()[1].close()


_said: list[str] = []


def say_once(reason: str) -> None:
    """Tell the log, once per process, that kernels start cold and why."""
    if not _said:
        _said.append(reason)
        print(f"course grading: warm kernels unavailable ({reason}); starting each kernel cold",
              file=sys.stderr, flush=True)
