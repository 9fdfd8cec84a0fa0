"""Every grading kernel in a bubblewrap sandbox, with a cap on the memory it really uses.

``kernelspec()`` gives the kernel.json whose argv is this module's launcher::

    python -m course_utils.grade.sandbox --memory-mb M --marker-dir D [--hide P]... \\
        [--no-sandbox] CONNECTION_FILE

The launcher runs ``python -m course_utils.grade.kernel -f CONNECTION_FILE`` inside ``bwrap``.
The kernel sees the system, the Python environment and the installed ``course_utils`` package
read-only (a whitelist: not the repo around an editable install, not all of ``/etc``), its
own scratch folder (the launcher's working folder, one notebook) and a private, size-capped
``/tmp`` writable, the folder of its ipc sockets, and nothing else: no network (its own
network namespace), no other process (its own PID namespace), no capability, no user
namespace of its own, a clean environment. Everything in it dies with the launcher.

Outside the sandbox the launcher stays as a watchdog (``memory_watch``): over ``--memory-mb``
of resident memory it kills the tree and writes ``<marker dir>/<kernel id>.oom`` (the peak in
MB), so the grader can say "ran out of memory". The secret ``COURSE_GRADING_VERDICT_KEY`` is
never put in the sandbox's environment (``/proc/<pid>/environ`` would keep it): the kernel
reads it once from an inherited pipe named by ``COURSE_GRADING_KEY_FD``.

``--no-sandbox`` runs the kernel directly (where bubblewrap cannot run) and keeps only the
watchdog and the key pipe. ``SandboxKernelManager`` (``sandbox_manager``) starts these kernels
over the ipc transport, each with its own socket folder.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from course_utils.grade import memory_watch

KERNEL_MODULE = "course_utils.grade.kernel"
KEY_VARIABLE = "COURSE_GRADING_VERDICT_KEY"
KEY_FD_VARIABLE = "COURSE_GRADING_KEY_FD"
DISPLAY_NAME = "Course grading (sandbox)"
TMP_MB = 256
SHM_MB = 64
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What Python, torch, matplotlib and Graphviz read from /etc: the dynamic loader, time
# zone, user and host names, MIME types, fonts, Debian's alternatives and system-Python files.
ETC_ENTRIES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "passwd",
               "group", "nsswitch.conf", "host.conf", "hosts", "mime.types", "locale.alias",
               "fonts", "alternatives", "os-release", "python3",
               f"python{sys.version_info.major}.{sys.version_info.minor}")
# Graphviz's font cache; the CPU topology that numeric libraries read to size thread pools
# (torch's cpuinfo warns on stderr without it on some machines, ARM ones among them)
OTHER_READ_ONLY = ("/var/cache/fontconfig", "/sys/devices/system/cpu")
PASSED_VARIABLES = ("PYTHONPATH", "PYTHONHASHSEED", "TZ", "LANG", "LC_ALL", "OMP_NUM_THREADS",
                    "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "PYDEVD_DISABLE_FILE_VALIDATION")
PRIVATE_DIRS = {"HOME": "/tmp/home", "MPLCONFIGDIR": "/tmp/matplotlib",
                "IPYTHONDIR": "/tmp/ipython", "JUPYTER_CONFIG_DIR": "/tmp/jupyter/config",
                "JUPYTER_DATA_DIR": "/tmp/jupyter/data",
                "JUPYTER_RUNTIME_DIR": "/tmp/jupyter/runtime", "XDG_CACHE_HOME": "/tmp/cache",
                "XDG_CONFIG_HOME": "/tmp/config"}
CORE_OPTIONS = ("--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
                "--new-session", "--cap-drop", "ALL")


def __getattr__(name):
    # The launcher runs once per kernel and must start fast; jupyter_client takes 0.17 s to
    # import, so the kernel manager lives in its own module, loaded on first use.
    if name == "SandboxKernelManager":
        from course_utils.grade.sandbox_manager import SandboxKernelManager

        return SandboxKernelManager
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------- can we sandbox here?

@functools.lru_cache(maxsize=1)
def problem() -> str | None:
    """None when bubblewrap can sandbox a process here, else one line saying what to do."""
    if platform.system() != "Linux":
        return f"not Linux ({platform.system()}): bubblewrap needs Linux namespaces"
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed: apt-get install bubblewrap"
    command = ["bwrap", *CORE_OPTIONS, *_system_binds(), "--proc", "/proc", "--dev", "/dev",
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


# ---------------------------------------------------------------- the kernel.json

def kernelspec(memory_mb: int, marker_dir, hide=(), sandbox: bool = True,
               kernel_module: str = KERNEL_MODULE) -> dict:
    """The kernel.json dict for a grading kernel started through this launcher.

    Interrupts travel as messages: the sandboxed kernel is in a session of its own, so a
    SIGINT sent to the launcher's process group could not reach it. The launcher runs outside
    the sandbox with the notebook's folder as its working folder, so Python's isolated mode
    (``-I``) keeps that folder off its ``sys.path``: a ``course_utils/`` a notebook wrote there
    must never run in its place.
    """
    argv = [sys.executable, "-I", "-m", "course_utils.grade.sandbox",
            "--memory-mb", str(memory_mb), "--marker-dir", str(marker_dir)]
    for path in hide:
        argv += ["--hide", str(path)]
    if not sandbox:
        argv.append("--no-sandbox")
    if kernel_module != KERNEL_MODULE:
        argv += ["--kernel-module", kernel_module]
    argv.append("{connection_file}")
    return {"argv": argv, "language": "python", "interrupt_mode": "message",
            "display_name": DISPLAY_NAME if sandbox else "Course grading (no sandbox)",
            "metadata": {}}


def oom_marker(marker_dir, connection_file) -> Path:
    """Where the launcher of the kernel with this connection file reports running out of memory."""
    return Path(marker_dir) / f"{Path(connection_file).stem}.oom"


# ---------------------------------------------------------------- the bwrap command

def _system_binds() -> list[str]:
    """/usr read-only, and /bin, /lib... as they are here: symlinks into /usr (merged /usr)
    are recreated as symlinks, real folders are bound."""
    options = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            options += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            options += ["--ro-bind", path, path]
    for name in ETC_ENTRIES:
        if os.path.exists(f"/etc/{name}"):
            options += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    for path in OTHER_READ_ONLY:
        if os.path.exists(path):
            options += ["--ro-bind", path, path]
    return options


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _package_folder() -> str:
    import course_utils

    return os.path.dirname(os.path.realpath(course_utils.__file__))


def python_folders() -> list[str]:
    """What the kernel must read to run Python: the environment, its base installation, the
    PYTHONPATH entries and the installed course_utils package (only the package folder: for
    an editable install the repo around it holds solutions/ and the release)."""
    folders = [sys.prefix, sys.base_prefix, _package_folder()]
    folders += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    found = []
    for folder in folders:
        for path in (os.path.abspath(folder), os.path.realpath(folder)):
            if path != "/" and os.path.exists(path) and path not in found:
                found.append(path)
    found.sort(key=len)
    return [p for i, p in enumerate(found) if not any(_within(p, q) for q in found[:i])]


def _matplotlib_font_cache() -> list[Path]:
    """The instructor's matplotlib font list (where matplotlib keeps it), built here once if
    missing: copied into the sandbox, it saves ~1 s per kernel that draws a figure."""
    folder = Path(os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib"))
    found = sorted(folder.glob("fontlist-v*.json"))
    if not found and importlib.util.find_spec("matplotlib") is not None:
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"],
                       capture_output=True, timeout=300)
        found = sorted(folder.glob("fontlist-v*.json"))
    return found


def bwrap_command(kernel_command: list[str], scratch: str, connection_file: str,
                  hide=(), tmp_mb: int = TMP_MB, env: dict | None = None,
                  font_cache_fds: dict | None = None) -> list[str]:
    """The full bwrap argv; ``font_cache_fds`` maps open file descriptors to file names."""
    read_only = python_folders()
    options = ["bwrap", *CORE_OPTIONS, *_system_binds(),
               "--proc", "/proc", "--dev", "/dev",
               "--size", str(SHM_MB * 2**20), "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
               "--size", str(tmp_mb * 2**20), "--tmpfs", "/tmp"]
    for folder in sorted(set(PRIVATE_DIRS.values())):
        options += ["--dir", folder]
    for fd, name in (font_cache_fds or {}).items():
        options += ["--file", str(fd), f"{PRIVATE_DIRS['MPLCONFIGDIR']}/{name}"]
    for folder in read_only:
        options += ["--ro-bind", folder, folder]
    repo = os.path.dirname(_package_folder())  # for an editable install, the course repo
    hidden = list(hide) + [os.path.join(repo, "solutions"), os.path.join(repo, "exercises")]
    spellings = (q for p in hidden for q in (os.path.abspath(p), os.path.realpath(p)))
    for path in dict.fromkeys(spellings):
        if not os.path.exists(path) or not any(_within(path, f) for f in read_only):
            continue  # never bound, so already invisible
        if os.path.isdir(path):
            options += ["--tmpfs", path, "--remount-ro", path]
        else:
            options += ["--ro-bind", "/dev/null", path]
    socket_dir = os.path.dirname(os.path.abspath(connection_file))
    options += ["--bind", scratch, scratch, "--bind", socket_dir, socket_dir,
                "--ro-bind", connection_file, connection_file,
                "--remount-ro", "/", "--chdir", "/", "--clearenv"]
    # The kernel starts in "/" and moves into its scratch folder only after its own modules are
    # imported: a course_utils/ a notebook wrote there must never become the next kernel.
    for name, value in dict(env or {}, COURSE_GRADING_SCRATCH=scratch).items():
        options += ["--setenv", name, value]
    return options + ["--", *kernel_command]


def sandbox_environment(key_fd: int) -> dict:
    """Only what the kernel needs: its private folders, the grading settings, no secret."""
    env = {"PATH": os.pathsep.join([os.path.join(sys.prefix, "bin"), "/usr/local/bin",
                                    "/usr/bin", "/bin"]),
           "TMPDIR": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", **PRIVATE_DIRS}
    for name, value in os.environ.items():
        if name in PASSED_VARIABLES or name.startswith("COURSE_GRADING"):
            env[name] = value
    env.pop(KEY_VARIABLE, None)
    env[KEY_FD_VARIABLE] = str(key_fd)
    return env


# ---------------------------------------------------------------- the launcher

def _arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m course_utils.grade.sandbox",
                                     description="Start one grading kernel in a sandbox.")
    parser.add_argument("--memory-mb", type=float, default=2048,
                        help="resident memory of the kernel and all it starts (0: no cap)")
    parser.add_argument("--marker-dir", required=True,
                        help="where <kernel id>.oom is written when the cap was hit")
    parser.add_argument("--hide", action="append", default=[], metavar="PATH",
                        help="a path the kernel must not see, even inside a bound folder")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the kernel directly (memory cap and key pipe only)")
    parser.add_argument("--kernel-module", default=KERNEL_MODULE)
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


def _key_pipe() -> int:
    """The verdict key moves from the environment into a pipe; returns the read end."""
    return _pipe_holding(os.environ.pop(KEY_VARIABLE, "").encode())


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
    args = _arguments(argv)
    memory_watch.die_with_parent()   # a grader killed outright takes its kernels along
    memory_watch.become_subreaper()
    key_fd = _key_pipe()
    connection_file = os.path.abspath(args.connection_file)
    kernel_command = [sys.executable, "-m", args.kernel_module, "-f", connection_file]
    fonts = {}
    if args.no_sandbox:
        env = {k: v for k, v in os.environ.items() if k != "JPY_PARENT_PID"}
        env[KEY_FD_VARIABLE] = str(key_fd)
        env["COURSE_GRADING_SCRATCH"] = os.getcwd()
        command = kernel_command
    else:
        env = sandbox_environment(key_fd)
        fonts = {os.open(path, os.O_RDONLY): path.name for path in _matplotlib_font_cache()}
        command = bwrap_command(kernel_command, os.getcwd(), connection_file, args.hide,
                                args.tmp_mb, env, fonts)
        # options through a pipe: the sandbox's pid 1 (bwrap) shows no layout in its cmdline
        options = command[1:command.index("--")]
        fonts[_pipe_holding(b"".join(a.encode() + b"\0" for a in options))] = None
        command = ["bwrap", "--args", str(list(fonts)[-1]), "--", *kernel_command]
    child = subprocess.Popen(command, env=env, pass_fds=(key_fd, *fonts), cwd="/",
                             preexec_fn=_child_setup)
    for fd in (key_fd, *fonts):
        os.close(fd)
    code = memory_watch.supervise(child.pid, args.memory_mb,
                                  oom_marker(args.marker_dir, connection_file),
                                  kernel_is_child=args.no_sandbox)
    child.returncode = code
    return code


if __name__ == "__main__":
    sys.exit(main())
