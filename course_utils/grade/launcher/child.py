"""A warm kernel's first moments: from a fork of the warm parent to an isolated ipykernel.

Three processes, as in a cold sandbox (where they are the launcher, bwrap and the kernel):

1. the **child** of the parent closes every descriptor but its two folders, dies with the
   parent, unshares a new user namespace (its IDs mapped to themselves; so the user and
   user-session keyrings are its own, as a cold kernel's are) with new mount, PID, network,
   IPC and UTS namespaces owned by it, joins a new empty session keyring and forks;
2. the **init** (PID 1 of the new PID namespace) builds the kernel's file system: a fresh
   tmpfs root holding the parent's read-only layout (bound recursively, so hidden paths stay
   hidden), a new ``/proc``, ``/dev`` with its own ``/dev/shm``, a private size-capped
   ``/tmp``, and read-write only the notebook's scratch folder and its socket folder (bound
   from the descriptors the grader sent, under their own paths; the connection file
   read-only); it pivots into it, detaches the parent's view, makes the root read-only,
   forbids new user namespaces below its own (its limit set to 0, as bwrap's
   ``--disable-userns``), brings up its own loopback, drops every capability and sets
   ``no_new_privs``; then it
   forks the kernel and reaps until the kernel ends (its exit ends the namespace: nothing
   the kernel started outlives it);
3. the **kernel** starts a new session, is first in line for the OOM killer and runs the
   kernel module with the connection file, in this interpreter (nothing is executed).

Any failure before the kernel runs ends the child with status 70: no student code ever runs
in a half-built sandbox.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback

from course_utils.grade import contract
from course_utils.grade.launcher import isolate

SETUP_FAILED = 70
NEW_ROOT = "/.kernel-root"   # an empty folder of the parent's layout, the new root's mountpoint
HOST_ROOT = "/.host"         # the grader's view of the disk, in the parent's layout only
PRIVATE_DIRS_MODE = 0o755


def become_kernel(fds: list[int], request: dict, plan: dict) -> None:
    """In the parent's fresh fork: every descriptor but ``fds`` (the two folders) is closed
    first, the parent's control socket among them."""
    try:
        scratch_fd, socket_fd = fds
        os.closerange(3, min(fds))
        os.closerange(min(fds) + 1, max(fds))
        os.closerange(max(fds) + 1, 65536)
        init = _enter_namespaces()
        if init == 0:
            _init(scratch_fd, socket_fd, request, plan)
        os.close(scratch_fd)
        os.close(socket_fd)
        os._exit(_wait_for(init))
    except BaseException:  # noqa: BLE001 - anything: this process must not go on
        traceback.print_exc()
        os._exit(SETUP_FAILED)


def trial(report_fd: int) -> None:
    """In a fork of the parent as it starts: a kernel's namespace steps (a user namespace and
    the others, the IDs mapped, a new session keyring; in the new PID namespace a tmpfs, a new
    /proc, user namespaces forbidden, loopback up, capabilities dropped), so that a machine
    that refuses one of them (a kernel setting, an AppArmor or seccomp policy) is found before
    any notebook is given a kernel that would die starting. Exits 0 when all worked; else
    writes what failed to ``report_fd`` and exits ``SETUP_FAILED``."""
    try:
        init = _enter_namespaces()
        if init == 0:
            try:
                _root_with_proc(NEW_ROOT)
                isolate.forbid_user_namespaces(NEW_ROOT + "/proc")
                isolate.loopback_up()
                isolate.drop_capabilities()
            except BaseException as error:  # noqa: BLE001
                os.write(report_fd, str(error).encode()[:500])
                os._exit(SETUP_FAILED)
            os._exit(0)
        os._exit(_wait_for(init))
    except BaseException as error:  # noqa: BLE001
        os.write(report_fd, str(error).encode()[:500])
        os._exit(SETUP_FAILED)


def _enter_namespaces() -> int:
    """A kernel's namespaces, entered by this process (a user namespace that owns the others, its
    IDs mapped to themselves, a new session keyring; dies with its parent), then the fork of
    the namespaces' init: ``os.fork()``'s result. The same steps for a kernel and the trial."""
    isolate.die_with_parent(signal.SIGKILL)
    uid, gid = os.geteuid(), os.getegid()
    isolate.unshare(isolate.CLONE_NEWUSER | isolate.CLONE_NEWNS | isolate.CLONE_NEWPID
                    | isolate.CLONE_NEWNET | isolate.CLONE_NEWIPC | isolate.CLONE_NEWUTS)
    isolate.map_user(uid, gid)
    isolate.new_session_keyring()
    return os.fork()


def _wait_for(pid: int) -> int:
    while True:
        try:
            found, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return SETUP_FAILED
        except InterruptedError:
            continue
        if found == pid:
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code


def _init(scratch_fd: int, socket_fd: int, request: dict, plan: dict) -> None:
    try:
        isolate.die_with_parent(signal.SIGKILL)
        scratch = os.readlink(f"/proc/self/fd/{scratch_fd}")
        socket_dir = os.readlink(f"/proc/self/fd/{socket_fd}")
        connection_file = os.path.join(socket_dir, os.path.basename(request["connection_file"]))
        build_root(scratch_fd, scratch, socket_fd, socket_dir, connection_file, request, plan)
        os.close(scratch_fd)
        os.close(socket_fd)
        isolate.forbid_user_namespaces()   # in its own /proc, for its own user namespace
        isolate.loopback_up()
        isolate.drop_capabilities()
        kernel = os.fork()
        if kernel == 0:
            _kernel(scratch, connection_file, request)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        os._exit(SETUP_FAILED)
    os._exit(_wait_for(kernel))


def _mountpoint(path: str, like: str) -> None:
    """Create ``path`` (in the new root) as a folder, or as an empty file where ``like`` is one."""
    if os.path.isdir(like):
        os.makedirs(path, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.exists(path):
            open(path, "w").close()


def _root_with_proc(new: str) -> None:
    """The first steps of a kernel's root, shared with the trial so that it tries these very
    steps: mounts made private, an empty tmpfs at ``new``, and the new PID namespace's /proc."""
    isolate.mount(None, "/", None, isolate.MS_REC | isolate.MS_PRIVATE)
    isolate.mount("tmpfs", new, "tmpfs", isolate.MS_NOSUID | isolate.MS_NODEV, "mode=0755")
    os.makedirs(new + "/proc")
    isolate.mount("proc", new + "/proc", "proc", isolate.MS_NOSUID | isolate.MS_NODEV | isolate.MS_NOEXEC)


def build_root(scratch_fd, scratch, socket_fd, socket_dir, connection_file, request, plan):
    new = NEW_ROOT
    _root_with_proc(new)
    os.makedirs(new + "/dev")
    isolate.mount("/dev", new + "/dev", None, isolate.MS_BIND | isolate.MS_REC)
    isolate.mount("tmpfs", new + "/dev/shm", "tmpfs", isolate.MS_NOSUID | isolate.MS_NODEV,
                  f"size={plan['shm_mb']}m,mode=1777")
    os.makedirs(new + "/tmp")
    isolate.mount("tmpfs", new + "/tmp", "tmpfs", isolate.MS_NOSUID | isolate.MS_NODEV,
                  f"size={int(request['tmp_mb'])}m,mode=1777")
    for folder in plan["private_dirs"]:
        os.makedirs(new + folder, mode=PRIVATE_DIRS_MODE, exist_ok=True)
    for name, data in plan["fonts"].items():
        with open(os.path.join(new + plan["font_folder"], name), "wb") as handle:
            handle.write(data)
    # after /tmp, as bwrap does: a read-only folder under /tmp (a PYTHONPATH entry) stays
    read_only = [new + "/dev"]
    for target, path in plan["symlinks"]:
        os.makedirs(os.path.dirname(new + path), exist_ok=True)
        os.symlink(target, new + path)
    for path in plan["binds"]:
        _mountpoint(new + path, path)
        isolate.mount(path, new + path, None, isolate.MS_BIND | isolate.MS_REC)
        read_only.append(new + path)
    for fd, path in ((scratch_fd, scratch), (socket_fd, socket_dir)):
        source = HOST_ROOT + path
        found, sent = os.stat(source), os.fstat(fd)
        if (found.st_dev, found.st_ino) != (sent.st_dev, sent.st_ino):
            raise OSError(f"{path} is no longer the folder the grader sent")
        os.makedirs(new + path, exist_ok=True)
        isolate.mount(source, new + path, None, isolate.MS_BIND)
    isolate.mount(HOST_ROOT + connection_file, new + connection_file, None, isolate.MS_BIND)
    read_only.append(new + connection_file)
    for path in read_only:
        isolate.remount_read_only(path)
    os.chdir(new)
    os.mkdir(".old")
    isolate.pivot_root(".", ".old")
    os.chdir("/")
    isolate.umount("/.old")
    os.rmdir("/.old")
    isolate.remount_read_only("/")


def _kernel(scratch: str, connection_file: str, request: dict) -> None:
    try:
        os.setsid()
        try:
            with open("/proc/self/oom_score_adj", "w") as handle:
                handle.write("1000")
        except OSError:
            pass
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.environ[contract.SCRATCH] = scratch
        _fresh_randomness()
        sys.argv = [request["kernel_module"], "-f", connection_file]
        import importlib
        import runpy

        module = importlib.import_module(request["kernel_module"])
        if callable(getattr(module, "main", None)):   # the course's kernel: imported warm
            module.main(sys.argv[1:])
        else:   # a module that runs as a script (ipykernel_launcher): in the notebook's folder
            os.chdir(scratch)
            runpy.run_module(request["kernel_module"], run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        code = stop.code
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else (0 if code is None else 1))
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _fresh_randomness() -> None:
    """A cold kernel seeds numpy's global generator from the system; a fork would inherit the
    parent's state (Python's ``random`` reseeds itself after a fork)."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
