"""The course's own validation (``make test``) runs its notebooks in warm kernels too.

Every lesson and solution notebook would otherwise start a kernel that imports torch (1.5 s
of processor time each, in every pytest-xdist worker, twice over with ``make test-numerics``).
With ``--warm-kernels`` each notebook nbval runs with ``--nbval-current-env`` gets a kernel
forked from this process's warm parent instead, the very kernels grading uses
(``launcher.warm``, ``sandbox_manager.WarmProvisioner``) but running plain ipykernel: no probe
server, no output cap, not in grading mode, and the solutions visible (a notebook's
``check()`` compares an answer with them, as in a student's own kernel). The numeric
variables of ``make test-numerics`` (``stability.VARIANTS``) reach the parent, which imports
torch with them, and its kernels.

Only nbval's own notebook kernels are served (the current-environment kernel for a folder a
collected notebook lives in); any other kernel a test starts is nbval's as before. Where
bubblewrap cannot run or the warm parent cannot start, nbval's own kernels serve (the latter
said once in the output).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from course_utils.grade.launcher import sandbox, warm
from course_utils.grade.pytest_side import nbval_bridge
from course_utils.grade.pytest_side.kernel_pool import KernelPool
from course_utils.grade.pytest_side.sandbox_manager import (SandboxKernelManager, start_warm_parent,
                                                            warm_parent)

KERNEL_NAME = "course-validation"
KERNEL_MODULE = "ipykernel_launcher"


class ValidationKernels:
    """This process's warm kernels for its notebooks, and what it needs to undo."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="course-validation-"))
        (self.folder / "markers").mkdir()
        spec = sandbox.kernelspec(0, self.folder / "markers", [self.folder], sandbox=True,
                                  kernel_module=KERNEL_MODULE, warm=True, solutions_visible=True)
        spec["display_name"] = "Course validation (warm)"
        spec_dir = self.folder / "kernels" / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        (spec_dir / "kernel.json").write_text(json.dumps(spec))
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(self.folder),
                                                                   os.environ.get("JUPYTER_PATH")]))
        self.pool = KernelPool(SandboxKernelManager, KERNEL_NAME, 0)
        self.folders: set[str] = set()
        self.spec = spec
        self.refused: str | None = None   # why warm kernels cannot start here ("" if they can)
        self.original = nbval_bridge.kernel_starter()
        nbval_bridge.use_kernel_starter(self.start_new_kernel)

    def serve(self, items) -> None:
        """The folders of the notebooks collected: kernels started there are served warm, and
        the warm parent starts now if there are any (its import of torch overlaps the tests
        that run before the first notebook)."""
        self.folders |= {nbval_bridge.folder_of(nbval_bridge.notebook_of(item))
                         for item in items if nbval_bridge.is_cell(item)}
        if self.folders:
            start_warm_parent(self.spec)

    def start_new_kernel(self, startup_timeout=60, kernel_name=None, stderr=None, cwd=None,
                         **others):
        if kernel_name != nbval_bridge.CURRENT_ENV or str(cwd) not in self.folders or not self.warm_works():
            return self.original(startup_timeout=startup_timeout, kernel_name=kernel_name,
                                 stderr=stderr, cwd=cwd, **others)
        return self.pool.start_new_kernel(startup_timeout, kernel_name, stderr, cwd)

    def warm_works(self) -> bool:
        """Whether warm kernels start here. Where they do not, nbval's own kernels serve (said
        once), not cold ones in the sandbox: ipykernel would start in "/", not the notebook's
        folder."""
        if self.refused is None:
            try:
                warm_parent(self.spec)
                self.refused = ""
            except warm.Unavailable as error:
                self.refused = str(error)
                warm.say_once(self.refused)
        return not self.refused

    def close(self) -> None:
        self.pool.shutdown()
        nbval_bridge.use_kernel_starter(self.original)
        shutil.rmtree(self.folder, ignore_errors=True)


def wanted(config) -> bool:
    """``--warm-kernels`` on a run of nbval's with the current environment's kernel, and a
    sandbox to fork it in (without one, nbval's own kernels)."""
    option = config.option
    nbval = getattr(option, "nbval", False) or getattr(option, "nbval_lax", False)
    return bool(getattr(option, "warm_kernels", False) and nbval
                and getattr(option, "nbval_current_env", False) and not sandbox.problem())
