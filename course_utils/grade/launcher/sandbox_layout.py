"""What a sandboxed grading kernel sees: the bubblewrap command line and its environment.

A whitelist rather than the disk: the system (``/usr``, the entries of ``/etc`` that Python,
torch, matplotlib and Graphviz read), the Python environment, the PYTHONPATH entries and the
installed ``course_utils`` package folder read-only; the scratch folder, the socket folder
and a private, size-capped ``/tmp`` writable; the rest of the disk does not exist. Paths to
hide are covered by empty read-only folders where they lie inside a bound folder. The root,
``/dev`` and the hidden folders are remounted read-only once everything is in place.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from course_utils.grade import contract

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
                    "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "PYDEVD_DISABLE_FILE_VALIDATION",
                    # the numeric code paths of make test-numerics (stability.VARIANTS)
                    "MKL_CBWR", "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")
PRIVATE_DIRS = {"HOME": "/tmp/home", "MPLCONFIGDIR": "/tmp/matplotlib",
                "IPYTHONDIR": "/tmp/ipython", "JUPYTER_CONFIG_DIR": "/tmp/jupyter/config",
                "JUPYTER_DATA_DIR": "/tmp/jupyter/data",
                "JUPYTER_RUNTIME_DIR": "/tmp/jupyter/runtime", "XDG_CACHE_HOME": "/tmp/cache",
                "XDG_CONFIG_HOME": "/tmp/config"}
CORE_OPTIONS = ("--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
                "--new-session", "--cap-drop", "ALL")


def system_binds() -> list[str]:
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


def package_folder() -> str:
    import course_utils

    return os.path.dirname(os.path.realpath(course_utils.__file__))


def python_folders(show=()) -> list[str]:
    """What the kernel must read to run Python: the environment, its base installation, the
    PYTHONPATH entries and the installed course_utils package (only the package folder: for
    an editable install the repo around it holds solutions/ and the release), and ``show``."""
    folders = [sys.prefix, sys.base_prefix, package_folder(), *show]
    folders += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    found = []
    for folder in folders:
        for path in (os.path.abspath(folder), os.path.realpath(folder)):
            if path != "/" and os.path.exists(path) and path not in found:
                found.append(path)
    found.sort(key=len)
    return [p for i, p in enumerate(found) if not any(_within(p, q) for q in found[:i])]


def matplotlib_font_cache() -> list[Path]:
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


def layout_options(hide=(), tmp_mb: int = TMP_MB, font_cache_fds: dict | None = None,
                   show=()) -> list[str]:
    """The bwrap options of what every grading kernel sees, before its own folders are bound:
    the core options, the read-only whitelist (``show`` too: the course's validation shows its
    kernels the solutions, never a grading run), the hidden paths, the private /tmp and
    /dev/shm. ``font_cache_fds`` maps open file descriptors to file names."""
    read_only = python_folders(show)
    options = [*CORE_OPTIONS, *system_binds(),
               "--proc", "/proc", "--dev", "/dev",
               "--size", str(SHM_MB * 2**20), "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
               "--size", str(tmp_mb * 2**20), "--tmpfs", "/tmp"]
    for folder in sorted(set(PRIVATE_DIRS.values())):
        options += ["--dir", folder]
    for fd, name in (font_cache_fds or {}).items():
        options += ["--file", str(fd), f"{PRIVATE_DIRS['MPLCONFIGDIR']}/{name}"]
    for folder in read_only:
        options += ["--ro-bind", folder, folder]
    repo = os.path.dirname(package_folder())  # for an editable install, the course repo
    hidden = list(hide) + [os.path.join(repo, "solutions"), os.path.join(repo, "exercises")]
    spellings = (q for p in hidden for q in (os.path.abspath(p), os.path.realpath(p)))
    for path in dict.fromkeys(spellings):
        if not os.path.exists(path) or not any(_within(path, f) for f in read_only):
            continue  # never bound, so already invisible
        if os.path.isdir(path):
            options += ["--tmpfs", path, "--remount-ro", path]
        else:  # /dev/null on a nodev mount: the file cannot even be opened
            options += ["--ro-bind", "/dev/null", path]
    return options


def environment_options(env: dict) -> list[str]:
    options = ["--remount-ro", "/", "--chdir", "/", "--clearenv"]
    for name, value in env.items():
        options += ["--setenv", name, value]
    return options


def bwrap_command(kernel_command: list[str], scratch: str, connection_file: str,
                  hide=(), tmp_mb: int = TMP_MB, env: dict | None = None,
                  font_cache_fds: dict | None = None, show=()) -> list[str]:
    """The full bwrap argv of one cold kernel; ``font_cache_fds`` maps open file descriptors
    to file names."""
    options = ["bwrap", *layout_options(hide, tmp_mb, font_cache_fds, show)]
    socket_dir = os.path.dirname(os.path.abspath(connection_file))
    options += ["--bind", scratch, scratch, "--bind", socket_dir, socket_dir,
                "--ro-bind", connection_file, connection_file]
    # The kernel starts in "/" and moves into its scratch folder only after its own modules are
    # imported: a course_utils/ a notebook wrote there must never become the next kernel.
    options += environment_options({**(env or {}), contract.SCRATCH: scratch})
    return options + ["--", *kernel_command]


def sandbox_environment() -> dict:
    """Only what the kernel needs: its private folders and the grading settings."""
    env = {"PATH": os.pathsep.join([os.path.join(sys.prefix, "bin"), "/usr/local/bin",
                                    "/usr/bin", "/bin"]),
           "TMPDIR": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", **PRIVATE_DIRS}
    for name, value in os.environ.items():
        if name in PASSED_VARIABLES or name.startswith("COURSE_GRADING"):
            env[name] = value
    return env
