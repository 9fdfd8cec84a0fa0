"""Every grading kernel in a bubblewrap sandbox, with a cap on the memory it really uses.

``kernelspec()`` gives the kernel.json whose argv is this module's launcher::

    python -m course_utils.grade.launcher.sandbox --memory-mb M --marker-dir D [--hide P]... \\
        [--no-sandbox] CONNECTION_FILE

The launcher runs ``python -m course_utils.grade.kernel_side.kernel -f CONNECTION_FILE`` inside ``bwrap``.
The kernel sees the system, the Python environment and the installed ``course_utils`` package
read-only (a whitelist: not the repo around an editable install, not all of ``/etc``), its
own scratch folder (the launcher's working folder, one notebook) and a private, size-capped
``/tmp`` writable, the folder of its ipc sockets, and nothing else: no network (its own
network namespace), no other process (its own PID namespace), no capability, no user
namespace of its own, a clean environment. Everything in it dies with the launcher.

Outside the sandbox the launcher stays as a watchdog (``memory_watch``): over ``--memory-mb``
of resident memory it kills the tree and writes ``<marker dir>/<kernel id>.oom`` (the peak in
MB), so the grader can say "ran out of memory". The instructor's side of the exercises (the
solutions package, ``course_solutions``, and any module named in ``COURSE_GRADING_SOLUTIONS``)
is hidden even where it lies inside the bound Python environment: a kernel can read all it
sees and find no solution.

``--no-sandbox`` runs the kernel directly (where bubblewrap cannot run) and keeps only the
watchdog. ``SandboxKernelManager`` (``sandbox_manager``) starts these kernels
over the ipc transport, each with its own socket folder. The bwrap command line itself, what
the kernel sees, is built in ``sandbox_layout``.
"""

from __future__ import annotations

import argparse
import functools
import importlib.machinery
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from course_utils.grade import contract
from course_utils.grade.launcher import memory_watch
from course_utils.grade.launcher.sandbox_layout import (CORE_OPTIONS, TMP_MB, bwrap_command,
                                               matplotlib_font_cache, sandbox_environment,
                                               system_binds)

KERNEL_MODULE = "course_utils.grade.kernel_side.kernel"
DISPLAY_NAME = "Course grading (sandbox)"
WARM_KEY = "course_grading"


# ---------------------------------------------------------------- can we sandbox here?

@functools.lru_cache(maxsize=1)
def problem() -> str | None:
    """None when bubblewrap can sandbox a process here, else one line saying what to do."""
    if platform.system() != "Linux":
        return f"not Linux ({platform.system()}): bubblewrap needs Linux namespaces"
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed: apt-get install bubblewrap"
    command = ["bwrap", *CORE_OPTIONS, *system_binds(), "--proc", "/proc", "--dev", "/dev",
               "--size", str(2**20), "--tmpfs", "/tmp", "--remount-ro", "/", "--", "true"]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not be started: {error}"
    if run.returncode == 0:
        return None
    said = (run.stderr.strip().splitlines() or [f"exit status {run.returncode}"])[-1]
    if "Unknown option" in said:
        version = subprocess.run(["bwrap", "--version"], capture_output=True, text=True).stdout
        return (f"{version.strip() or 'bubblewrap'} is too old ({said}); the sandbox needs "
                "bubblewrap 0.8 or later")
    disabled = _userns_disabled()
    if disabled:
        return f"user namespaces are disabled: {disabled} (bwrap said: {said})"
    return (f"bubblewrap cannot create a sandbox here ({said}); in a container, allow user "
            "namespaces (docker run --security-opt seccomp=unconfined) or grade with --no-sandbox")


PROC_SYS = "/proc/sys"
USERNS_SETTINGS = (("user/max_user_namespaces", "0", "10000"),  # setting, forbids, allows
                   ("kernel/unprivileged_userns_clone", "0", "1"),
                   ("kernel/apparmor_restrict_unprivileged_userns", "1", "0"))


def _userns_disabled() -> str:
    """The kernel setting that forbids user namespaces and how to allow them, if one does."""
    for path, forbids, allows in USERNS_SETTINGS:
        try:
            value = Path(PROC_SYS, path).read_text().strip()
        except OSError:
            continue
        if value == forbids:
            setting = path.replace("/", ".")
            return (f"sysctl {setting} is {value}; allow them with sudo sysctl -w "
                    f"{setting}={allows}, or grade with --no-sandbox")
    return ""


def uncompiled(module: str = "torch") -> str | None:
    """The source file of ``module`` when it has no compiled bytecode beside it, else None.

    A sandboxed kernel sees the Python environment read-only, so it cannot write the bytecode
    it compiles: where an installer did not compile (uv without ``--compile-bytecode``, pip
    ``--no-compile``) and nothing imported torch outside a sandbox, or where
    ``PYTHONDONTWRITEBYTECODE`` is set, every kernel compiles torch again (about 1.5 s of
    processor time per notebook). Found without importing the module."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    origin = getattr(spec, "origin", None)
    if not origin or not origin.endswith(".py"):
        return None
    return None if Path(importlib.util.cache_from_source(origin)).exists() else origin


# ---------------------------------------------------------------- the kernel.json

def kernelspec(memory_mb: int, marker_dir, hide=(), sandbox: bool = True,
               kernel_module: str = KERNEL_MODULE, warm: bool = False,
               solutions_visible: bool = False) -> dict:
    """The kernel.json dict for a grading kernel started through this launcher.

    Interrupts travel as messages: the sandboxed kernel is in a session of its own, so a
    SIGINT sent to the launcher's process group could not reach it. The launcher runs outside
    the sandbox with the notebook's folder as its working folder, so Python's isolated mode
    (``-I``) keeps that folder off its ``sys.path``: a ``course_utils/`` a notebook wrote there
    must never run in its place. ``warm`` (sandboxed kernels only) marks the spec for
    ``sandbox_manager``: its kernels are forked from a warm parent (``warm``), with the same
    options, where that is possible.
    """
    argv = [sys.executable, "-I", "-m", "course_utils.grade.launcher.sandbox",
            "--memory-mb", str(memory_mb), "--marker-dir", str(marker_dir)]
    for path in hide:
        argv += ["--hide", str(path)]
    if not sandbox:
        argv.append("--no-sandbox")
    if kernel_module != KERNEL_MODULE:
        argv += ["--kernel-module", kernel_module]
    if solutions_visible:
        argv.append("--solutions-visible")
    argv.append("{connection_file}")
    return {"argv": argv, "language": "python", "interrupt_mode": "message",
            "display_name": DISPLAY_NAME if sandbox else "Course grading (no sandbox)",
            "metadata": {WARM_KEY: {"warm": True}} if warm and sandbox else {}}


def oom_marker(marker_dir, connection_file) -> Path:
    """Where the launcher of the kernel with this connection file reports running out of memory."""
    return Path(marker_dir) / f"{Path(connection_file).stem}.oom"


# ---------------------------------------------------------------- the launcher

def arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m course_utils.grade.launcher.sandbox",
                                     description="Start one grading kernel in a sandbox.")
    parser.add_argument("--memory-mb", type=float, default=2048,
                        help="resident memory of the kernel and all it starts (0: no cap)")
    parser.add_argument("--marker-dir", required=True,
                        help="where <kernel id>.oom is written when the cap was hit")
    parser.add_argument("--hide", action="append", default=[], metavar="PATH",
                        help="a path the kernel must not see, even inside a bound folder")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the kernel directly (memory cap only)")
    parser.add_argument("--kernel-module", default=KERNEL_MODULE)
    parser.add_argument("--solutions-visible", action="store_true",
                        help="hide no solutions (the course's own validation, whose notebooks "
                             "check answers against them; never for grading)")
    parser.add_argument("--tmp-mb", type=int, default=TMP_MB, help="size of the private /tmp")
    parser.add_argument("connection_file")
    return parser.parse_args(argv)


def _pipe_holding(data: bytes) -> int:
    """The read end of a pipe that holds ``data`` and is closed for writing."""
    if len(data) > 60000:  # a pipe holds 64 KiB; more would block this write
        raise SystemExit(f"{len(data)} bytes do not fit in a pipe")
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    return read_end


def hidden(args) -> list[str]:
    """What a kernel of these launcher options must not see: its ``--hide`` paths and, unless
    ``--solutions-visible``, the solutions of the graded exercises."""
    return [*args.hide, *([] if args.solutions_visible else solution_paths())]


def shown(args) -> list[str]:
    """What a kernel of these launcher options sees beyond the usual: with
    ``--solutions-visible``, the solutions (not part of the usual layout at all)."""
    return solution_paths() if args.solutions_visible else []


def solution_paths() -> list[str]:
    """Where the solutions of the graded exercises are installed: the course's own package and
    the modules the grader names in ``COURSE_GRADING_SOLUTIONS`` (found, never imported)."""
    names = {"course_solutions", *filter(None, os.environ.get(contract.SOLUTIONS, "").split(","))}
    # the kernel's import path: the launcher runs isolated (python -I), the kernel with PYTHONPATH
    search = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p] + sys.path
    paths = []
    for name in sorted(names):
        top = name.split(".")[0]
        try:
            spec = importlib.machinery.PathFinder.find_spec(top, search) or importlib.util.find_spec(top)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        locations = list(spec.submodule_search_locations or [])
        paths += locations if locations else [spec.origin] if spec.origin else []
    return paths


def _child_setup() -> None:
    """In the child before exec: its own process group (a SIGINT or SIGKILL meant for the
    launcher's group does not hit it), death with the launcher, first in line for the OOM
    killer (a grading kernel, never the grader)."""
    os.setpgid(0, 0)
    memory_watch.die_with_parent()
    try:
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
    except OSError:
        pass


def main(argv=None) -> int:
    args = arguments(argv)
    memory_watch.die_with_parent()   # a grader killed outright takes its kernels along
    memory_watch.become_subreaper()
    connection_file = os.path.abspath(args.connection_file)
    kernel_command = [sys.executable, "-m", args.kernel_module, "-f", connection_file]
    passed = []  # file descriptors the child inherits
    if args.no_sandbox:
        env = {k: v for k, v in os.environ.items() if k != "JPY_PARENT_PID"}
        env[contract.SCRATCH] = os.getcwd()
        command = kernel_command
    else:
        env = sandbox_environment()
        fonts = {os.open(path, os.O_RDONLY): path.name for path in matplotlib_font_cache()}
        full = bwrap_command(kernel_command, os.getcwd(), connection_file,
                             hidden(args), args.tmp_mb, env, fonts, shown(args))
        # the options through a pipe: the sandbox's pid 1 (bwrap) shows no layout in cmdline
        options = full[1:full.index("--")]
        options_fd = _pipe_holding(b"".join(os.fsencode(a) + b"\0" for a in options))
        passed += [*fonts, options_fd]
        command = ["bwrap", "--args", str(options_fd), "--", *kernel_command]
    child = subprocess.Popen(command, env=env, pass_fds=passed, cwd="/",
                             preexec_fn=_child_setup)
    for fd in passed:
        os.close(fd)
    code = memory_watch.supervise(child.pid, args.memory_mb,
                                  oom_marker(args.marker_dir, connection_file),
                                  kernel_is_child=args.no_sandbox)
    child.returncode = code
    return code


if __name__ == "__main__":
    sys.exit(main())
