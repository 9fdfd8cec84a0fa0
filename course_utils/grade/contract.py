"""What crosses between the grading processes, declared once.

The command, the pytest side, the launcher and the kernel agree on these and on nothing else:
the settings an instructor can change (each with its one default and help text: the command's
options, the plugin's options and ``runner.Settings`` all read them from here), the
environment variables one process sets for the next, and the kinds of fault a run can have.
Statuses of a verdict are ``records.Status``. Plain module, no heavy imports: every grading
process, the launcher included, imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class Setting:
    default: object
    help: str


TIMEOUT = Setting(30.0, "seconds per cell (a probe of a check waits as long)")
NOTEBOOK_TIMEOUT = Setting(600.0, "seconds one notebook may take in all")
MEMORY_MB = Setting(2048, "resident memory per notebook, everything it starts included")
FILE_MB = Setting(256, "largest file a kernel may write, in MB")
OUTPUT_CHARS = Setting(100_000, "characters one cell may print or display per stream")


class Parallel(str, Enum):
    """How a grading run spreads its notebooks over ``--workers`` cores."""

    AUTO = "auto"                # side by side where the lessons declare their notebooks heavy
    SIDE_BY_SIDE = "side-by-side"  # pytest-xdist: N workers, each running its own notebooks
    ONE_PROCESS = "one-process"  # one notebook at a time, the next N kernels started ahead

    def __str__(self) -> str:
        return self.value


PARALLEL = Setting(Parallel.AUTO, "how notebooks share the cores: side-by-side (pytest-xdist "
                                  "workers) pays off for notebooks that compute for seconds; "
                                  "one-process (the next kernels started ahead) for lighter ones, "
                                  "where each notebook costs more in messages than in computing; "
                                  "auto chooses by the lessons' KERNEL_SECONDS")
# An exercise module may declare ``KERNEL_SECONDS = 12``: about how long a solved notebook of
# its lesson computes in its kernel. With --parallel auto, notebooks that take this long on
# average run side by side; lighter ones (undeclared: LIGHT_KERNEL_SECONDS) in one process.
KERNEL_SECONDS = "KERNEL_SECONDS"
LIGHT_KERNEL_SECONDS = 0.5
SIDE_BY_SIDE_FROM_S = 3.0

WARM = Setting(True, "start each kernel as a fork of a warm parent that imported torch once "
                     "(Linux with user namespaces; elsewhere kernels start cold, said once)")


# Environment variables, by who sets them for whom.
GRADING = "COURSE_GRADING"                       # command -> kernel: "1", check() stays silent
EXERCISES = "COURSE_GRADING_EXERCISES"           # pytest side: the exercise modules it judges
SOLUTIONS = "COURSE_GRADING_SOLUTIONS"           # pytest side -> launcher: solution modules to hide
SCRATCH = "COURSE_GRADING_SCRATCH"               # launcher -> kernel: the notebook's folder
SOCKET_BASE = "COURSE_GRADING_SOCKET_BASE"       # pytest side -> kernel manager: ipc sockets
FILE_MB_ENV = "COURSE_GRADING_FILE_MB"           # instructor -> kernel (FILE_MB)
OUTPUT_CHARS_ENV = "COURSE_GRADING_OUTPUT_CHARS"  # instructor -> kernel (OUTPUT_CHARS)
WARM_ENV = "COURSE_GRADING_WARM"                 # instructor -> pytest side: "1" or "0" (WARM)


def env_int(environ, name: str, setting: Setting) -> int:
    """An integer setting from the environment, its default where unset or not a number."""
    value = environ.get(name, "")
    return int(value) if value.isdigit() else int(setting.default)


class Fault(str, Enum):
    """Why a notebook (or a cell of it) could not be judged. The value is the report's label."""

    TIMED_OUT = "time-out"
    OUT_OF_MEMORY = "out of memory"
    KERNEL_DIED = "kernel died"
    SYS_EXIT = "sys.exit()"
    UNREADABLE = "unreadable file"
    STOPPED = "run stopped before the check"      # the time budget, or a kernel not restored
    GRADER = "grader trouble"                     # a kernel that could not start: never cached

    def __str__(self) -> str:
        return self.value

    @property
    def restarts_kernel(self) -> bool:
        """After this fault the notebook's next cell needs a new kernel."""
        return self in (Fault.TIMED_OUT, Fault.OUT_OF_MEMORY, Fault.KERNEL_DIED, Fault.GRADER)

    @property
    def blames_the_grader(self) -> bool:
        """A result with this fault is not kept in the cache: the next run tries again."""
        return self in (Fault.STOPPED, Fault.GRADER)


def fault_of(value) -> Fault | None:
    """A record's fault field (the enum's value, or "") as the enum; anything else is None."""
    try:
        return Fault(value) if value else None
    except ValueError:
        return None
