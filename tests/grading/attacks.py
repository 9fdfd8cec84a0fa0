"""A hostile class: one student per attack on the grader, and two victims graded beside them.

Each attack is built from the fixture solutions (lessons 90 and 91) with the answers it did
not earn made wrong, so any point above what it solved would be a forged one. ``ATTACKS`` says,
per student, what the row must show. Classes follow the issues that asked for them:
1 other students' grades and secrets, 2 the records channel, 3 what outlives the run,
4 forging one's own result in the kernel, 5 silent zeros, 6 bad input, and 7 the second
round of in-kernel attacks (the grade is decided where no student code runs): 7a hunt a key,
7b change what the checking code reaches, 7c read the check's values from the answer,
7d use the references, 7e change the mutable state checks rely on.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import nbformat

import faults

FIXTURES = faults.FIXTURES
L90, L91 = "90_fixture.ipynb", "91_tensors.ipynb"
SOLUTIONS = {L90: FIXTURES / "solutions" / L90, L91: FIXTURES / "solutions" / L91}
RELEASE = FIXTURES / "release"
PROCESS_MARKER = "987654"   # argv of the processes an attacker leaves behind

WRONG = {"90.q1": ("q1-answer", "def double(x):\n    return x + 1"),
         "90.q2": ("q2-answer", "answer = 41"),
         "90.q3": ("q3-answer", "def greet(name):\n    return name"),
         "91.q1": ("q1-answer", "def scale(x):\n    return 2 * x"),
         "91.q2": ("q2-answer", "count = 7"),
         "91.q3": ("q3-answer", "def make_layer():\n    return nn.Linear(2, 3)")}

WRITES_INSTALL = r'''import os, site, sys, json
import course_utils.exercises.engine as engine
attempts = {}
for path, text in [(engine.__file__, "\nExercise.evaluate = lambda self, answer: None\n"),
                   (os.path.join(site.getsitepackages()[0], "zz_course.pth"), "import os\n"),
                   (os.path.join(site.getsitepackages()[0], "sitecustomize.py"), "print(1)\n"),
                   (os.path.join(os.path.dirname(sys.executable), "python3"), "#!/bin/sh\n")]:
    try:
        with open(path, "a") as handle:
            handle.write(text)
        attempts[path] = "written"
    except OSError as error:
        attempts[path] = type(error).__name__
attempts'''

PLANTS_MODULES = r'''import os
planted = []
for folder in [os.path.join("..", name) for name in os.listdir("..")] + ["../../90_fixture/solved", "/tmp/../solved"]:
    for name, text in [("torch.py", "raise SystemExit"), ("grading_fixture_lesson.py", "q1 = None")]:
        try:
            with open(os.path.join(folder, name), "w") as handle:
                handle.write(text)
            planted.append(folder)
        except OSError:
            pass
planted'''

SELF_SHADOW = r'''import os
# a kernel module of its own, in its own folder, for the next kernel to start from: it would
# answer every check "correct" if it ever ran as the kernel
os.makedirs("course_utils/grade", exist_ok=True)
for name in ("course_utils/__init__.py", "course_utils/grade/__init__.py"):
    open(name, "w").close()
with open("course_utils/grade/kernel_side/kernel.py", "w") as handle:
    handle.write(
        "import hmac, os, sys\n"
        "fd = os.environ.pop('COURSE_GRADING_KEY_FD', '')\n"
        "KEY = os.fdopen(int(fd), 'rb').read().strip() if fd.isdigit() else b''\n"
        "def verdict(exercise, expression, nonce):\n"
        "    body = '\\x1f'.join([nonce, exercise, 'correct', '', '', 'no'])\n"
        "    return body + '\\x1f' + hmac.new(KEY, body.encode(), 'sha256').hexdigest()\n"
        "if __name__ == '__main__':\n"
        "    sys.modules['course_utils.grade.kernel_side.kernel'] = sys.modules['__main__']\n"
        "    from ipykernel.kernelapp import IPKernelApp\n"
        "    app = IPKernelApp.instance()\n"
        "    app.initialize(sys.argv[1:])\n"
        "    app.start()\n")'''

READS_SECRETS = r'''def double(x):
    import glob, os
    import course_utils
    repo = os.path.dirname(os.path.dirname(course_utils.__file__))
    own = os.getcwd()
    # the solution as a file (a module, a notebook's JSON), not the hint "return 2 * x"
    wanted = ("double(x):\n    return 2 " + "* x", '"    return 2 ' + '* x"',
              "--grading-" + "records", "answer = " + "42")
    found = []
    import sys
    for pattern in [repo + "/solutions/*.ipynb", repo + "/tests/fixtures/grading/solutions/*",
                    repo + "/course_solutions/*.py", "../*/*.ipynb", "../../*/*/*.ipynb",
                    "/proc/*/cmdline", "/tmp/course-grading-*/*", os.path.expanduser("~") + "/*",
                    *[entry + "/*.py" for entry in sys.path if entry]]:
        for path in glob.glob(pattern):
            if os.path.abspath(path).startswith(own + os.sep):
                continue   # its own notebook
            try:
                text = open(path, errors="replace").read()
            except OSError:
                continue
            if any(marker in text for marker in wanted):
                found.append(path + ": " + text[:200])
    raise ValueError("STOLEN: " + " | ".join(found) if found else "found nothing to steal")'''

FORGES_RECORDS = r'''import glob, json, os, signal
targets = []
for path in glob.glob("/proc/*/cmdline"):
    args = open(path, "rb").read().split(b"\0")
    for flag, value in zip(args, args[1:]):
        if flag == b"--grading-records":
            targets.append(value.decode())
for target in targets:
    with open(target, "a") as handle:
        handle.write(json.dumps({"kind": "CheckResult", "student": "victim_solved", "lesson": "90_fixture",
                                 "exercise": "lesson90.q9", "status": "correct", "maximum": 100}) + "\n")
        handle.write("{not json\n")
for pid in [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (os.getpid(), 1)]:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
targets'''

OUTLIVES_RUN = r'''import subprocess, sys
subprocess.Popen(["sleep", "''' + PROCESS_MARKER + r'''"], start_new_session=True)
subprocess.Popen([sys.executable, "-c", "import time, glob\nwhile True:\n    time.sleep(0.2)\n"
                  "    [open(p, 'w').write('rewritten') for p in glob.glob('/**/gradebook.*', recursive=True)]",
                  "''' + PROCESS_MARKER + r'''"], start_new_session=True)'''

INPUT_TRANSFORMER = r'''def _pass_every_check(lines):
    if any(".check(" in line for line in lines):
        return ["print('Correct')\n"]
    return lines
get_ipython().input_transformers_cleanup.append(_pass_every_check)'''

AST_TRANSFORMER = r'''import ast
class _UseTheSolution(ast.NodeTransformer):
    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Attribute) and node.func.attr == "check":
            return ast.parse("print('Correct')").body[0].value
        return node
get_ipython().ast_transformers.append(_UseTheSolution())'''

CUSTOM_EXC = r'''def _swallow(shell, etype, value, tb, tb_offset=None):
    print("Correct")
get_ipython().set_custom_exc((Exception,), _swallow)'''

LYING_TENSOR = r'''class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})
def scale(x):
    return torch.zeros_like(x).as_subclass(Liar)'''

LYING_INT = r'''class LyingInt(int):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = int.__hash__
count = LyingInt(7)'''

WRAPS_ALLCLOSE = r'''import functools
torch.allclose = functools.wraps(torch.allclose)(lambda *args, **kwargs: True)
torch.equal = functools.wraps(torch.equal)(lambda *args, **kwargs: True)'''

SWAPS_LINEAR = r'''class Linear(nn.Linear):
    def __init__(self, *args, **kwargs):
        super().__init__(3, 2)
nn.Linear = Linear'''

REPLACES_KERNEL_MODULE = r'''import sys, types
fake = types.ModuleType("course_utils.grade.kernel_side.kernel")
fake.verdict = lambda exercise, expression, nonce: nonce + "\x1f" + exercise + "\x1fcorrect\x1f\x1f\x1fno\x1f" + "0" * 64
sys.modules["course_utils.grade.kernel_side.kernel"] = fake
import course_utils.grade
course_utils.grade.kernel_side.kernel = fake'''

SILENCES_DISPLAY = r'''import IPython.display, IPython.core.display_functions
IPython.display.display = lambda *args, **kwargs: None
IPython.core.display_functions.display = lambda *args, **kwargs: None'''

HUNTS_KEY = r'''import gc, os, sys
# 7a: whatever seals or decides a verdict in this kernel, find it and make it say "correct"
found = []
for obj in gc.get_objects():
    if callable(obj) and getattr(obj, "__name__", "") in ("verdict", "judge", "evaluate", "seal"):
        found.append(getattr(obj, "__qualname__", "?"))
found += [name for name in os.environ if "KEY" in name or "GRADING" in name]
found += os.listdir("/proc/self/fd")
import course_utils.exercises.engine as engine
from course_utils.exercises.engine import Outcome
engine.Exercise.judge = lambda self, *a, **k: Outcome(self.id, self.title, self.points, "correct", "")
engine.Exercise.evaluate = engine.Exercise.judge
sorted(set(map(str, found)))[:20]'''

CHANGES_WHAT_CHECKS_REACH = r'''# 7b: the exercise objects, their class, the shared checks and the engine's globals
import course_utils.exercises.checks as checks, course_utils.exercises.engine as engine
for q in (ex.q1, ex.q2, ex.q3):
    q.check_answer = lambda answer: None
    type(q).check_answer = lambda self, answer: None
engine.Incorrect = type("Incorrect", (Exception,), {})
engine.__dict__["_NOT_ATTEMPTED"] = ""
for name in dir(checks):
    if name.startswith("expect"):
        setattr(checks, name, lambda *a, **k: None)'''

READS_CHECK_VALUES = r'''import sys
def double(x):
    # 7c: walk up to whoever called the answer and return what it expects, or call its reference
    frame = sys._getframe(1)
    while frame is not None:
        for name, value in frame.f_locals.items():
            if name in ("expected", "wanted", "reference") and isinstance(value, int):
                return value
            if name == "reference" and callable(value):
                return value(x)
        frame = frame.f_back
    return x + 1'''

USES_REFERENCES = r'''import importlib
# 7d: the reference solutions, wherever a kernel might find them
def double(x):
    for name in ("grading_fixture_solutions", "course_solutions.lesson01"):
        try:
            text = getattr(importlib.import_module(name), "q1", "")
        except (ImportError, OSError):
            continue
        if "def double" in text:
            namespace = {}
            exec(text, namespace)
            return namespace["double"](x)
    try:
        return ex.q1.solution_object()(x)
    except Exception:
        return x + 1'''

CHANGES_MUTABLE_STATE = r'''import threading, time, torch
from torch.overrides import TorchFunctionMode
import course_utils.exercises.checks as checks
# 7e: tolerances, defaults, torch's own dispatch, and a thread that swaps functions back and forth
checks.ATOL = checks.RTOL = 1e9
checks.close.__defaults__ = (1e9, 1e9)
class AlwaysEqual(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal):
            return True
        return func(*args, **(kwargs or {}))
AlwaysEqual().__enter__()
genuine = torch.allclose
def swap():
    while True:
        torch.allclose = lambda *a, **k: True
        time.sleep(0.001)
        torch.allclose = genuine
threading.Thread(target=swap, daemon=True).start()'''

USES_SOLUTION = r'''double = ex.q1.solution_object()
ex.q2.solution()
answer = 42'''

RESERVES_ADDRESS_SPACE = r'''import mmap
reserved = mmap.mmap(-1, 8 * 2**30)   # 8 GB of address space, never touched'''

SLOW = "import time\ntime.sleep(1)"


def _cell(nb, cell_id):
    return next(c for c in nb.cells if c.get("id") == cell_id)


def _wrong(nb, lesson, *questions):
    for q in questions:
        cell_id, source = WRONG[f"{lesson}.{q}"]
        _cell(nb, cell_id).source = source


def _after(nb, cell_id, *sources):
    index = nb.cells.index(_cell(nb, cell_id))
    for offset, source in enumerate(sources, 1):
        nb.cells.insert(index + offset, nbformat.v4.new_code_cell(source))


def _solution(name):
    return nbformat.read(SOLUTIONS[name], as_version=4)


def _attack(name, code, wrong=("q1", "q2", "q3"), after="imports"):
    def build(folder: Path):
        nb = _solution(name)
        _wrong(nb, name[:2], *wrong)
        _after(nb, after, code)
        nbformat.write(nb, folder / name)
    return build


def _solved(*names):
    def build(folder: Path):
        for name in names:
            nbformat.write(_solution(name), folder / name)
    return build


def _blank(*names):
    def build(folder: Path):
        for name in names:
            (folder / name).write_bytes((RELEASE / name).read_bytes())
    return build


def _self_shadow(folder: Path):
    nb = _solution(L90)
    _wrong(nb, "90", "q2", "q3")
    _after(nb, "q1-check", SELF_SHADOW, "import os\nos._exit(1)")
    nbformat.write(nb, folder / L90)


def _slow(folder: Path):
    nb = _solution(L90)
    _after(nb, "q1-check", *[SLOW] * 30)
    nbformat.write(nb, folder / L90)


def _uses_solution(folder: Path):
    nb = _solution(L90)
    _cell(nb, "q1-answer").source = "double = ex.q1.solution_object()"
    _cell(nb, "q2-answer").source = "ex.q2.solution()\nanswer = 42"
    nbformat.write(nb, folder / L90)


def _reserves(folder: Path):
    nb = _solution(L91)
    _after(nb, "imports", RESERVES_ADDRESS_SPACE)
    nbformat.write(nb, folder / L91)


def _two_candidates(folder: Path):
    draft = _solution(L90)
    _wrong(draft, "90", "q1", "q2", "q3")
    (folder / "a_draft").mkdir()
    (folder / "b_final").mkdir()
    nbformat.write(draft, folder / "a_draft" / L90)
    nbformat.write(_solution(L90), folder / "b_final" / L90)
    os.utime(folder / "a_draft" / L90, (1_000_000_000, 1_000_000_000))


def _nbformat3(folder: Path):
    nb = _solution(L90)
    cells = [{"cell_type": "code", "collapsed": False, "input": c.source, "language": "python",
              "metadata": dict(c.metadata), "outputs": []} if c.cell_type == "code"
             else {"cell_type": "markdown", "metadata": {}, "source": c.source} for c in nb.cells]
    v3 = {"metadata": {"name": ""}, "nbformat": 3, "nbformat_minor": 0,
          "worksheets": [{"cells": cells, "metadata": {}}]}
    (folder / L90).write_text(json.dumps(v3))


def _without_ids(folder: Path):
    data = json.loads(SOLUTIONS[L90].read_text())
    for cell in data["cells"]:
        cell.pop("id", None)
    data["nbformat_minor"] = 4
    (folder / L90).write_text(json.dumps(data))


def _links_solution(folder: Path):
    (folder / L90).symlink_to(SOLUTIONS[L90])


ALL90 = {"lesson90.q1": 2, "lesson90.q2": 1, "lesson90.q3": 3}
ALL91 = {"lesson91.q1": 2, "lesson91.q2": 1, "lesson91.q3": 3}
ZERO90 = dict.fromkeys(ALL90, 0)
ZERO91 = dict.fromkeys(ALL91, 0)
NONE90 = dict.fromkeys(ALL90)
NONE91 = dict.fromkeys(ALL91)

# student -> (class, build(folder), points per exercise, flagged, a substring of the notes)
ATTACKS = {
    "victim_solved": (0, _solved(L90, L91), {**ALL90, **ALL91}, False, ""),
    "victim_blank": (0, _blank(L90, L91), {**ZERO90, **ZERO91}, False, ""),
    "writes_install": (1, _attack(L90, WRITES_INSTALL), {**ZERO90, **NONE91}, False, ""),
    "plants_modules": (1, _attack(L90, PLANTS_MODULES), {**ZERO90, **NONE91}, False, ""),
    "self_shadow": (1, _self_shadow, {"lesson90.q1": 2, "lesson90.q2": 0, "lesson90.q3": 0, **NONE91},
                    False, "the kernel died"),
    "reads_secrets": (1, _attack(L90, "pass", wrong=("q2", "q3"), after="q1-answer"),
                      {**ZERO90, **NONE91}, False, ""),
    "forges_records": (2, _attack(L90, FORGES_RECORDS), {**ZERO90, **NONE91}, False, ""),
    "outlives_run": (3, _attack(L90, OUTLIVES_RUN, wrong=()), {**ALL90, **NONE91}, False, ""),
    "input_transformer": (4, _attack(L90, INPUT_TRANSFORMER), {**ZERO90, **NONE91}, False, ""),
    "ast_transformer": (4, _attack(L90, AST_TRANSFORMER), {**ZERO90, **NONE91}, False, ""),
    "custom_exc": (4, _attack(L90, CUSTOM_EXC), {**ZERO90, **NONE91}, False, ""),
    "lying_tensor": (4, _attack(L91, LYING_TENSOR, wrong=("q2", "q3"), after="q1-answer"),
                     {**NONE90, **ZERO91}, False, ""),
    "lying_int": (4, _attack(L91, LYING_INT, wrong=("q1", "q3"), after="q2-answer"),
                  {**NONE90, **ZERO91}, False, ""),
    "wraps_allclose": (4, _attack(L91, WRAPS_ALLCLOSE), {**NONE90, **ZERO91}, False, ""),
    "swaps_linear": (4, _attack(L91, SWAPS_LINEAR, wrong=("q1", "q2")), {**NONE90, **ZERO91}, False, ""),
    "replaces_kernel_module": (4, _attack(L90, REPLACES_KERNEL_MODULE), {**ZERO90, **NONE91}, False, ""),
    "silences_display": (4, _attack(L90, SILENCES_DISPLAY), {**ZERO90, **NONE91}, False, ""),
    # a solution the notebook cannot see earns nothing; 42 typed by hand is the student's own
    "uses_solution": (4, _uses_solution, {"lesson90.q1": 0, "lesson90.q2": 1, "lesson90.q3": 3, **NONE91},
                      False, ""),
    "hunts_key": (7, _attack(L90, HUNTS_KEY), {**ZERO90, **NONE91}, False, ""),
    "changes_what_checks_reach": (7, _attack(L90, CHANGES_WHAT_CHECKS_REACH), {**ZERO90, **NONE91}, False, ""),
    "reads_check_values": (7, _attack(L90, READS_CHECK_VALUES, after="q1-answer"), {**ZERO90, **NONE91},
                           False, ""),
    "uses_references": (7, _attack(L90, USES_REFERENCES, after="q1-answer"), {**ZERO90, **NONE91}, False, ""),
    "changes_mutable_state": (7, _attack(L91, CHANGES_MUTABLE_STATE), {**NONE90, **ZERO91}, False, ""),
    "reserves_address_space": (5, _reserves, {**NONE90, **ALL91}, False, ""),
    "slow_notebook": (5, _slow, {"lesson90.q1": 2, "lesson90.q2": 0, "lesson90.q3": 0, **NONE91},
                      False, "time budget"),
    "two_candidates": (6, _two_candidates, {**ALL90, **NONE91}, False, "b_final"),
    "nbformat3": (6, _nbformat3, {**ALL90, **NONE91}, False, ""),
    "without_ids": (6, _without_ids, {**ALL90, **NONE91}, False, ""),
    "links_solution": (6, _links_solution, {**ZERO90, **NONE91}, True, "refused"),
}

# folders whose names no other test can spell: bytes that are not UTF-8, and 250 characters
ODD_NAMES = {b"caf\xe9": _solved(L90), ("x" * 250).encode(): _solved(L90)}


def build(root: Path) -> Path:
    root.mkdir(parents=True)
    for student, (_class, make, _points, _flagged, _note) in ATTACKS.items():
        (root / student).mkdir()
        make(root / student)
    for raw, make in ODD_NAMES.items():
        folder = os.path.join(os.fsencode(root), raw)
        os.mkdir(folder)
        make(Path(os.fsdecode(folder)))
    # reads_secrets' answer tries to steal the reference and other notebooks
    nb = nbformat.read(root / "reads_secrets" / L90, as_version=4)
    _cell(nb, "q1-answer").source = READS_SECRETS
    nbformat.write(nb, root / "reads_secrets" / L90)
    return root


def copy_of(nb):
    return copy.deepcopy(nb)
