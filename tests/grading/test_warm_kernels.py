"""Warm kernels (``launcher.warm``, ``launcher.fork_server``, ``launcher.child``): what holds for
them beyond the sandbox properties that ``test_sandbox.py`` proves in both modes.

The parent is one thread when it forks; a warm start costs a small fraction of a cold one;
two warm kernels of the same parent see neither each other nor the parent; where the parent
cannot start, kernels start cold and the log says so once; the fault students grade the same
in both modes (``test_grading`` grades them with the default kernels, this file with the
other ones).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

import faults
from course_utils.grade import contract
from course_utils.grade.launcher import fork_server, memory_watch, sandbox, warm
from test_grading import FIXTURE_ENV, MODES, ROOT, course_run, grade, lesson90, rows  # noqa: F401

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sandbox.problem() is not None and not os.environ.get("COURSE_REQUIRE_SANDBOX"),
                                 reason=f"no sandbox here: {sandbox.problem()}")]
KERNEL = "course_utils.grade.kernel_side.kernel"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@pytest.fixture(scope="module")
def parent():
    started = warm.WarmParent(hide=[], tmp_mb=64)
    yield started
    started.close()


class Started:
    def __init__(self, process, client, scratch):
        self.process, self.client, self.scratch = process, client, scratch

    def result(self, code: str):
        out = []
        self.client.execute_interactive(
            code, timeout=60, output_hook=lambda m: out.append(m["content"].get("text", ""))
            if m["msg_type"] == "stream" else None)
        return json.loads("".join(out).strip().splitlines()[-1])


def start(parent, root: Path, name: str, kernel=KERNEL) -> Started:
    scratch = root / name
    scratch.mkdir(parents=True)
    sockets = Path(os.path.realpath(root)) / f"s-{name}"
    sockets.mkdir()
    kernel_id = str(uuid.uuid4())
    connection = str(sockets / f"kernel-{kernel_id}.json")
    write_connection_file(connection, transport="ipc", ip=str(sockets / "s"))
    process = parent.start_kernel(kernel_id, connection, os.path.realpath(scratch), 1024, 64,
                                  kernel, root / f"{kernel_id}.oom")
    client = BlockingKernelClient(connection_file=connection)
    client.load_connection_file()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return Started(process, client, scratch)


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / CLOCK_TICKS


def test_the_parent_forks_only_as_a_single_thread(parent):
    assert parent.ready["tasks"] == 1 and parent.ready["threads"] == 1
    # the same check refuses a process with a second thread (Python's or native)
    code = ("import threading, time; from course_utils.grade.launcher import fork_server as f; "
            "threading.Thread(target=time.sleep, args=(5,), daemon=True).start(); "
            "print(f.fork_safety())")
    said = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert said.stdout.strip() == "2 Python threads", said.stderr
    assert fork_server.fork_safety() != "" or fork_server.tasks() == 1


def test_a_warm_start_costs_a_small_fraction_of_a_cold_one(parent, tmp_path):
    """Processor time of everything a warm start runs, on the grader's side, in the parent and
    in the new kernel's processes, until the kernel answers: far below the ~1.6 s of a cold
    kernel (``benchmarks.warm_kernels`` reports the figure)."""
    parent_pid = memory_watch.descendants(parent.process.pid)
    before_parent = sum(_cpu_seconds(p) for p in parent_pid)
    mine = time.process_time()
    kernel = start(parent, tmp_path, "alice")
    spent_here = time.process_time() - mine
    kernel_pids = memory_watch.descendants(kernel.process.pid) + [kernel.process.pid]
    spent_kernel = sum(_cpu_seconds(p) for p in kernel_pids)
    spent_parent = sum(_cpu_seconds(p) for p in parent_pid) - before_parent
    assert kernel.result("import torch, json; print(json.dumps(torch.ones(2).sum().item()))") == 2.0
    total = spent_here + spent_kernel + spent_parent
    assert total < 0.6, (spent_here, spent_kernel, spent_parent)


def test_two_warm_kernels_see_neither_each_other_nor_the_parent(parent, tmp_path):
    alice, bob = start(parent, tmp_path, "alice"), start(parent, tmp_path, "bob")
    alice.result("import json, os; open('answer.txt', 'w').write('42'); print(json.dumps(1))")
    seen = bob.result(
        "import json, os\n"
        "print(json.dumps({'siblings': os.listdir(os.path.dirname(os.getcwd())),\n"
        "  'processes': sorted(p for p in os.listdir('/proc') if p.isdigit()),\n"
        "  'root': sorted(os.listdir('/')),\n"
        "  'fds': sorted(int(f) for f in os.listdir('/proc/self/fd')),\n"
        "  'caps': [l.split()[1] for l in open('/proc/self/status') if l.startswith('Cap')]}))")
    assert sorted(seen["siblings"]) == ["bob", "s-bob"]   # its own folders; not alice's
    assert seen["processes"] == ["1", "2"]        # its init and itself: no parent, no sibling
    assert not {".host", ".host-proc", ".kernel-root"} & set(seen["root"])
    assert seen["caps"] == ["0000000000000000"] * 5
    # the control socket (the parent's --control-fd) is open in the parent alone: every
    # forked child closed it before anything else
    server, *forks = [pid for pid in memory_watch.descendants(parent.process.pid)
                      if b"launcher.fork_server" in Path(f"/proc/{pid}/cmdline").read_bytes()
                      and Path(f"/proc/{pid}/comm").read_text().strip() != "bwrap"]
    control = os.readlink(f"/proc/{server}/fd/{parent.control_fd}")
    assert control.startswith("socket:") and len(forks) >= 6   # 2 kernels, their inits, children
    for pid in forks:
        assert control not in {os.readlink(f"/proc/{pid}/fd/{f}") for f in os.listdir(f"/proc/{pid}/fd")}
    assert (tmp_path / "alice" / "answer.txt").read_text() == "42"


KEYS = """
import ctypes, json
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
ADD_KEY, KEYCTL, SEARCH = {calls}
def write(ring, name):   # add_key("user", name, "1", ring): the key's serial
    return libc.syscall(ADD_KEY, b"user", name.encode(), b"1", 1, ctypes.c_int(ring))
def find(ring, name):    # keyctl(SEARCH, ring, "user", name): the serial found, else None
    key = libc.syscall(KEYCTL, SEARCH, ctypes.c_int(ring), b"user", name.encode(), 0)
    return key if key > 0 else None
"""
RINGS = {"session": -3, "user": -4, "user session": -5}


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="keyring system call numbers of x86_64")
def test_two_warm_kernels_share_no_keyring(parent, tmp_path):
    """Keyrings are not namespaced like files: a kernel's user and user-session keyrings are
    those of its user namespace and its UID, and the session keyring is inherited across a
    fork. Each warm kernel makes its own user namespace and joins a new session keyring, so
    a note one kernel leaves in any of them is not there for the next (as for cold kernels)."""
    code = KEYS.format(calls=(248, 250, 10))
    names = {ring: f"note-{name.replace(' ', '-')}-{uuid.uuid4().hex[:8]}" for name, ring in RINGS.items()}
    alice, bob = start(parent, tmp_path, "alice"), start(parent, tmp_path, "bob")
    wrote = alice.result(code + f"print(json.dumps([[write(r, n), find(r, n)] for r, n in {list(names.items())}]))")
    assert all(key > 0 and found == key for key, found in wrote), wrote   # there for alice
    assert bob.result(code + f"print(json.dumps([find(r, n) for r, n in {list(names.items())}]))") == [None] * len(RINGS)
    for kernel in (alice, bob):
        kernel.process.kill()


def test_a_killed_kernel_ends_and_its_exit_is_reported(parent, tmp_path):
    kernel = start(parent, tmp_path, "carol")
    assert kernel.process.poll() is None
    kernel.process.kill()
    assert kernel.process.wait(timeout=10) == 128 + 9


def test_where_the_parent_cannot_start_kernels_start_cold_and_it_is_said_once(tmp_path):
    code = f"""
import json, os, sys
from jupyter_client.kernelspec import KernelSpecManager
from course_utils.grade.launcher import sandbox
from course_utils.grade.pytest_side.sandbox_manager import SandboxKernelManager
specs = {str(tmp_path)!r} + "/kernels"
os.makedirs(specs + "/g")
spec = sandbox.kernelspec(1024, {str(tmp_path)!r}, warm=True)
open(specs + "/g/kernel.json", "w").write(json.dumps(spec))
os.environ["PATH"] = "/nowhere:" + os.environ["PATH"]   # the parent's bwrap is not found...
import shutil
real = shutil.which("bwrap", path="/usr/bin:/bin")
import subprocess
original = subprocess.Popen.__init__
def no_parent(self, args, *a, **k):
    if "course_utils.grade.launcher.fork_server" in args:
        raise OSError("bwrap refused")
    original(self, args, *a, **k)
subprocess.Popen.__init__ = no_parent
warm_flags = []
for n in range(2):
    m = SandboxKernelManager(kernel_name="g", kernel_spec_manager=KernelSpecManager(kernel_dirs=[specs]))
    m.start_kernel(cwd={str(tmp_path)!r})
    c = m.client(); c.start_channels(); c.wait_for_ready(timeout=60)
    warm_flags.append(m.provisioner.warm)
    c.stop_channels(); m.shutdown_kernel(now=True)
print(json.dumps(warm_flags))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [False, False], done.stderr[-2000:]
    said = [line for line in done.stderr.splitlines() if "warm kernels unavailable" in line]
    assert len(said) == 1 and "bwrap refused" in said[0], done.stderr[-2000:]


def test_a_machine_that_refuses_a_kernel_s_namespaces_gets_cold_kernels(monkeypatch):
    """The parent tries a kernel's namespace steps once as it starts (``child.trial``): here
    its own sandbox forbids user namespaces (as an AppArmor policy may), so it refuses to
    serve, and the grader starts kernels cold, instead of kernels that die as they start."""
    command = warm.parent_command
    monkeypatch.setattr(warm, "parent_command",
                        lambda *a: (lambda o, p: (o + ["--disable-userns"], p))(*command(*a)))
    with pytest.raises(warm.Unavailable, match="namespaces cannot be made here.*unshare"):
        warm.WarmParent(hide=[], tmp_mb=64)


# test_grading grades the fault students with the default kernels; here, with the others
OTHER_KERNELS = "cold" if contract.WARM.default else "warm"


@pytest.fixture(scope="module", params=sorted(MODES))
def other_fault_run(tmp_path_factory, request):
    root = tmp_path_factory.mktemp(f"{OTHER_KERNELS}-faults")
    submissions = faults.build(root / "submissions")
    # 15 s per cell: the memory hog filled its 1024 MB in more than 5 s once, in a fresh-clone CI run
    # beside another grading run of these faults, and was told it timed out
    summary = grade(submissions, root / "out", faults.RELEASE, "--timeout", "15",
                    *MODES[request.param], "--memory-mb", "1024",
                    env={**FIXTURE_ENV, contract.WARM_ENV: "1" if OTHER_KERNELS == "warm" else "0"})
    log = (root / "out" / "pytest.log").read_text()
    assert "warm kernels unavailable" not in log, log[-2000:]
    return root / "out", summary


@pytest.mark.parametrize("student", sorted(faults.NOTEBOOK_FAULTS))
def test_each_fault_student_grades_the_same_with_cold_and_warm_kernels(other_fault_run, student):
    out, _summary = other_fault_run
    _change, expected, note = faults.NOTEBOOK_FAULTS[student]
    row = rows(out)[student]
    assert lesson90(row) == {f"lesson90.{q}": p for q, p in expected.items()}, row
    assert note in "; ".join(row["notes"]), row["notes"]
    if not note:
        assert row["notes"] == []


@pytest.fixture(scope="module")
def other_course_run(tmp_path_factory, course_run):
    """The whole course as ``course_run`` grades it (every solution, every untouched exercise),
    graded with the other kernels."""
    root = tmp_path_factory.mktemp(f"{OTHER_KERNELS}-course")
    shutil.copytree(course_run.parent / "submissions", root / "submissions")
    grade(root / "submissions", root / "out", ROOT / "exercises", "--workers", "2",
          env={contract.WARM_ENV: "1" if OTHER_KERNELS == "warm" else "0"})
    return root / "out"


def test_the_whole_course_grades_the_same_with_cold_and_warm_kernels(course_run, other_course_run):
    """Verdicts, messages and notes of every exercise of every lesson, and every feedback
    file: a warm kernel is the kernel a cold start would have given."""
    assert rows(other_course_run) == rows(course_run)
    assert rows(course_run)["solutions"]["total"] > 0
    mine, other = course_run / "feedback", other_course_run / "feedback"
    assert sorted(p.name for p in mine.iterdir()) == sorted(p.name for p in other.iterdir())
    for path in mine.iterdir():
        assert (other / path.name).read_text() == path.read_text(), path.name


def test_only_a_sandboxed_kernelspec_is_marked_warm(tmp_path):
    assert sandbox.kernelspec(1024, tmp_path, warm=True)["metadata"] == {sandbox.WARM_KEY: {"warm": True}}
    assert sandbox.kernelspec(1024, tmp_path, warm=True, sandbox=False)["metadata"] == {}
    assert sandbox.kernelspec(1024, tmp_path)["metadata"] == {}


def test_the_child_rebinds_the_parent_s_layout_without_its_nested_parts():
    options = ["--symlink", "usr/lib", "/lib", "--ro-bind", "/usr", "/usr",
               "--ro-bind", "/usr/local", "/usr/local", "--ro-bind", "/venv", "/venv",
               "--tmpfs", "/venv/solutions", "--ro-bind", "/dev/null", "/venv/key.py",
               "--ro-bind", "/venvs", "/venvs"]
    plan = warm.plan_of(options)
    assert plan["binds"] == ["/usr", "/venv", "/venvs"]   # nested ones come along, hidden ones too
    assert plan["symlinks"] == [["usr/lib", "/lib"]]


def test_the_parent_keeps_capabilities_only_for_itself_and_a_fresh_root_for_the_kernels():
    options, plan = warm.parent_command([], 64, {})
    assert "--cap-drop" not in options and options[options.index("--cap-add") + 1] == "ALL"
    assert "--unshare-all" in options
    # each kernel makes its own user namespace and forbids any below it (as --disable-userns
    # does for a cold kernel: test_sandbox's test_no_capabilities_and_no_new_user_namespace)
    assert "--disable-userns" not in options
    assert options[options.index("--dir") + 1:].count(warm.NEW_ROOT) == 1
    # the grader's view and the machine's /proc are the parent's, under names no kernel root has
    assert options[options.index(warm.HOST_ROOT) - 2:options.index(warm.HOST_ROOT) + 1] == ["--bind", "/", warm.HOST_ROOT]
    assert warm.HOST_ROOT not in plan["binds"] and "/" not in plan["binds"]


def test_a_parent_started_early_serves_only_kernels_that_hide_what_it_hides(monkeypatch, tmp_path):
    """``start_early`` returns before the parent is ready (its imports overlap the grader's);
    the first kernel then waits for that same parent. Started for other hidden paths (the
    solutions ``judge.announce`` names later), it is closed unused and a parent with the
    right layout starts instead."""
    monkeypatch.setattr(warm, "_parents", {})
    monkeypatch.setattr(warm, "_refused", [])
    hidden = tmp_path / "solutions"
    hidden.mkdir()
    warm.start_early([str(hidden)], 64)
    (early,) = warm._parents.values()
    assert early.ready == {}   # still importing: nobody waited for it
    assert warm.parent_for([str(hidden)], 64) is early and early.ready["tasks"] == 1
    kernel = start(early, tmp_path, "dora")
    assert kernel.result("import json, os; print(json.dumps(os.path.exists(%r)))" % str(hidden)) is False
    assert early.kernels_started == 1
    warm.start_early([], 64)   # another layout, never used ...
    unused = warm._parents[next(k for k in warm._parents if not k[0])]
    other = tmp_path / "other"
    other.mkdir()
    third = warm.parent_for([str(other)], 64)   # ... is closed once a third one is asked for
    assert third not in (early, unused) and unused.process.poll() is not None
    assert early.process.poll() is None   # a parent that served a kernel is kept
    kernel.process.kill()
    for parent in (early, third):
        parent.close()
