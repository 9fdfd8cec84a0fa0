"""The kernel manager of grading kernels: ipc transport, one private socket folder per kernel.

A sandboxed kernel has its own network namespace, so a TCP port it opens is out of the
client's reach; Unix sockets in a folder bound into the sandbox are not. Each manager makes
a fresh folder for its connection file and sockets, so two kernels never share socket files
and one kernel never sees another's, and removes it when the kernel is shut down or the
manager is collected.

``nbval.kernel.KernelManager = SandboxKernelManager`` makes nbval start its kernels with it.

A kernelspec marked warm (``sandbox.kernelspec(warm=True)``) gets a ``WarmProvisioner``: its
"launch" asks this process's warm parent (``launcher.warm``) for a forked kernel with the
same options the cold launcher would have been given, and its signals and exit travel
through the parent. Where the parent cannot start, the same provisioner starts the cold
launcher instead, and the log says so once.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import shutil
import tempfile
import uuid
import weakref
from pathlib import Path

from jupyter_client.manager import KernelManager
from jupyter_client.provisioning import LocalProvisioner
from jupyter_core.utils import run_sync

from course_utils.grade import contract
from course_utils.grade.launcher import sandbox, warm

SOCKET_BASE_VARIABLE = contract.SOCKET_BASE
SOCKET_PATH_MAX = 107  # sun_path holds 108 bytes, the last one a NUL
_default_base: list[str] = []


def socket_base() -> str:
    """``$COURSE_GRADING_SOCKET_BASE``, else a private folder of this process (short, so the
    socket paths stay under the Unix limit), removed when the process ends."""
    if os.environ.get(SOCKET_BASE_VARIABLE):
        return os.environ[SOCKET_BASE_VARIABLE]
    if not _default_base:
        _default_base.append(tempfile.mkdtemp(prefix="course-grading-sockets-"))
        atexit.register(shutil.rmtree, _default_base[0], True)
    return _default_base[0]


class SandboxKernelManager(KernelManager):
    """A KernelManager whose kernel talks over Unix sockets in a folder of its own."""

    def __init__(self, **kwargs):
        base = Path(socket_base())
        base.mkdir(parents=True, exist_ok=True)
        # the real path: the launcher binds this folder into the sandbox under the same name
        socket_dir = Path(tempfile.mkdtemp(prefix="k", dir=base)).resolve()
        kernel_id = kwargs.pop("kernel_id", None) or str(uuid.uuid4())
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("connection_file", str(socket_dir / f"kernel-{kernel_id}.json"))
        kwargs.setdefault("ip", str(socket_dir / "s"))
        super().__init__(kernel_id=kernel_id, **kwargs)
        self.socket_dir = socket_dir
        self._remove_socket_dir = weakref.finalize(self, shutil.rmtree, str(socket_dir), True)
        longest = len(self.ip) + len("-65535")
        if self.transport == "ipc" and longest > SOCKET_PATH_MAX:
            self._remove_socket_dir()
            raise ValueError(f"socket paths in {socket_dir} would be {longest} characters, over "
                             f"the Unix limit of {SOCKET_PATH_MAX}: set {SOCKET_BASE_VARIABLE} "
                             "to a shorter folder")

    async def _async_pre_start_kernel(self, **kw):
        if self.provisioner is None and self.kernel_spec.metadata.get(sandbox.WARM_KEY, {}).get("warm"):
            self.provisioner = WarmProvisioner(kernel_id=self.kernel_id,
                                               kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)

    async def _async_kill_kernel(self, restart: bool = False) -> None:
        """SIGTERM to the launcher alone first: it then kills everything below it (in
        --no-sandbox mode the only way to reach what the kernel started in a session of its
        own), and exits; jupyter_client's SIGKILL to its process group follows."""
        process = getattr(self.provisioner, "process", None)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            for _ in range(200):
                if process.poll() is not None:
                    break
                await asyncio.sleep(0.01)
        await super()._async_kill_kernel(restart=restart)

    _kill_kernel = run_sync(_async_kill_kernel)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self._remove_socket_dir()

    cleanup_resources = run_sync(_async_cleanup_resources)


def _launcher_arguments(argv: list[str]):
    """The cold launcher's options in a grading kernel's command line (its kernelspec argv)."""
    launcher = "course_utils.grade.launcher.sandbox"
    return sandbox.arguments(argv[argv.index(launcher) + 1:])


def _parent_for(args) -> warm.WarmParent:
    """This process's warm parent for kernels of these launcher options, once it is ready: its
    layout hides and shows what theirs would (``sandbox.hidden``, ``sandbox.shown``)."""
    return warm.parent_for(sandbox.hidden(args), args.tmp_mb, show=sandbox.shown(args))


def start_warm_parent(spec: dict) -> None:
    """Start the warm parent that the kernels of this kernelspec will be forked from, without
    waiting for it, before this process imports torch, so the two ``import torch`` overlap.
    Called after ``judge.announce``: the solutions it names and the variables it sets are part
    of the parent's identity, and a parent started before would be closed unused when the
    first kernel asks for one with them (``warm.parent_for``)."""
    if spec.get("metadata", {}).get(sandbox.WARM_KEY, {}).get("warm"):
        args = _launcher_arguments(spec["argv"])
        warm.start_early(sandbox.hidden(args), args.tmp_mb, sandbox.shown(args))


def warm_parent(spec: dict) -> warm.WarmParent:
    """The warm parent the kernels of this kernelspec are forked from, once it is ready;
    ``warm.Unavailable`` where it cannot start here."""
    return _parent_for(_launcher_arguments(spec["argv"]))


class WarmProvisioner(LocalProvisioner):
    """Launches a kernel as a fork of the warm parent; a cold launcher where that fails."""

    warm = False

    async def launch_kernel(self, cmd: list[str], **kwargs):
        args = _launcher_arguments(cmd)
        cwd = kwargs.get("cwd") or os.getcwd()
        try:
            parent = _parent_for(args)
            self.process = parent.start_kernel(
                self.kernel_id, os.path.abspath(args.connection_file), os.path.realpath(cwd),
                args.memory_mb, args.tmp_mb, args.kernel_module,
                sandbox.oom_marker(args.marker_dir, args.connection_file))
        except (warm.Unavailable, OSError) as error:
            warm.say_once(str(error))
            return await super().launch_kernel(cmd, **kwargs)
        self.warm = True
        self.pid = self.pgid = None
        self.cwd = cwd
        return self.connection_info
