"""The exercise engine: four outcomes, their messages, hints, solution, grading mode."""

import inspect
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from course_utils.exercises import Exercise, Incorrect
from course_utils.exercises import checks, display, engine
from course_utils.exercises.testing import (assert_check_errored, assert_check_failed,
                                            assert_check_passed, assert_check_unattempted)


class TenToFive(Exercise):
    id = "lesson99.q1"
    points = 2
    title = "A module mapping 10 features to 5"
    why = "A layer is a function with parameters."
    hints = ["Use `nn.Linear`.", "`nn.Linear(10, 5)` inside `__init__`."]
    solution = '''
        class TenToFive(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(10, 5)
    '''

    def check_answer(self, answer):
        model = checks.instantiate(answer)
        checks.expect_parameter_count(model, 55)
        reference, x = nn.Linear(10, 5), checks.hidden_input(4, 10)
        checks.copy_weights(reference, model)
        checks.expect_close(checks.call(model, x, what="your model"), reference(x), "your model's output")


q = TenToFive()


class Good(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(10, 5)

    def forward(self, x):
        return self.layer(x)


class TooWide(Good):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(10, 6)


class DividesByZero(Good):
    def forward(self, x):
        return x.sum() + 1 / 0  # the student's own line


class FeedsWrongShape(Good):
    def forward(self, x):
        return self.layer(x[:, :3])


class Stub(Good):
    def forward(self, x):
        # YOUR CODE HERE
        raise NotImplementedError


class StubInInit(nn.Module):
    def __init__(self):
        super().__init__()
        raise NotImplementedError


class NoForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(10, 5)


class ShowsAddress(Good):
    def forward(self, x):
        raise ValueError(f"bad object {object()!r}")


def line_of(function, text):
    lines, start = inspect.getsourcelines(function)
    return start + next(i for i, line in enumerate(lines) if text in line)


# --- outcomes -------------------------------------------------------------------------------

def test_correct_outcome_says_why_it_matters():
    outcome = assert_check_passed(q, Good)
    assert (outcome.status, outcome.message, outcome.points) == ("correct", TenToFive.why, 2)
    assert str(outcome).splitlines() == ["✓ Correct — lesson99.q1: A module mapping 10 features to 5",
                                         "Why it matters: A layer is a function with parameters."]
    assert "Why it matters: A layer is a function with parameters." in outcome._repr_html_()


def test_alternative_correct_answer_with_other_names_passes():
    class Renamed(nn.Module):
        def __init__(self):
            super().__init__()
            self.projection = nn.Sequential(nn.Linear(10, 5))

        def forward(self, inputs):
            return self.projection(inputs)

    assert_check_passed(q, Renamed)


def test_incorrect_outcome_carries_the_check_message():
    outcome = assert_check_failed(q, TooWide, match="66 registered parameters; expected 55")
    assert "layer (Linear): 66" in outcome.message
    assert str(outcome).startswith("✗ Incorrect — lesson99.q1")


@pytest.mark.parametrize("answer", [NotImplemented, Stub, StubInInit])
def test_not_attempted_from_stub_value_or_not_implemented_error(answer):
    outcome = assert_check_unattempted(q, answer)
    assert "not attempted" in str(outcome).lower()
    assert "# YOUR CODE HERE" in outcome.message


def test_missing_forward_is_incorrect_not_unattempted():
    assert_check_failed(q, NoForward, match="no `forward` method")


def test_error_points_at_the_students_line_and_hides_engine_frames():
    outcome = assert_check_errored(q, DividesByZero, match="ZeroDivisionError")
    where = outcome.location
    assert (where.place, where.function) == ("test_engine.py", "forward")
    assert where.lineno == line_of(DividesByZero.forward, "the student's own line")
    assert where.source == "return x.sum() + 1 / 0  # the student's own line"
    for shown in (str(outcome), outcome._repr_html_()):
        for engine_trace in ("course_utils", "checks.py", "evaluate", "check_answer", "Traceback"):
            assert engine_trace not in shown
    assert f"At test_engine.py, line {where.lineno}, in forward:" in str(outcome)


def test_error_inside_torch_points_at_the_student_call():
    outcome = assert_check_errored(q, FeedsWrongShape, match="RuntimeError: mat1 and mat2 shapes cannot be multiplied")
    assert outcome.location.source == "return self.layer(x[:, :3])"


def test_error_without_student_frames_says_where_it_came_from(monkeypatch):
    # exercises live in course_utils; here this test file plays that part
    roots = engine._library_roots()
    monkeypatch.setattr(engine, "_library_roots", lambda: roots + (str(Path(__file__).resolve().parent),))
    wrong = nn.Sequential(nn.Linear(10, 3), nn.Linear(4, 5))  # no code of the student's own
    outcome = _RunsAnInstance().evaluate(wrong)
    assert outcome.status == "error" and outcome.location is None
    assert outcome.message.endswith("(raised inside PyTorch or Python while running your answer)")


class _RunsAnInstance(Exercise):
    id = "lesson99.q2"

    def check_answer(self, answer):
        answer(checks.hidden_input(2, 10))


def test_error_message_has_no_memory_address():
    outcome = assert_check_errored(q, ShowsAddress, match="ValueError: bad object <object object>")
    assert "0x" not in str(outcome)


def test_messages_are_escaped_in_html_and_backticks_become_code():
    class Says(Exercise):
        id = "lesson99.q3"

        def check_answer(self, answer):
            raise Incorrect("use `a < b` & <b>not</b> this")

    html = Says().evaluate(1)._repr_html_()
    assert "use <code>a &lt; b</code> &amp; &lt;b&gt;not&lt;/b&gt; this" in html


def test_outcome_text_is_deterministic_and_student_random_state_is_kept():
    torch.manual_seed(5)
    expected_next = torch.rand(3)
    torch.manual_seed(5)
    first = q.evaluate(TooWide)
    assert torch.equal(torch.rand(3), expected_next)
    second = q.evaluate(TooWide)
    assert (str(first), first._repr_html_()) == (str(second), second._repr_html_())


# --- check(): display and grading -------------------------------------------------------------

def test_check_prints_text_outside_jupyter_and_returns_the_outcome(capsys, monkeypatch):
    monkeypatch.delenv("COURSE_GRADING", raising=False)
    outcome = q.check(TooWide)
    assert capsys.readouterr().out == str(outcome) + "\n"
    assert outcome.status == "incorrect"


@pytest.mark.parametrize("answer", [TooWide, NotImplemented, DividesByZero, Good])
def test_under_grading_check_shows_and_decides_nothing(answer, capsys, monkeypatch):
    """The grader runs the check in its own process after the cell; what the cell shows or
    raises never counts, so it shows nothing and raises nothing."""
    monkeypatch.setenv("COURSE_GRADING", "1")
    assert q.check(answer) is None
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("value", [None, "0", "true"])
def test_outside_grading_check_never_raises(value, monkeypatch):
    if value is None:
        monkeypatch.delenv("COURSE_GRADING", raising=False)
    else:
        monkeypatch.setenv("COURSE_GRADING", value)
    for answer in (TooWide, NotImplemented, DividesByZero):
        assert q.check(answer).status != "correct"
    assert q.check(Good).correct


# --- hints and solution -----------------------------------------------------------------------

def test_hints_are_numbered_from_one_and_point_to_the_next():
    assert str(q.hint()).splitlines() == ["? Hint 1 of 2 — lesson99.q1", "Use `nn.Linear`.", "More: `hint(2)`."]
    assert str(q.hint(2)).splitlines()[1:] == ["`nn.Linear(10, 5)` inside `__init__`.",
                                               "That was the last hint; `solution()` shows the answer."]


@pytest.mark.parametrize("n", [0, 3, -1, "2", True])
def test_out_of_range_hint_says_how_many_there_are(n):
    text = str(q.hint(n))
    assert text.startswith(f"? No hint {n!r} for lesson99.q1")
    assert "This exercise has 2 hints: use `hint(1)` to `hint(2)`." in text


def test_exercise_without_hints_says_so():
    assert "No hints for lesson99.q2" in str(_RunsAnInstance().hint())


def test_solution_is_dedented_and_highlighted():
    shown = q.solution()
    assert TenToFive.solution_code.startswith("class TenToFive(nn.Module):\n    def __init__(self):")
    assert str(shown).splitlines()[2] == "    class TenToFive(nn.Module):"
    html = shown._repr_html_()
    assert 'class="highlight"' in html and "<span style=" in html and "TenToFive" in html


def test_solution_falls_back_to_pre_without_pygments(monkeypatch):
    monkeypatch.setitem(sys.modules, "pygments", None)
    html = q.solution()._repr_html_()
    assert '<pre style="margin: 0.3em 0">class TenToFive(nn.Module):' in html
    assert "<span" not in html


# --- display once per cell --------------------------------------------------------------------

def test_panel_shows_once_per_cell_even_when_also_returned(monkeypatch):
    pytest.importorskip("IPython")
    import IPython.display

    shell = type("Shell", (), {"execution_count": 7})()
    shown = []
    monkeypatch.setattr(display, "_shell", lambda: shell)
    monkeypatch.setattr(IPython.display, "display", lambda data, raw: shown.append(data))
    outcome = q.check(Good)          # shown by check()
    outcome._ipython_display_()      # Jupyter showing the cell's value: silent
    assert len(shown) == 1 and set(shown[0]) == {"text/plain", "text/html"}
    shell.execution_count = 8        # the outcome displayed again in a later cell
    outcome._ipython_display_()
    assert len(shown) == 2


# --- author mistakes ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad_id", ["", "q1", "lesson3.q1", "lesson03-q1"])
def test_exercise_id_must_follow_the_convention(bad_id):
    cls = type("Bad", (Exercise,), {"id": bad_id, "check_answer": lambda self, a: None})
    with pytest.raises(TypeError, match="must look like 'lesson03.q1'"):
        cls()


def test_exercise_must_define_check_answer():
    with pytest.raises(TypeError, match="must define check_answer"):
        type("NoCheck", (Exercise,), {"id": "lesson99.q9"})()


def test_author_helpers_report_what_the_check_really_said():
    with pytest.raises(AssertionError, match="expected correct, but the check said incorrect: Your model has 66"):
        assert_check_passed(q, TooWide)
    with pytest.raises(AssertionError, match="with a message containing 'nope'"):
        assert_check_failed(q, TooWide, match="nope")
    with pytest.raises(AssertionError, match=r"(?s)said error in your code: ZeroDivisionError.*Traceback"):
        assert_check_unattempted(q, DividesByZero)


# --- notebook cells: the kernel's file names never show ----------------------------------------

@pytest.mark.parametrize("filename", ["/tmp/ipykernel_4242/3141592653.py", "<ipython-input-7-0123abcd>"])
def test_error_in_a_notebook_cell_is_shown_as_your_cell(filename):
    import linecache

    source = "import torch\n\ndef make(n):\n    total = n + 1\n    return torch.zeros(n)[total]\n"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # what IPython does
    try:
        namespace = {}
        exec(compile(source, filename, "exec"), namespace)

        class Calls(Exercise):
            id = "lesson99.q4"

            def check_answer(self, answer):
                answer(3)

        outcome = Calls().evaluate(namespace["make"])
    finally:
        del linecache.cache[filename]
    assert outcome.status == "error" and outcome.message.startswith("IndexError: index 4 is out of bounds")
    assert str(outcome).splitlines()[-2:] == ["At your cell, line 5, in make:", "    return torch.zeros(n)[total]"]
    assert "ipykernel" not in str(outcome) and "ipython-input" not in outcome._repr_html_()


# --- the package ------------------------------------------------------------------------------

def test_lessons_are_reachable_as_imports_and_attributes():
    import course_utils.exercises as exercises
    from course_utils.exercises import lesson00

    assert exercises.lesson00 is lesson00 and lesson00.q1.id == "lesson00.q1"
    assert not hasattr(exercises, "lesson98")
    with pytest.raises(AttributeError):
        exercises.nothing_here


def test_importing_the_package_does_not_import_torch():
    import subprocess

    code = "import sys, course_utils.exercises; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_solution_object_is_what_the_solution_text_defines():
    from course_utils.exercises import lesson06

    block = lesson06.q1.solution_object()
    assert block.__name__ == "ResidualBlock" and issubclass(block, nn.Module)
    assert lesson06.ResidualReference is not None and lesson06.ResidualReference.__name__ == "ResidualBlock"
    assert_check_passed(lesson06.q1, block)


def test_declared_reads_a_modules_constant_without_importing_it(tmp_path, monkeypatch):
    """What the grader learns of an exercise module before it imports torch: SOLUTIONS and
    KERNEL_SECONDS, read from the source; a constant of the wrong kind is the default."""
    declared = engine.declared
    (tmp_path / "declaring_lesson.py").write_text(
        'import torch_that_is_not_installed\nSOLUTIONS = "hidden.place"\nKERNEL_SECONDS = 12\n'
        'RATE = 0.5\nFLAG = True\nTEXT = 3\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    assert declared("declaring_lesson", "SOLUTIONS", str) == "hidden.place"
    assert declared("declaring_lesson", "KERNEL_SECONDS", float) == 12.0
    assert declared("declaring_lesson", "RATE", float) == 0.5
    assert declared("declaring_lesson", "FLAG", float, default=1.0) == 1.0   # a bool is no number
    assert declared("declaring_lesson", "TEXT", str, default="") == ""
    assert declared("declaring_lesson", "ABSENT", float, default=0.5) == 0.5
    assert declared("no_such_lesson_module", "SOLUTIONS", str, default="") is None
    assert "declaring_lesson" not in sys.modules
    assert declared("course_utils.exercises.lesson08", "KERNEL_SECONDS", float) == 10.0
