"""The exercise engine: one declarative class per exercise, four outcomes, hints, solution.

An author writes a subclass of ``Exercise`` with its id, points, title, ``why`` line, hints,
solution text and a ``check_answer(answer)`` that raises ``Incorrect("...")`` on the first
thing wrong. Everything else lives here, once: turning what happened into one of four
outcomes (correct, incorrect, not attempted, error in your code), pointing at the student's
own line when their code raises, keeping the check repeatable (a fixed seed that does not
disturb the student's random state), and failing loudly under grading.
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

STATUSES = ("correct", "incorrect", "not_attempted", "error")
LABELS = {"correct": "Correct", "incorrect": "Incorrect", "not_attempted": "Not attempted",
          "error": "Error in your code"}
EXERCISE_ID = re.compile(r"lesson\d\d\.q\d+")
CHECK_SEED = 0


class Incorrect(Exception):
    """Raised by ``check_answer`` with a message in the student's terms."""


class CheckFailed(AssertionError):
    """Raised by ``check()`` under grading when the answer is not correct."""

    def __init__(self, outcome: "Outcome"):
        self.outcome = outcome
        super().__init__(f"{outcome.exercise_id}: {LABELS[outcome.status].lower()}: {outcome.message}")


def grading() -> bool:
    """True when the grading plugin runs the notebook (``COURSE_GRADING=1``)."""
    return os.environ.get("COURSE_GRADING") == "1"


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
        if self.location is None:
            return Panel(self.status, heading, paragraphs)
        return Panel(self.status, heading, paragraphs, code=self.location.source,
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
    """Base class of every exercise. Subclasses set the attributes below and ``check_answer``."""

    id: str = ""
    points: int = 1
    title: str = ""
    why: str = ""
    hints: list[str] = []
    solution_code: str = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
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
        """What the solution text defines (its last top-level class or function).

        Checks that compare against a reference build it from here, so the code ``solution()``
        shows is exactly the code the student's answer is measured against.
        """
        import ast

        import torch
        from torch import nn
        from torch.nn import functional

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
    def check(self, answer) -> Outcome:
        """Check ``answer``, show the outcome and return it. Under grading, raise unless correct."""
        __tracebackhide__ = True  # noqa: F841 - IPython and pytest hide this frame
        outcome = self.evaluate(answer)
        outcome.show()
        if grading() and not outcome.correct:
            raise CheckFailed(outcome) from None
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
        """Show the reference solution as highlighted code."""
        return Message("solution", f"Solution — {self.id}", (self.title,), code=self.solution_code).show()

    # --- the engine ---------------------------------------------------------------------
    def evaluate(self, answer) -> Outcome:
        """Run the check without showing anything: what ``check`` and the author tests use."""
        if answer is NotImplemented:
            return self._outcome("not_attempted", _NOT_ATTEMPTED)
        try:
            with _repeatable():
                self.check_answer(answer)
        except Incorrect as wrong:
            return self._outcome("incorrect", str(wrong), exception=wrong)
        except NotImplementedError as stub:
            if _raised_by_missing_forward(stub):
                return self._outcome("incorrect", _MISSING_FORWARD, exception=stub)
            return self._outcome("not_attempted", _NOT_ATTEMPTED, exception=stub)
        except Exception as error:  # noqa: BLE001 - any other exception came from running the answer
            location = student_line(error)
            return self._outcome("error", describe_exception(error, location), location=location,
                                 exception=error)
        return self._outcome("correct", self.why)

    def _outcome(self, status, message, **extra) -> Outcome:
        return Outcome(self.id, self.title, self.points, status, message, **extra)

    def __repr__(self) -> str:
        return f"<exercise {self.id}: {self.title}>"


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

    def __enter__(self):
        torch = sys.modules.get("torch")
        self._state = torch.random.get_rng_state() if torch is not None else None
        if torch is not None:
            torch.manual_seed(CHECK_SEED)

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
    name = type(error).__name__
    if location is None:
        return f"{name}: {text} (raised inside PyTorch or Python while running your answer)" if text \
            else f"{name} (raised inside PyTorch or Python while running your answer)"
    return f"{name}: {text}" if text else name


def _raised_by_missing_forward(error: BaseException) -> bool:
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and frames[-1].name == "_forward_unimplemented"
