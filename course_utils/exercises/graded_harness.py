"""A pytest plugin that runs the exercise tests (tests/unit/test_lessonNN.py and the answer banks
that test_every_exercise.py runs) to build and to measure the graded release: every answer a test
hands a check is judged, and its outcome logged.

- ``record`` (building the release, solutions installed): the engine's reference hook is a
  ``Recorder``, so what the references do for every right and wrong answer of the tests is
  recorded; the outcomes logged are the self-study release's.
- ``replay`` (inside an environment where the graded wheel is installed): the hook replays the
  release's recordings inside checks; the answers themselves are built as the tests build them
  (a test may subclass the reference to make a wrong answer: outside a check the real reference is
  built, from a ``course_solutions`` the measuring run puts on the path, never seen by a check).

Only the outcome on the notebook's inputs counts here (secret 0): the tests' second judgement on a
grader's fresh inputs (``testing._evaluate``) is the grader's business and is left out.

    COURSE_GRADED_HARNESS=replay COURSE_GRADED_LOG=out.json \\
        python -m pytest -p course_utils.exercises.graded_harness test_lesson05.py

``COURSE_GRADED_SELECT`` (JSON ``{"test_lesson05.py": [2, 3]}``) keeps the tests of those
exercises (a test whose name names no ``qN`` is kept too) and of no other file, and the bank
answers of those exercises in test_every_exercise.py (of which nothing else runs here).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from course_utils.exercises import engine, testing
from course_utils.exercises.engine import Exercise

_QUESTION = re.compile(r"(?<![a-z])q(\d+)(?![0-9])")


class Harness:
    def __init__(self, mode: str, log: Path | None, select: dict | None = None, recorder=None):
        self.mode, self.log_path, self.select, self.recorder = mode, log, select, recorder
        self.entries: list[dict] = []
        self.leaks: list[str] = []     # replay: a check that read a solution (must stay empty)
        self._item, self._count = None, 0
        self._saved = None

    # --- set-up
    def pytest_configure(self, config):
        self._saved = (testing._evaluate, Exercise.__dict__["evaluate"])
        harness, evaluate = self, Exercise.__dict__["evaluate"]

        def notebook_inputs_only(exercise, answer):
            if not isinstance(exercise, Exercise):
                raise TypeError(f"expected an exercise such as ex.q1, got {type(exercise).__name__}")
            return exercise.evaluate(answer)

        testing._evaluate = notebook_inputs_only

        def logged(exercise, answer):
            outcome = evaluate(exercise, answer)
            harness._log(exercise, outcome)
            return outcome

        Exercise.evaluate = logged
        if self.mode == "replay":
            from course_utils.exercises import expectations, graded

            def outside(exercise, method, build):   # answers the tests build: the real reference
                return build()

            engine.set_reference_hook(expectations.Replayer(graded.RECORDED, outside=outside).hook)
            read = engine.solution_text

            def guarded(exercise):   # a check must never read a solution here: log it, give it nothing
                if engine.checking():
                    self.leaks.append(f"{exercise.id}: {self._item}")
                    return ""
                return read(exercise)

            engine.solution_text = guarded
        elif self.mode == "record" and self.recorder is not None:
            engine.set_reference_hook(self.recorder.hook)

    def pytest_unconfigure(self, config):
        if self._saved is not None:
            testing._evaluate, Exercise.evaluate = self._saved
        if self.log_path is not None:
            import course_utils
            from course_utils.exercises import graded

            log = {"course_utils": course_utils.__file__, "release": graded.release_kind(), "mode": self.mode,
                   "entries": self.entries, "leaks": self.leaks}
            Path(self.log_path).write_text(json.dumps(log, indent=0), encoding="utf-8")

    def pytest_collection_modifyitems(self, session, config, items):
        kept, dropped = [], []
        for item in items:
            (kept if self._wanted(item) else dropped).append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = kept

    def _wanted(self, item) -> bool:
        bank = _bank_exercise(item)
        if item.path.name == BANK_TESTS:   # of that file, only the answers of the banks
            return bank is not None and (self.select is None or bank[1] in self.select.get(f"test_{bank[0]}.py", ()))
        if self.select is None:
            return True
        wanted = self.select.get(item.path.name)
        named = {int(n) for n in _QUESTION.findall(item.name)}
        return wanted is not None and (not named or bool(named & set(wanted)))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        self._item, self._count = f"{item.path.name}::{item.name}", 0
        yield
        self._item = None

    def _log(self, exercise, outcome):
        self.entries.append({"test": self._item or "", "n": self._count, "exercise": exercise.id,
                             "status": outcome.status, "message": outcome.message})
        self._count += 1


BANK_TESTS = "test_every_exercise.py"   # runs the answer banks, tests/exercise_answers/lessonNN.py


def _bank_exercise(item) -> tuple[str, int] | None:
    """("lesson05", 3) for an answer of a bank (``test_bank_answer[...]``), else None."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    if getattr(item, "originalname", "") != "test_bank_answer" or "lesson" not in params:
        return None
    return str(params["lesson"]), int(str(params["name"]).removeprefix("q"))


def _from_environment() -> Harness | None:
    mode = os.environ.get("COURSE_GRADED_HARNESS")
    if mode not in ("record", "replay"):
        return None
    log = os.environ.get("COURSE_GRADED_LOG")
    select = os.environ.get("COURSE_GRADED_SELECT")
    return Harness(mode, Path(log) if log else None, json.loads(select) if select else None)


def pytest_configure(config):
    """Loaded with ``-p course_utils.exercises.graded_harness``: set up from the environment."""
    harness = _from_environment()
    if harness is not None and not config.pluginmanager.has_plugin("course-graded-harness"):
        config.pluginmanager.register(harness, "course-graded-harness")   # its pytest_configure runs now


def compare(self_study: list[dict], graded: list[dict]) -> dict:
    """How many of the tests' answers got the same outcome in the graded release as in the
    self-study one: figures, and every difference."""
    self_study = self_study["entries"] if isinstance(self_study, dict) else self_study
    graded = graded["entries"] if isinstance(graded, dict) else graded
    key = lambda e: (e["test"], e["n"])  # noqa: E731
    theirs = {key(e): e for e in graded}
    same, differ, missing = 0, [], []
    false_correct = []
    by_status: dict[str, int] = {}
    for entry in self_study:
        other = theirs.get(key(entry))
        by_status[entry["status"]] = by_status.get(entry["status"], 0) + 1
        if other is None:
            missing.append(entry)
        elif (other["status"], other["message"], other["exercise"]) == (entry["status"], entry["message"],
                                                                          entry["exercise"]):
            same += 1
        else:
            differ.append({"test": entry["test"], "n": entry["n"], "exercise": entry["exercise"],
                           "self_study": [entry["status"], entry["message"]],
                           "graded": [other["status"], other["message"]]})
            if other["status"] == "correct":
                false_correct.append(differ[-1])
    return {"answers": len(self_study), "same": same, "different": len(differ), "missing": len(missing),
            "false_correct": len(false_correct), "self_study_statuses": by_status,
            "graded_statuses": _count(graded), "differences": differ,
            "missing_entries": missing[:50]}


def _count(entries) -> dict:
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    return counts
