"""Each property of the grading sandbox, proved with a real kernel.

Kernels are started the way nbval starts them (``SandboxKernelManager`` and a kernelspec from
``sandbox.kernelspec``), with plain ipykernel as the kernel module, and probed with code run
in them. Where a property could hold by accident (a refused connection, an unlisted folder),
the same probe also runs in a ``--no-sandbox`` kernel and must succeed there.

Skipped only where bubblewrap cannot run and ``COURSE_REQUIRE_SANDBOX`` is unset: ``make
test`` sets it, so CI fails rather than skips.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import sysconfig
import time
import uuid
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager

from course_utils.grade.launcher import memory_watch, sandbox, sandbox_layout
from course_utils.grade.pytest_side.sandbox_manager import SandboxKernelManager

REPO = Path(sandbox_layout.package_folder()).parent
CAN_SANDBOX = sandbox.problem() is None
needs_sandbox = pytest.mark.skipif(
    not CAN_SANDBOX and not os.environ.get("COURSE_REQUIRE_SANDBOX"),
    reason=f"no sandbox here: {sandbox.problem()}")
pytestmark = pytest.mark.slow


def skip_without_sandbox(sandboxed: bool = True) -> None:
    if sandboxed and not CAN_SANDBOX and not os.environ.get("COURSE_REQUIRE_SANDBOX"):
        pytest.skip(f"no sandbox here: {sandbox.problem()}")


PROBES = r'''
import errno, json, os, socket, subprocess, sys
# the course's kernel moves into its folder itself, after its own imports (plain ipykernel here)
os.chdir(os.environ.get("COURSE_GRADING_SCRATCH", "."))
def attempt(action):
    """'ok', or the errno name of the OSError the action raised."""
    try:
        action()
        return "ok"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error))
def write(path):
    return attempt(lambda: open(path, "w").write("written by the kernel"))
'''


class Kernel:
    """A started kernel and its client; ``result(code)`` runs code and returns the JSON value
    it prints last."""

    def __init__(self, manager, client):
        self.manager, self.client = manager, client

    def run(self, code: str, timeout: float = 60) -> dict:
        out = {"stdout": "", "stderr": "", "error": None}

        def collect(message):
            content = message["content"]
            if message["msg_type"] == "stream":
                out[content["name"]] += content["text"]
            elif message["msg_type"] == "error":
                out["error"] = content["ename"]

        self.client.execute_interactive(code, timeout=timeout, output_hook=collect)
        return out

    def result(self, code: str):
        out = self.run(code)
        assert out["error"] is None, out
        return json.loads(out["stdout"].strip().splitlines()[-1])

    def stop(self, now: bool = True) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=now)


@pytest.fixture(scope="module", params=["cold", "warm"])
def mode(request):
    """Every property holds for a kernel started cold (bwrap per kernel) and for one forked
    from the warm parent (``launcher.warm``)."""
    if request.param == "warm" and warm_problem():
        pytest.skip(f"no warm kernels here: {warm_problem()}")
    return request.param


def warm_problem() -> str | None:
    return sandbox.problem()


@pytest.fixture(scope="module")
def start(tmp_path_factory, mode):
    """start(scratch, **kernelspec options, env={...}) -> Kernel; all stopped at the end."""
    specs = tmp_path_factory.mktemp("kernelspecs")
    markers = tmp_path_factory.mktemp("markers")
    started, devnull = [], open(os.devnull, "w")

    def start_kernel(scratch: Path, memory_mb=1024, hide=(), sandbox_on=True, env=None,
                     marker_dir=None):
        name = f"grading-{uuid.uuid4().hex[:8]}"
        spec = sandbox.kernelspec(memory_mb, marker_dir or markers, hide,
                                  sandbox=sandbox_on, kernel_module="ipykernel_launcher",
                                  warm=mode == "warm")
        (specs / "kernels" / name).mkdir(parents=True)
        (specs / "kernels" / name / "kernel.json").write_text(json.dumps(spec))
        saved = dict(os.environ)
        os.environ.update(env or {})
        try:
            manager = SandboxKernelManager(
                kernel_name=name, kernel_spec_manager=KernelSpecManager(
                    kernel_dirs=[str(specs / "kernels")]))
            manager.start_kernel(cwd=str(scratch), stdout=devnull, stderr=devnull)
            assert getattr(manager.provisioner, "warm", False) == (mode == "warm" and sandbox_on)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        kernel = Kernel(manager, client)
        kernel.run(PROBES)
        started.append(kernel)
        return kernel

    yield start_kernel
    for kernel in started:
        if kernel.manager.has_kernel:
            kernel.stop()
    devnull.close()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Two students' scratch folders side by side, and a PYTHONPATH folder with a hidden part."""
    root = tmp_path_factory.mktemp("course")
    for student in ("alice", "bob"):
        (root / "scratch" / student).mkdir(parents=True)
        (root / "scratch" / student / "01_layers.ipynb").write_text("{}")
    library = root / "library"
    (library / "answers").mkdir(parents=True)
    (library / "helper.py").write_text("VALUE = 42\n")
    (library / "answers" / "key.txt").write_text("the answers\n")
    (library / "grades.csv").write_text("alice,52\n")
    return root


@pytest.fixture(scope="module")
def boxed(start, course):
    """One sandboxed kernel for alice, shared by the read-only probes."""
    return start(course / "scratch" / "alice",
                 hide=[course / "library" / "answers", course / "library" / "grades.csv"],
                 env={"PYTHONPATH": str(course / "library")})


@pytest.fixture(scope="module")
def unboxed(start, course):
    """The same kernel without the sandbox: the control for probes that could pass by accident."""
    return start(course / "scratch" / "alice", sandbox_on=False,
                 env={"PYTHONPATH": str(course / "library")})


def test_sandbox_available_where_required():
    """make test sets COURSE_REQUIRE_SANDBOX: there, a machine without a sandbox fails."""
    if not os.environ.get("COURSE_REQUIRE_SANDBOX"):
        pytest.skip("COURSE_REQUIRE_SANDBOX is not set")
    assert sandbox.problem() is None


# ---------------------------------------------------------------- files

@needs_sandbox
def test_environment_and_package_are_read_only(boxed):
    import course_utils

    targets = [sys.prefix, sysconfig.get_paths()["purelib"], sys.base_prefix,
               os.path.dirname(course_utils.__file__)]
    code = f"print(json.dumps([write(os.path.join(p, 'planted.py')) for p in {targets!r}]))"
    assert boxed.result(code) == ["EROFS"] * len(targets)
    assert boxed.result(f"print(json.dumps(write({course_utils.__file__!r})))") == "EROFS"
    assert not any(Path(p, "planted.py").exists() for p in targets)


@needs_sandbox
def test_package_importable_but_repo_around_it_invisible(boxed):
    code = ("import course_utils.grade.command.gradebook; print(json.dumps([os.path.exists(p) for p in "
            f"{[str(REPO / n) for n in ('solutions', 'exercises', 'README.md', '.git')]!r}]))")
    assert (REPO / "solutions").is_dir()
    assert boxed.result(code) == [False, False, False, False]


SOLUTIONS_PROBE = ("import importlib\n"
                   "def read_solution():\n"
                   "    try:\n"
                   "        return importlib.import_module('course_solutions.lesson01').q1[:20]\n"
                   "    except (ImportError, OSError) as error:\n"
                   "        return type(error).__name__\n"
                   "from course_utils.exercises import lesson01 as ex\n"
                   "print(json.dumps([read_solution(), ex.q1.solution_code, ex.q1.solution().heading]))")


@needs_sandbox
def test_the_solutions_are_invisible_and_solution_says_so(boxed, unboxed):
    """Nothing worth stealing: a kernel cannot read the instructor's side, wherever it is
    installed; without the sandbox (the control) it can."""
    assert boxed.result(SOLUTIONS_PROBE) == ["ModuleNotFoundError", "", "No solution here — lesson01.q1"]
    found, code, heading = unboxed.result(SOLUTIONS_PROBE)
    assert found.strip().startswith("def linear_by_hand") and code and heading == "Solution — lesson01.q1"


@needs_sandbox
def test_hidden_paths_empty_inside_a_bound_folder(boxed, course):
    library = course / "library"
    code = (f"import helper; print(json.dumps([helper.VALUE, "
            f"os.listdir({str(library / 'answers')!r}), "
            f"write({str(library / 'answers' / 'new.txt')!r}), "
            f"attempt(lambda: open({str(library / 'grades.csv')!r}).read()), "
            f"write({str(library / 'grades.csv')!r})]))")
    # a hidden folder is empty; a hidden file is /dev/null on a nodev mount: it cannot be opened
    assert boxed.result(code) == [42, [], "EROFS", "EACCES", "EACCES"]
    assert (library / "grades.csv").read_text() == "alice,52\n"


@needs_sandbox
def test_other_students_folder_cannot_be_listed(boxed, unboxed, course):
    bob, scratch = course / "scratch" / "bob", course / "scratch"
    code = (f"print(json.dumps([attempt(lambda: os.listdir({str(bob)!r})), "
            f"os.listdir({str(scratch)!r})]))")
    assert boxed.result(code) == ["ENOENT", ["alice"]]
    listed, siblings = unboxed.result(code)
    assert listed == "ok" and "bob" in siblings


@needs_sandbox
def test_scratch_and_private_tmp_are_writable(boxed, course):
    marker = f"only-in-the-sandbox-{uuid.uuid4().hex}"
    code = (f"print(json.dumps([write('answer.txt'), write('/tmp/{marker}'), "
            f"os.getcwd(), os.environ['HOME'], write(os.environ['HOME'] + '/x')]))")
    assert boxed.result(code) == ["ok", "ok", str(course / "scratch" / "alice"), "/tmp/home",
                                  "ok"]
    assert (course / "scratch" / "alice" / "answer.txt").read_text() == "written by the kernel"
    assert not Path("/tmp", marker).exists()


@needs_sandbox
def test_scratch_folder_with_a_name_that_is_not_utf8(start, tmp_path):
    scratch = tmp_path / os.fsdecode(b"caf\xe9 (1)")  # what unzip leaves from a Windows zip
    scratch.mkdir()
    kernel = start(scratch)
    assert kernel.result("print(json.dumps([write('answer.txt'), os.fsencode(os.getcwd())"
                         "[-8:].decode('latin-1')]))") == ["ok", "caf\xe9 (1)"]
    assert (scratch / "answer.txt").read_text() == "written by the kernel"


@needs_sandbox
def test_private_tmp_is_size_capped(boxed):
    code = ("print(json.dumps(attempt(lambda: open('/tmp/big', 'wb').write(b'x' * (300 << 20)))))")
    assert boxed.result(code) == "ENOSPC"
    boxed.run("os.remove('/tmp/big')")


@needs_sandbox
def test_root_and_dev_are_read_only(boxed):
    code = "print(json.dumps([write('/planted'), write('/dev/planted'), write('/dev/null')]))"
    assert boxed.result(code) == ["EROFS", "EROFS", "ok"]


@needs_sandbox
def test_course_stack_runs_without_a_word_on_stderr(start, tmp_path):
    """torch, matplotlib (fonts; its font list built once outside and copied in, not rebuilt)
    and Graphviz (fontconfig, the dot program) work as outside, with nothing on stderr."""
    cache = tmp_path / "cache"
    (tmp_path / "scratch").mkdir()
    boxed = start(tmp_path / "scratch", env={"XDG_CACHE_HOME": str(cache)})
    assert [p.name for p in (cache / "matplotlib").glob("fontlist-*.json")]
    code = ("import io, logging\nlogged = []\nwatch = logging.Handler()\n"
            "watch.emit = lambda record: logged.append(record.getMessage())\n"
            "logging.getLogger('matplotlib.font_manager').addHandler(watch)\n"
            "logging.getLogger('matplotlib.font_manager').setLevel(logging.INFO)\n"
            "import torch, graphviz, matplotlib\nmatplotlib.use('agg')\n"
            "import matplotlib.pyplot as plt\ntorch.manual_seed(0)\n"
            "layer = torch.nn.Linear(3, 2)\nfig = plt.figure()\nplt.plot([1, 2])\n"
            "plt.title('loss')\nfig.savefig(io.BytesIO(), format='png')\n"
            "svg = graphviz.Digraph(graph_attr={'label': 'net'}).pipe(format='svg')\n"
            "print(json.dumps([list(layer(torch.ones(3)).shape), b'<svg' in svg, "
            "os.listdir(os.environ['MPLCONFIGDIR']), logged]))")
    out = boxed.run(code)
    assert out["error"] is None and out["stderr"] == ""
    shape, drawn, inside, logged = json.loads(out["stdout"].strip().splitlines()[-1])
    assert shape == [2] and drawn
    assert not any("generated new fontManager" in line for line in logged), logged
    assert inside == [p.name for p in (cache / "matplotlib").glob("fontlist-*.json")]


# ---------------------------------------------------------------- processes, network, secrets

@needs_sandbox
def test_grader_processes_are_invisible(boxed, mode):
    code = ("print(json.dumps([open(f'/proc/{p}/cmdline').read().replace(chr(0), ' ') "
            "for p in os.listdir('/proc') if p.isdigit()]))")
    visible = boxed.result(code)
    if mode == "cold":
        assert any(c.startswith("bwrap --args ") for c in visible)  # pid 1, no layout shown
        assert any("ipykernel_launcher" in c for c in visible)
    else:   # its init and itself, both forks of the warm parent (whose command line they keep)
        assert len(visible) == 2 and all("launcher.fork_server" in c for c in visible)
    assert not any("pytest" in c or "course_utils.grade.launcher.sandbox" in c for c in visible)


@needs_sandbox
def test_no_connection_to_a_server_outside(boxed, unboxed):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code = (f"print(json.dumps(attempt(lambda: socket.create_connection("
                f"('127.0.0.1', {port}), timeout=5).close())))")
        assert boxed.result(code) == "ECONNREFUSED"
        assert unboxed.result(code) == "ok"


@needs_sandbox
def test_no_capabilities_and_no_new_user_namespace(boxed):
    code = ("caps = [l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')]; "
            "r = subprocess.run(['unshare', '--user', 'true'], capture_output=True); "
            "print(json.dumps([caps[0], r.returncode != 0]))")
    assert boxed.result(code) == ["0000000000000000", True]


def _processes_with(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                found.append(int(pid))
        except OSError:
            continue
    return found


ENDINGS = {  # how the kernel manager ends a kernel; "launcher SIGKILLed" skips its SIGTERM
    "shut down": lambda kernel: kernel.stop(now=False),
    "killed": lambda kernel: kernel.stop(now=True),
    "launcher SIGKILLed": lambda kernel: os.kill(kernel.manager.provisioner.process.pid, 9),
}


@pytest.mark.parametrize("ending, sandbox_on", [
    ("shut down", True), ("killed", True), ("launcher SIGKILLed", True),
    ("shut down", False), ("killed", False)])  # without a sandbox, SIGKILL leaves them
def test_processes_the_kernel_started_end_with_it(start, tmp_path, ending, sandbox_on):
    skip_without_sandbox(sandbox_on)
    kernel = start(tmp_path, sandbox_on=sandbox_on)
    marker = f"left-behind-{uuid.uuid4().hex}"
    sleeper = f"[sys.executable, '-c', 'import time; time.sleep(1000)', '{marker}']"
    daemon = ("import os, subprocess, sys, time\nif os.fork() == 0:\n    os.setsid()\n"
              f"    subprocess.Popen({sleeper})\n    time.sleep(1000)\n")
    kernel.run(f"subprocess.Popen({sleeper}, start_new_session=True)\n"
               f"subprocess.Popen([sys.executable, '-c', {daemon!r}, '{marker}'])")
    deadline = time.monotonic() + 20
    while len(_processes_with(marker)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_processes_with(marker)) >= 3  # a sleeper, a daemon and the daemon's sleeper
    ENDINGS[ending](kernel)
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with(marker) == []


@pytest.mark.parametrize("sandbox_on", [True, False], ids=["sandbox", "no-sandbox"])
def test_launcher_exits_with_the_kernels_status(start, tmp_path, sandbox_on):
    skip_without_sandbox(sandbox_on)
    kernel = start(tmp_path, sandbox_on=sandbox_on)
    kernel.client.execute("os._exit(7)")
    assert kernel.manager.provisioner.process.wait(timeout=30) == 7


# ---------------------------------------------------------------- memory

@pytest.mark.parametrize("sandbox_on", [True, False], ids=["sandbox", "no-sandbox"])
def test_reserved_address_space_is_not_capped(start, tmp_path, sandbox_on):
    skip_without_sandbox(sandbox_on)
    kernel = start(tmp_path, memory_mb=400, sandbox_on=sandbox_on, marker_dir=tmp_path)
    code = ("import mmap, time\nreserved = mmap.mmap(-1, 8 << 30, flags=mmap.MAP_PRIVATE)\n"
            "reserved[:1 << 20] = b'x' * (1 << 20)\ntime.sleep(0.5)\n"
            "print(json.dumps(len(reserved) >> 30))")
    assert kernel.result(code) == 8
    assert kernel.manager.is_alive()
    assert list(tmp_path.glob("*.oom")) == []


@pytest.mark.parametrize("where", ["kernel", "child in a new session", "no-sandbox"])
def test_touching_more_than_the_cap_kills_the_tree_and_leaves_a_marker(start, tmp_path, where):
    skip_without_sandbox(where != "no-sandbox")
    markers = tmp_path / "markers"
    kernel = start(tmp_path, memory_mb=400, sandbox_on=where != "no-sandbox",
                   marker_dir=markers)
    grow = ("import time\nheld = []\nfor _ in range(40):\n"  # 2 GB in 4 s, then wait
            "    held.append(b'x' * (50 << 20))\n    time.sleep(0.1)\ntime.sleep(60)\n")
    if where == "child in a new session":
        code = f"subprocess.Popen([sys.executable, '-c', {grow!r}], start_new_session=True)"
    else:
        code = grow
    kernel.client.execute(code)
    deadline = time.monotonic() + 30
    while kernel.manager.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not kernel.manager.is_alive()
    marker = sandbox.oom_marker(markers, kernel.manager.connection_file)
    assert [p.name for p in markers.iterdir()] == [marker.name]
    assert 400 < int(marker.read_text()) < 1500  # stopped at the cap, long before 2 GB
    assert kernel.manager.provisioner.process.wait(timeout=10) == 128 + 9  # SIGKILL


# ---------------------------------------------------------------- interrupts, sockets

@needs_sandbox
def test_a_sleeping_cell_is_interrupted(start, tmp_path):
    kernel = start(tmp_path)
    assert kernel.manager.kernel_spec.interrupt_mode == "message"
    # stop_on_error=False: else the kernel may abort the next request, sent right after
    msg_id = kernel.client.execute("import time; time.sleep(100)", stop_on_error=False)
    time.sleep(1)
    began = time.monotonic()
    kernel.manager.interrupt_kernel()
    reply = kernel.client.get_shell_msg(timeout=20)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert time.monotonic() - began < 10
    assert kernel.result("print(json.dumps(6 * 7))") == 42


@needs_sandbox
def test_each_kernel_has_its_own_socket_folder_removed_at_shutdown(start, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = start(tmp_path / "a"), start(tmp_path / "b")
    folders = [first.manager.socket_dir, second.manager.socket_dir]
    assert folders[0] != folders[1]
    assert all(any(p.is_socket() for p in folder.iterdir()) for folder in folders)
    first.stop()
    second.stop(now=False)
    assert not any(folder.exists() for folder in folders)


# ---------------------------------------------------------------- without a kernel

def test_socket_folder_too_deep_for_unix_sockets_is_refused(monkeypatch, tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    monkeypatch.setenv("COURSE_GRADING_SOCKET_BASE", str(deep))
    with pytest.raises(ValueError, match="over the Unix limit of 107: set "
                                         "COURSE_GRADING_SOCKET_BASE to a shorter folder"):
        SandboxKernelManager(kernel_name="python3")
    assert list(deep.iterdir()) == []  # the folder it made is gone again


def test_kernelspec_runs_the_launcher_with_message_interrupts(tmp_path):
    spec = sandbox.kernelspec(3072, tmp_path, hide=["/a", "/b"])
    assert spec["argv"] == [sys.executable, "-I", "-m", "course_utils.grade.launcher.sandbox", "--memory-mb",
                            "3072", "--marker-dir", str(tmp_path), "--hide", "/a", "--hide",
                            "/b", "{connection_file}"]
    assert spec["interrupt_mode"] == "message"
    assert spec["display_name"] == "Course grading (sandbox)"
    assert "--no-sandbox" in sandbox.kernelspec(3072, tmp_path, sandbox=False)["argv"]


def test_problem_names_what_to_install(monkeypatch):
    check = sandbox.problem.__wrapped__
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    assert check() == "bubblewrap is not installed: apt-get install bubblewrap"
    monkeypatch.setattr(sandbox.platform, "system", lambda: "Darwin")
    assert check().startswith("not Linux")


def test_problem_names_the_setting_that_forbids_user_namespaces(monkeypatch, tmp_path):
    check = sandbox.problem.__wrapped__
    refused = sandbox.subprocess.CompletedProcess(
        [], 1, "", "bwrap: No permissions to creating new namespace\n")
    monkeypatch.setattr(sandbox.subprocess, "run", lambda *a, **k: refused)
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: "/usr/bin/bwrap")
    monkeypatch.setattr(sandbox, "PROC_SYS", str(tmp_path))
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "max_user_namespaces").write_text("15000\n")
    assert check().startswith("bubblewrap cannot create a sandbox here (bwrap: No permissions")
    (tmp_path / "user" / "max_user_namespaces").write_text("0\n")
    assert check() == ("user namespaces are disabled: sysctl user.max_user_namespaces is 0; "
                       "allow them with sudo sysctl -w user.max_user_namespaces=10000, or grade "
                       "with --no-sandbox (bwrap said: bwrap: No permissions to creating new "
                       "namespace)")


def test_problem_names_an_old_bubblewrap(monkeypatch):
    def run(command, **_):
        if command == ["bwrap", "--version"]:
            return sandbox.subprocess.CompletedProcess(command, 0, "bubblewrap 0.6.1\n", "")
        return sandbox.subprocess.CompletedProcess(
            command, 1, "", "bwrap: Unknown option --disable-userns\n")

    monkeypatch.setattr(sandbox.subprocess, "run", run)
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: "/usr/bin/bwrap")
    assert sandbox.problem.__wrapped__() == (
        "bubblewrap 0.6.1 is too old (bwrap: Unknown option --disable-userns); the sandbox "
        "needs bubblewrap 0.8 or later")


def test_bwrap_command_binds_only_the_whitelist(tmp_path):
    connection = tmp_path / "sockets" / "kernel-1.json"
    command = sandbox_layout.bwrap_command(["python"], str(tmp_path / "scratch"),
                                           str(connection), hide=[REPO / "course_utils" / "grade"])
    pairs = {(command[i], command[i + 1]) for i in range(len(command) - 1)}
    assert ("--ro-bind", "/etc/passwd") in pairs and ("--ro-bind", "/etc") not in pairs
    assert ("--ro-bind", str(REPO / "course_utils")) in pairs
    assert ("--ro-bind", str(REPO)) not in pairs
    assert ("--tmpfs", str(REPO / "course_utils" / "grade")) in pairs
    assert ("--bind", str(tmp_path / "scratch")) in pairs
    assert ("--bind", str(tmp_path / "sockets")) in pairs
    assert command[command.index("--") + 1:] == ["python"]


@pytest.mark.parametrize(("peak", "reported"), [(400.3, 401), (400.0, 400), (1.0, 1), (0.0, 0)])
def test_the_peak_is_rounded_up_so_a_kill_never_reads_at_or_under_the_cap(peak, reported):
    watch = memory_watch.MemoryWatch(root=os.getpid(), limit_mb=400)
    watch.peak = int(peak * memory_watch.MB)
    assert watch.peak_mb == reported


def test_a_package_without_bytecode_is_found_without_importing_it(tmp_path, monkeypatch):
    """The grading command warns when torch has no bytecode: read-only in the sandbox, every
    kernel would compile it again."""
    import importlib
    import py_compile

    package = tmp_path / "course_probe_uncompiled"
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    assert sandbox.uncompiled("course_probe_uncompiled") == str(package / "__init__.py")
    py_compile.compile(str(package / "__init__.py"), doraise=True)
    assert sandbox.uncompiled("course_probe_uncompiled") is None
    assert sandbox.uncompiled("course_probe_nowhere") is None   # not installed: nothing to say
    assert "course_probe_uncompiled" not in sys.modules
