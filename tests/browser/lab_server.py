"""A throw-away JupyterLab server for browser tests.

Why so much isolation: a test must not read the developer's own Jupyter settings,
workspaces or running servers, and must leave nothing behind. So the server gets its own
config, data and runtime folders and a root folder holding copies of the notebooks, binds
to 127.0.0.1 only with a fixed token, and is stopped by its own PID.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

TOKEN = "course-browser-test"
START_TIMEOUT_S = 60
ORPHAN_TIMEOUT_S = 180

USER_SETTINGS = {
    # news and update checks would reach the internet and cover the notebook with a toast
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    # JupyterLab 4 renders only the cells in view; tests must see every widget
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """``with LabServer() as lab: lab.add(notebook) ... lab.url(name)``; stopped on exit."""

    def __init__(self):
        self.token = TOKEN
        self.port = None
        self.process = None
        self.home = Path(tempfile.mkdtemp(prefix="course-lab-"))
        self.root = self.home / "root"
        self.log_path = self.home / "jupyterlab.log"

    # --- life cycle --------------------------------------------------------------------
    def start(self):
        self.root.mkdir()
        config = self.home / "config"
        for plugin, values in USER_SETTINGS.items():
            path = config / "lab" / "user-settings" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(config),
            JUPYTER_DATA_DIR=str(self.home / "data"),
            JUPYTER_RUNTIME_DIR=str(self.home / "runtime"),
            JUPYTER_PLATFORM_DIRS="1",
            IPYTHONDIR=str(self.home / "ipython"),
            MPLBACKEND="module://matplotlib_inline.backend_inline",
        )
        env.pop("COURSE_GRADING", None)
        self.port = free_port()
        command = [
            str(Path(sys.executable).with_name("jupyter-lab")), "--no-browser", "--allow-root",
            "--ip=127.0.0.1", f"--port={self.port}", "--port-retries=0",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
            "--ServerApp.open_browser=False", "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            # If pytest is killed before stop() runs, the server (in its own session, so
            # Ctrl-C reaches only pytest) must not live on: idle kernels are culled and an
            # idle server shuts itself down after ORPHAN_TIMEOUT_S.
            f"--MappingKernelManager.cull_idle_timeout={ORPHAN_TIMEOUT_S}",
            "--MappingKernelManager.cull_interval=30",
            f"--ServerApp.shutdown_no_activity_timeout={ORPHAN_TIMEOUT_S}",
        ]
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        cwd=self.root, start_new_session=True)
        self._wait_ready()
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n{self.log()}")
            try:
                if self.api("GET", "/api/status")[0] == 200:
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {START_TIMEOUT_S} s:\n{self.log()}")

    def stop(self):
        """Stop the server by its PID (its kernels are its children, in its session)."""
        if self.process is not None and self.process.poll() is None:
            try:
                self.api("POST", "/api/shutdown")
                self.process.wait(timeout=10)
            except Exception:
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- helpers ---------------------------------------------------------------------
    def api(self, method, path, timeout=5):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            return response.status, (json.loads(body) if body else None)

    def add(self, notebook, name=None):
        """Copy ``notebook`` into the server's root, outputs cleared; returns the name to open.

        Cleared, so that a test waiting for execution counts or outputs can only see the
        ones this run produced, never those stored in the file.
        """
        import nbformat

        name = name or Path(notebook).name
        nb = nbformat.read(notebook, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
        nbformat.write(nb, self.root / name)
        return name

    def url(self, name, workspace):
        """The notebook in a fresh workspace, so no layout is restored from an earlier test."""
        return (f"http://127.0.0.1:{self.port}/lab/workspaces/{workspace}/tree/{name}"
                f"?reset&token={self.token}")

    def shutdown_kernels(self):
        """Stop every kernel so the next test does not share two CPU cores with old ones."""
        _, sessions = self.api("GET", "/api/sessions")
        for session in sessions or []:
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"
