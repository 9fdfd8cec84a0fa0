"""The exercise engine: one declarative class per exercise, four outcomes, hints, solution.

An author writes a subclass of ``Exercise`` with its id, points, title, ``why`` line, hints,
solution text and a ``check_answer(answer)`` that raises ``Incorrect("...")`` on the first
thing wrong. Everything else lives here, once: turning what happened into one of four
outcomes (correct, incorrect, not attempted, error in your code), pointing at the student's
own line when their code raises, keeping the check repeatable (a fixed seed that does not
disturb the student's random state), and staying silent under grading, where the grader runs
the same check in its own process, against the answer in the kernel (``course_utils.grade.pytest_side.judge``).
"""

from __future__ import annotations

import os
import re
import sys
import sysconfig
import textwrap
import traceback
from dataclasses import dataclass
from pathlib import Path

from course_utils.exercises.display import Panel, Rich

SOLUTIONS_PACKAGE = "course_solutions"   # the instructor's side: never visible to a grading kernel
STATUSES = ("correct", "incorrect", "not_attempted", "error", "unchecked")
LABELS = {"correct": "Correct", "incorrect": "Incorrect", "not_attempted": "Not attempted",
          "error": "Error in your code", "unchecked": "Checked when graded"}
EXERCISE_ID = re.compile(r"lesson\d\d\.q\d+")
CHECK_SEED = 0
ANSWER_SEED = 1   # the answer's side draws from its own stream: a layer it makes fresh never
                  # equals one the check made, however alike their shapes


class Incorrect(Exception):
    """Raised by ``check_answer`` with a message in the student's terms."""


class SolutionUnavailable(LookupError):
    """The solutions are not part of this installation (a graded release, a grading kernel)."""


class NotCheckedHere(Exception):
    """The graded release cannot answer what the check asked of the reference (its recorded
    expectations do not cover it): the status is "unchecked", never a verdict."""


_NOT_CHECKED_HERE = ("Your answer passed every check this release can run on your computer. The rest of "
                     "this check needs the reference solution, which only your instructor's grader has: "
                     "it is checked when your work is graded.")


def solutions_module(exercise_module: str) -> str:
    """Where the solutions of an exercise module live: its ``SOLUTIONS`` name, by default
    ``course_solutions.<last part of the module's name>`` (``course_solutions.lesson03``)."""
    module = sys.modules.get(exercise_module)
    declared = getattr(module, "SOLUTIONS", None)
    return declared if isinstance(declared, str) and declared else \
        f"{SOLUTIONS_PACKAGE}.{exercise_module.rpartition('.')[2]}"


def declared(exercise_module: str, name: str, kind: type, default=None):
    """A top-level ``NAME = constant`` of an exercise module, read from its source without
    importing it (the module imports torch: seconds the grader spends only once it judges);
    ``default`` where the module or the constant is missing or not of ``kind``, and None where
    there is no such module."""
    import ast
    import importlib.util

    try:
        spec = importlib.util.find_spec(exercise_module)
        tree = ast.parse(Path(spec.origin).read_bytes()) if spec is not None and spec.origin else None
    except (ImportError, ValueError, OSError, SyntaxError):
        return None
    if tree is None:
        return None
    for node in tree.body:
        if (isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]
                and isinstance(node.value, ast.Constant)):
            value = node.value.value
            if isinstance(value, bool) or not (isinstance(value, kind)
                                               or (kind is float and isinstance(value, int))):
                return default
            return kind(value)
    return default


def solution_text(exercise) -> str:
    """The solution of ``exercise`` (``q3`` of its solutions module), or "" where the
    solutions are not installed or not visible."""
    import importlib

    try:
        solutions = importlib.import_module(solutions_module(type(exercise).__module__))
    except (ImportError, OSError):   # not installed, or hidden (a grading kernel's sandbox)
        return ""
    text = getattr(solutions, exercise.id.partition(".")[2], "")
    return textwrap.dedent(text).strip("\n") if isinstance(text, str) else ""


def grading() -> bool:
    """True when the grading plugin runs the notebook (``COURSE_GRADING=1``)."""
    return os.environ.get("COURSE_GRADING") == "1"   # course_utils.grade.contract.GRADING


@dataclass
class StudentLine:
    """Where the student's code raised: shown instead of a traceback."""

    place: str      # "your cell" or a file name
    lineno: int
    function: str
    source: str

    def caption(self) -> str:
        where = f"{self.place}, line {self.lineno}"
        if self.function and not self.function.startswith("<"):
            where += f", in {self.function}"
        return f"At {where}:"


@dataclass(eq=False)
class Outcome(Rich):
    """The result of one check: ``status`` in STATUSES and a ``message`` for the student."""

    exercise_id: str
    title: str
    points: int
    status: str
    message: str
    location: StudentLine | None = None
    exception: BaseException | None = None   # kept for authors' tests; never displayed

    @property
    def correct(self) -> bool:
        return self.status == "correct"

    def panel(self) -> Panel:
        heading = f"{LABELS[self.status]} — {self.exercise_id}"
        if self.title:
            heading += f": {self.title}"
        if self.status == "correct":
            paragraphs = [f"Why it matters: {self.message}"] if self.message else []
        else:
            paragraphs = [self.message]
        look = "not_attempted" if self.status == "unchecked" else self.status   # grey: no verdict yet
        if self.location is None:
            return Panel(look, heading, paragraphs)
        return Panel(look, heading, paragraphs, code=self.location.source,
                     code_caption=self.location.caption())

    def __repr__(self) -> str:
        return f"Outcome({self.exercise_id!r}, status={self.status!r})"


@dataclass(eq=False)
class Message(Rich):
    """A hint or the solution, displayed like an outcome."""

    kind: str
    heading: str
    paragraphs: tuple[str, ...] = ()
    code: str = ""

    def panel(self) -> Panel:
        return Panel(self.kind, self.heading, [p for p in self.paragraphs if p], code=self.code)

    def __repr__(self) -> str:
        return f"Message({self.kind!r}, {self.heading!r})"


class Exercise:
    """Base class of every exercise. Subclasses set the attributes below and ``check_answer``.

    The check never holds the answer itself: ``check_answer`` receives a
    ``course_utils.probes.client.Answer`` and reaches the answer only through probes, so the
    same check judges it in this process (``evaluate``) and, under grading, from the grader's
    process while the answer stays in the student's kernel (``judge``).
    """

    id: str = ""
    points: int = 1
    title: str = ""
    why: str = ""
    hints: list[str] = []

    @property
    def solution_code(self) -> str:
        """The reference solution's text, from the instructor's side (``solution_text``)."""
        return solution_text(self)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in _REFERENCE_METHODS:   # an override goes through the hook like the default
            if name in cls.__dict__:
                setattr(cls, name, _through_reference_hook(name, cls.__dict__[name]))
        # Authors write ``solution = '''...'''`` (the contract); students call ``q.solution()``.
        # Move the text aside so the method stays reachable.
        text = cls.__dict__.get("solution")
        if isinstance(text, str):
            cls.solution_code = textwrap.dedent(text).strip("\n")
            del cls.solution

    def __init__(self):
        name = type(self).__name__
        if not EXERCISE_ID.fullmatch(self.id or ""):
            raise TypeError(f"{name}.id must look like 'lesson03.q1', not {self.id!r}")
        if type(self).check_answer is Exercise.check_answer:
            raise TypeError(f"{name} must define check_answer(self, answer)")
        if not (isinstance(self.hints, (list, tuple)) and all(isinstance(h, str) for h in self.hints)):
            raise TypeError(f"{name}.hints must be a list of strings")

    # --- the author's part -------------------------------------------------------------
    def solution_object(self):
        """What the solution text defines (its last top-level class or function), built once.

        Checks that compare against a reference build it from here, so the code ``solution()``
        shows is exactly the code the student's answer is measured against. Where the solutions
        are not installed (a grading kernel, the graded release) it raises ``SolutionUnavailable``.
        """
        built = self.__dict__.get("_solution_object")
        if built is None:
            built = self.__dict__["_solution_object"] = self._build_solution()
        return built

    def _build_solution(self):
        import ast

        import torch
        from torch import nn
        from torch.nn import functional

        if not self.solution_code:
            raise SolutionUnavailable(f"the solution of {self.id} is not part of this installation")
        names = [node.name for node in ast.parse(self.solution_code).body
                 if isinstance(node, (ast.ClassDef, ast.FunctionDef))]
        if not names:
            raise TypeError(f"the solution of {self.id} defines no class or function")
        namespace = {"torch": torch, "nn": nn, "F": functional}
        exec(compile(self.solution_code, f"<solution of {self.id}>", "exec"), namespace)
        return namespace[names[-1]]

    def reference_answer(self):
        """The answer the check must accept, built from the solution text.

        Override when the answer is a value (``layer = nn.Linear(20, 7)``) or when the solution
        defines more than the answer; ``tests/unit/test_every_exercise.py`` checks it passes.
        """
        return self.solution_object()

    def check_answer(self, answer) -> None:
        """Raise ``Incorrect(message)`` on the first thing wrong; return for a correct answer."""
        raise TypeError("subclasses define check_answer")

    # --- the student's part ------------------------------------------------------------
    def check(self, answer) -> Outcome | None:
        """Check ``answer``, show the outcome and return it.

        Under grading this does nothing: right after the check cell the grader runs the same
        check in its own process, through probes (``course_utils.grade.pytest_side.judge``), so nothing this
        cell shows or raises counts.
        """
        __tracebackhide__ = True  # noqa: F841 - IPython and pytest hide this frame
        if grading():
            return None
        outcome = self.evaluate(answer)
        outcome.show()
        return outcome

    def hint(self, n: int = 1) -> Message:
        """Show hint ``n`` (1-based) and say how many there are."""
        count = len(self.hints)
        if count == 0:
            message = Message("hint", f"No hints for {self.id}", ("Try `solution()` if you are stuck.",))
        elif isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= count:
            more = f"More: `hint({n + 1})`." if n < count else "That was the last hint; `solution()` shows the answer."
            message = Message("hint", f"Hint {n} of {count} — {self.id}", (self.hints[n - 1], more))
        else:
            choices = "`hint(1)`" if count == 1 else f"`hint(1)` to `hint({count})`"
            message = Message("hint", f"No hint {n!r} for {self.id}",
                              (f"This exercise has {count} hint{'s' if count > 1 else ''}: use {choices}.",))
        return message.show()

    def solution(self) -> Message:
        """Show the reference solution as highlighted code (where this installation has it)."""
        if not self.solution_code:
            from course_utils.exercises import graded

            return Message("solution", f"No solution here — {self.id}", (
                graded.no_solution_note(), "`hint()` and `hint(2)` still help.")).show()
        return Message("solution", f"Solution — {self.id}", (self.title,), code=self.solution_code).show()

    # --- the engine ---------------------------------------------------------------------
    def evaluate(self, answer) -> Outcome:
        """Run the check without showing anything: what ``check`` and the author tests use."""
        if answer is NotImplemented:
            return self._outcome("not_attempted", _NOT_ATTEMPTED)
        from course_utils.probes.client import LocalTransport

        return self.judge(_AnswerSide(LocalTransport({"answer": answer})), "answer")

    def judge(self, transport, expression: str, secret: int = 0) -> Outcome:
        """The check, with the answer behind ``transport``.

        ``expression`` names the answer on its side; ``secret`` draws the check's inputs anew
        (0: the inputs every student sees in the notebook; the grader passes a secret of its
        run). Whatever the other side replies, the outcome is decided here.
        """
        from course_utils.probes import client

        seed = probe_seed(CHECK_SEED, secret)
        try:
            with client.Session(transport, probe_seed(ANSWER_SEED, secret)) as session, _fresh(secret), \
                    _repeatable(seed):
                answer = session.target(expression)
                if answer.kind == "not_implemented":
                    return self._outcome("not_attempted", _NOT_ATTEMPTED)
                self.check_answer(answer)
        except Incorrect as wrong:
            return self._outcome("incorrect", str(wrong), exception=wrong)
        except NotCheckedHere as unchecked:
            return self._outcome("unchecked", _NOT_CHECKED_HERE, exception=unchecked)
        except client.NotDefined:
            return self._outcome("incorrect", f"`{expression}` is not defined: the cell that defines it "
                                              "was deleted or never ran. Run it, then this check again.")
        except client.BindError as error:
            return self._outcome("incorrect", f"Your answer cannot be called as the exercise asks: {error}. "
                                              f"Its signature is {error.signature}.")
        except client.AnswerRaised as raised:
            if raised.is_a("NotImplementedError"):
                if raised.missing_forward:
                    return self._outcome("incorrect", _MISSING_FORWARD, exception=raised)
                return self._outcome("not_attempted", _NOT_ATTEMPTED, exception=raised)
            location = student_line(raised)
            return self._outcome("error", describe_exception(raised, location), location=location,
                                 exception=raised)
        except client.ProbeFault as fault:
            return self._outcome("incorrect", f"Your answer could not be checked: {fault}.", exception=fault)
        except client.TransportFailed:
            raise
        except Exception as error:  # noqa: BLE001 - the check met a value it did not expect
            return self._outcome("error", describe_exception(error, None), exception=error)
        return self._outcome("correct", self.why)

    def _outcome(self, status, message, **extra) -> Outcome:
        return Outcome(self.id, self.title, self.points, status, message, **extra)

    def __repr__(self) -> str:
        return f"<exercise {self.id}: {self.title}>"


_SECRET = [0]     # the secret of the running check: 0 in notebooks, the grader's under grading
_CHECKING = [0]   # how many checks are running (judge): references asked for inside one go through the hook
_ANSWERING = [0]  # how many probes are being answered in this process (the answer's own code runs)


def probe_seed(seed: int, secret: int | None = None) -> int:
    """The seed a check draws its inputs from: ``seed`` itself in notebooks (so messages are the
    same on every run), mixed with the grader's secret under grading (fresh inputs each run)."""
    secret = _SECRET[0] if secret is None else secret
    if not secret:
        return seed
    import hashlib

    digest = hashlib.sha256(f"{secret}:{seed}".encode()).digest()
    return int.from_bytes(digest[:7], "big")


def fresh_inputs() -> bool:
    """True while a check runs on a grader's fresh inputs (not the notebook's fixed ones)."""
    return bool(_SECRET[0])


class _fresh:
    def __init__(self, secret: int):
        self.secret = secret

    def __enter__(self):
        self.saved, _SECRET[0] = _SECRET[0], self.secret
        _CHECKING[0] += 1

    def __exit__(self, *exc):
        _SECRET[0] = self.saved
        _CHECKING[0] -= 1
        return False


def checking() -> bool:
    """True while a check's own code runs (``Exercise.judge``), not the answer's code it calls."""
    return _CHECKING[0] > 0 and not _ANSWERING[0]


class _AnswerSide:
    """The answer's side of the probes of ``check()``, in this process: while a probe is answered,
    the student's code runs, and a reference it asks for is its own business, not the check's."""

    def __init__(self, transport):
        self.transport = transport

    def send(self, text: str) -> str:
        _ANSWERING[0] += 1
        try:
            return self.transport.send(text)
        finally:
            _ANSWERING[0] -= 1


# --- the references, through one hook ---------------------------------------------------------
# ``solution_object()`` and ``reference_answer()`` (and every override of them) ask the hook, when
# one is set: the graded release sets one that replays what the reference did when the release was
# built (``course_utils.exercises.expectations``); building that release sets one that records it.
# Where none is set (the self-study release, the grader) the reference is built from its solution.

_REFERENCE_METHODS = ("solution_object", "reference_answer")
_UNSET = object()
_REFERENCE_HOOK = [_UNSET]


def set_reference_hook(hook) -> None:
    """``hook(exercise, method_name, build)`` returns what the method returns; ``build()`` builds
    the real reference. None: no hook."""
    _REFERENCE_HOOK[0] = hook


def reference_hook():
    if _REFERENCE_HOOK[0] is _UNSET:   # decided once, on first use: a graded release installs its own
        from course_utils.exercises import graded

        _REFERENCE_HOOK[0] = graded.installed_hook()
    return _REFERENCE_HOOK[0]


def _through_reference_hook(name, method):
    import functools

    if getattr(method, "_through_reference_hook", False):
        return method

    @functools.wraps(method)
    def through_hook(self):
        hook = reference_hook()
        if hook is None:
            return method(self)
        return hook(self, name, lambda: method(self))

    through_hook._through_reference_hook = True
    return through_hook


for _name in _REFERENCE_METHODS:
    setattr(Exercise, _name, _through_reference_hook(_name, Exercise.__dict__[_name]))


_NOT_ATTEMPTED = ("Not attempted yet: the stub is still there. Replace `# YOUR CODE HERE` and the "
                  "line below it with your answer, run that cell, then run this check again.")
_MISSING_FORWARD = ("Your module has no `forward` method, so calling it raises NotImplementedError. "
                    "Define `def forward(self, x):` inside the class (check its spelling and indentation).")


class _repeatable:
    """Seed torch for the check and restore the student's random state afterwards.

    Why: hidden inputs and freshly built models must be the same on every run, so messages
    (which may quote numbers) are deterministic; and checking must not change what the
    student's next random tensor is.
    """

    def __init__(self, seed: int = CHECK_SEED):
        self.seed = seed

    def __enter__(self):
        torch = sys.modules.get("torch")
        self._state = torch.random.get_rng_state() if torch is not None else None
        if torch is not None:
            torch.manual_seed(self.seed)

    def __exit__(self, *exc):
        torch = sys.modules.get("torch")
        if torch is not None and self._state is not None:
            torch.random.set_rng_state(self._state)
        return False


# --- pointing at the student's line ------------------------------------------------------

def _library_roots() -> tuple[str, ...]:
    roots = {str(Path(__file__).resolve().parent.parent)}  # course_utils
    paths = sysconfig.get_paths()
    roots.update(str(Path(paths[key]).resolve()) for key in ("stdlib", "platstdlib", "purelib", "platlib"))
    torch = sys.modules.get("torch")
    if torch is not None:
        roots.add(str(Path(torch.__file__).resolve().parent))
    return tuple(sorted(roots))


def is_library_file(filename: str) -> bool:
    """True for frames of the engine, torch, the standard library and installed packages."""
    if filename.startswith("<frozen") or filename.startswith("<__array_function__"):
        return True
    if filename.startswith("<"):  # <ipython-input-...>, <string>: code typed by someone
        return False
    resolved = str(Path(filename).resolve())
    return any(resolved == root or resolved.startswith(root + os.sep) for root in _library_roots())


_CELL_FILE = re.compile(r"ipykernel_\d+|<ipython-input-")


def student_line(error: BaseException) -> StudentLine | None:
    """The innermost traceback frame in the student's code, or None if there is none."""
    if hasattr(error, "missing_forward"):   # raised on the answer's side: its line came as data
        line = getattr(error, "location", None)
        return StudentLine(**line) if isinstance(line, dict) and set(line) == {
            "place", "lineno", "function", "source"} else None
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if not is_library_file(frame.filename):
            place = "your cell" if _CELL_FILE.search(frame.filename) else Path(frame.filename).name
            import linecache

            source = (frame.line or linecache.getline(frame.filename, frame.lineno)).strip()
            return StudentLine(place, frame.lineno or 0, frame.name, source)
    return None


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def describe_exception(error: BaseException, location: StudentLine | None) -> str:
    """'TypeName: message', without memory addresses (stored outputs must not change)."""
    text = _ADDRESS.sub("", str(error)).strip()
    name = getattr(error, "kind", None) if hasattr(error, "missing_forward") else type(error).__name__
    if location is None:
        return f"{name}: {text} (raised inside PyTorch or Python while running your answer)" if text \
            else f"{name} (raised inside PyTorch or Python while running your answer)"
    return f"{name}: {text}" if text else name
