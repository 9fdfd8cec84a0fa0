"""The graded release's parts, in process: recording what a reference does inside a check, replaying
it without the solution, what the release says about itself, its notebooks, and the measure.

(tests/release/test_graded_release.py builds the whole release and uses it as a student would.)"""

from __future__ import annotations

import json

import nbformat
import pytest
import torch
from torch import nn

from course_utils.exercises import checks, engine, expectations, graded, graded_harness, graded_release
from course_utils.exercises.engine import Exercise, Incorrect, SolutionUnavailable

SOLUTION = '''
class Block(nn.Module):
    def __init__(self, features, hidden):
        super().__init__()
        self.inner = nn.Linear(features, hidden)
        self.outer = nn.Linear(hidden, features)
        self.scale = nn.Parameter(torch.tensor(0.5))

    def forward(self, x):
        return x + self.scale * self.outer(torch.tanh(self.inner(x)))
'''


class BlockExercise(Exercise):
    """Checks the way lessons 02-08 do: parameter count, weights copied in, outputs compared with
    the reference's, a subclass of the reference for a known slip, and the gradient of the scale."""

    id = "lesson99.q1"
    title = "A residual block with a learnable scale"
    why = "The identity path keeps x."
    hints = ["one", "two"]

    def solution_object(self):
        namespace = {"torch": torch, "nn": nn}
        exec(compile(SOLUTION, f"<solution of {self.id}>", "exec"), namespace)
        return namespace["Block"]

    def check_answer(self, answer):
        model = checks.instantiate(answer, 4, 3)
        reference = self.solution_object()(4, 3)
        if checks.parameter_count(model) != checks.parameter_count(reference):
            raise Incorrect(f"{checks.parameter_count(reference)} parameters expected.")
        checks.copy_weights(reference, model)
        x = checks.hidden_input(5, 4)
        got = model(x)
        with torch.no_grad():
            if checks.close(got, reference.outer(torch.tanh(reference.inner(x)))):
                raise Incorrect("The identity path is missing: add x.")
            same = checks.close(got, reference(x))
        if same:
            self._same_gradient(model, reference, x)
            return
        with torch.no_grad():
            unscaled = Unscaled(4, 3)
            unscaled.load_state_dict(reference.state_dict())
            if checks.close(got, unscaled(x)):
                raise Incorrect("The scale is not used.")
            if checks.close(got, reference(reference(x))):   # an input only this slip leads to
                raise Incorrect("Your forward applies the block twice.")
        raise Incorrect("Different output.")

    @staticmethod
    def _same_gradient(model, reference, x):
        reference.zero_grad()
        reference(x).sum().backward()
        grads = model.run(x, backward=torch.ones(5, 4)).grads
        if not checks.close(grads.get("scale"), reference.scale.grad):
            raise Incorrect("The scale gets another gradient.")


class _Unscaled:
    cls = None


def Unscaled(*sizes):   # noqa: N802 - a class built on first use from the reference (as lesson05 does)
    if _Unscaled.cls is None:
        class UnscaledBlock(q1.solution_object()):
            def forward(self, x):
                return x + self.outer(torch.tanh(self.inner(x)))
        _Unscaled.cls = UnscaledBlock
    return _Unscaled.cls(*sizes)


q1 = BlockExercise()


class Right(nn.Module):
    def __init__(self, features, hidden):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(0.5))
        self.first = nn.Linear(features, hidden)
        self.second = nn.Linear(hidden, features)

    def forward(self, x):
        return self.scale * self.second(self.first(x).tanh()) + x


class NoIdentity(Right):
    def forward(self, x):
        return self.second(self.first(x).tanh())


class NoScale(Right):
    def forward(self, x):
        return self.second(self.first(x).tanh()) + x


class Detached(Right):
    def forward(self, x):
        return self.scale.detach() * self.second(self.first(x).tanh()) + x


class Twice(Right):
    def forward(self, x):
        for _ in range(2):
            x = self.scale * self.second(self.first(x).tanh()) + x
        return x


class TooBig(Right):
    def __init__(self, features, hidden):
        super().__init__(features, hidden)
        self.extra = nn.Linear(features, features)


ANSWERS = {"right": Right, "no identity": NoIdentity, "no scale": NoScale, "detached": Detached, "twice": Twice,
           "too big": TooBig}


@pytest.fixture
def hook():
    saved = engine._REFERENCE_HOOK[0]
    _Unscaled.cls = None
    yield
    engine._REFERENCE_HOOK[0] = saved
    _Unscaled.cls = None


def recorded(folder, answers=ANSWERS.values()):
    """Record the check on ``answers``: (outcomes, the recorder)."""
    recorder = expectations.Recorder()
    engine.set_reference_hook(recorder.hook)
    outcomes = [q1.evaluate(answer) for answer in answers]
    for lesson, store in recorder.stores.items():
        expectations.save(store, folder / f"{lesson}.json")
    _Unscaled.cls = None
    return outcomes, recorder


def replayed(folder, answers=ANSWERS.values()):
    engine.set_reference_hook(expectations.Replayer(folder).hook)
    return [q1.evaluate(answer) for answer in answers]


def test_without_a_hook_the_check_says_what_each_answer_is(hook):
    engine.set_reference_hook(None)
    said = {name: (o.status, o.message) for name, o in zip(ANSWERS, map(q1.evaluate, ANSWERS.values()))}
    assert said == {"right": ("correct", q1.why), "no identity": ("incorrect", "The identity path is missing: add x."),
                    "no scale": ("incorrect", "The scale is not used."),
                    "detached": ("incorrect", "The scale gets another gradient."),
                    "twice": ("incorrect", "Your forward applies the block twice."),
                    "too big": ("incorrect", "32 parameters expected.")}


def test_replayed_without_the_solution_every_answer_gets_the_same_outcome(hook, tmp_path, monkeypatch):
    engine.set_reference_hook(None)
    plain = [(o.status, o.message) for o in map(q1.evaluate, ANSWERS.values())]
    outcomes, recorder = recorded(tmp_path)
    assert [(o.status, o.message) for o in outcomes] == plain      # recording changes nothing
    assert recorder.skipped == []
    solution_text = SOLUTION

    def no_solution(self):
        raise AssertionError("the replay built the solution")

    monkeypatch.setattr(BlockExercise, "solution_object",
                        engine._through_reference_hook("solution_object", no_solution))
    assert [(o.status, o.message) for o in replayed(tmp_path)] == plain
    text = (tmp_path / "lesson99.json").read_text()
    assert "tanh" not in text and not any(line.strip() in text for line in solution_text.splitlines() if line.strip())


def test_a_call_the_recording_does_not_hold_is_checked_when_graded_never_correct(hook, tmp_path):
    recorded(tmp_path, [Right])           # only the right answer was recorded: the slips' paths were not
    said = {name: o for name, o in zip(ANSWERS, replayed(tmp_path))}
    assert said["right"].status == "correct"
    assert said["too big"].status == "incorrect"          # decided before the reference's forward runs
    assert said["no scale"].status == "incorrect"         # the slip's class is built from the recorded tree
    unchecked = said["twice"]             # the reference run on its own output: never recorded
    assert unchecked.status == "unchecked"
    assert unchecked.message.startswith("Your answer passed every check this release can run on your computer.")
    assert "Checked when graded — lesson99.q1" in str(unchecked)
    assert all(o.status != "correct" for name, o in said.items() if name != "right")


def test_no_recording_at_all_and_fresh_inputs_are_never_judged_by_the_replay(hook, tmp_path):
    engine.set_reference_hook(expectations.Replayer(tmp_path).hook)
    assert q1.evaluate(Right).status == "unchecked"
    recorded(tmp_path, [Right])
    engine.set_reference_hook(expectations.Replayer(tmp_path).hook)
    from course_utils.probes.client import LocalTransport

    assert q1.judge(LocalTransport({"answer": Right}), "answer", secret=12345).status == "unchecked"
    with pytest.raises(SolutionUnavailable, match="not part of this release"):
        q1.solution_object()         # outside a check: the reference is simply not there


def test_the_stand_in_is_a_module_with_the_recorded_tree(hook, tmp_path):
    recorded(tmp_path, [Right])
    replayer = expectations.Replayer(tmp_path)
    engine.set_reference_hook(replayer.hook)
    with engine._fresh(0):
        torch.manual_seed(engine.CHECK_SEED)
        stand_in = q1.solution_object()(4, 3)
    assert type(stand_in).__name__ == "Block" and isinstance(stand_in, nn.Module)
    assert [(n, tuple(p.shape)) for n, p in stand_in.named_parameters()] == [
        ("scale", ()), ("inner.weight", (3, 4)), ("inner.bias", (3,)), ("outer.weight", (4, 3)), ("outer.bias", (4,))]
    assert type(stand_in.inner) is nn.Linear and not hasattr(stand_in, "anything_else")
    with pytest.raises(engine.NotCheckedHere):
        stand_in(torch.zeros(2, 4))          # inputs no check used


def test_inputs_another_cpu_rounds_differently_still_find_their_recording(tmp_path):
    store = expectations.Store()
    x = torch.randn(3, 4)
    arguments = expectations.pack(([x], {}), store.put)
    store.add_call("lesson99.q1:Block", arguments, [], [True], expectations.pack(x * 2, store.put), None, None)
    found = store.find_call("lesson99.q1:Block", ([x + 1e-7], {}), [], [True])
    assert found is not None and torch.equal(expectations.unpack(found["outputs"], store.tensor), x * 2)
    assert store.find_call("lesson99.q1:Block", ([x + 1e-2], {}), [], [True]) is None
    expectations.save(store, tmp_path / "lesson99.json")
    again = expectations.load(tmp_path / "lesson99.json")
    assert again.find_call("lesson99.q1:Block", ([x], {}), [], [True]) is not None


def test_a_call_recorded_twice_with_two_results_is_replayed_never():
    store = expectations.Store()
    x = torch.ones(2)
    arguments = expectations.pack(([x], {}), store.put)
    for result in (x, -x):
        store.add_call("lesson99.q1:Block", arguments, [], [], expectations.pack(result, store.put), None, None)
    assert store.find_call("lesson99.q1:Block", ([x], {}), [], []) is None


# --- what the release says about itself ---------------------------------------------------------

def test_the_release_kind_outside_a_graded_wheel(monkeypatch):
    assert graded.release_kind() == "self-study"
    assert graded.describe_release().endswith("self-study release; solutions included (ex.qN.solution())")
    assert graded.installed_hook() is None
    monkeypatch.setattr(graded, "release_info", lambda: {"kind": "graded", "built": "2026-03-01", "source": "abc",
                                                         "solutions_published": "on 14 March"})
    assert graded.release_kind() == "graded"
    assert graded.describe_release().startswith("course_utils 0.1.0: graded release (built 2026-03-01, from abc)")
    assert graded.no_solution_note() == ("This is the graded release of the course: the solutions are not part of "
                                         "it. Your instructor publishes them on 14 March.")


def test_ran_with_reads_the_line_a_notebook_printed():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="seeded\ncourse_utils 0.1.0: graded release (built x)\n")])])
    assert graded.ran_with(nb) == "course_utils 0.1.0: graded release (built x)"
    assert graded.ran_with(nbformat.v4.new_notebook()) is None


def test_the_graded_notebook_adds_a_first_cell_and_a_release_line_and_keeps_every_check(tmp_path):
    from course_utils.exercises import release

    released, _ = release.plan()
    item = next(r for r in released if r.target.name == "05_branching.ipynb")
    before = nbformat.reads(item.text, as_version=4)
    after = nbformat.reads(graded_release.graded_notebook(item.text, item.target.name), as_version=4)
    assert after.cells[0].id == "graded-release-note" and after.cells[0].source.startswith("**Graded release**")
    assert "00 · Start here" in after.cells[0].source
    assert [c.id for c in after.cells[1:]] == [c.id for c in before.cells]
    checks_before = [(c.id, c.source, c.metadata) for c in before.cells if "exercise" in c.metadata.get("course", {})]
    checks_after = [(c.id, c.source, c.metadata) for c in after.cells if "exercise" in c.metadata.get("course", {})]
    assert checks_after == checks_before and len(checks_after) >= 3
    setup = next(c for c in after.cells if c.cell_type == "code")
    assert setup.source.endswith("from course_utils.exercises.graded import show_release\nshow_release()")
    first = graded_release.graded_notebook(next(r for r in released if r.target.name == "00_start_here.ipynb").text,
                                           "00_start_here.ipynb")
    assert "passes here and fails in grading" in first


def test_the_graded_wheel_s_version_and_package_list():
    text = '[project]\nname = "course-utils"\nversion = "0.1.0"\n[tool.setuptools.packages.find]\n' \
           'include = ["course_utils*", "course_solutions*"]\n'
    assert graded_release._graded_pyproject(text).splitlines()[2:] == [
        'version = "0.1.0+graded"', "[tool.setuptools.packages.find]", 'include = ["course_utils*"]']


def test_compare_counts_same_different_missing_and_false_correct():
    mine = [{"test": "t.py::a", "n": 0, "exercise": "lesson05.q2", "status": "incorrect", "message": "m"},
            {"test": "t.py::a", "n": 1, "exercise": "lesson05.q2", "status": "incorrect", "message": "m2"},
            {"test": "t.py::b", "n": 0, "exercise": "lesson05.q2", "status": "correct", "message": "w"},
            {"test": "t.py::c", "n": 0, "exercise": "lesson05.q2", "status": "incorrect", "message": "x"}]
    theirs = [dict(mine[0]), {**mine[1], "status": "correct"}, {**mine[2], "status": "unchecked"}]
    figures = graded_harness.compare({"entries": mine}, {"entries": theirs})
    assert {k: figures[k] for k in ("answers", "same", "different", "missing", "false_correct")} == {
        "answers": 4, "same": 1, "different": 2, "missing": 1, "false_correct": 1}
    assert json.dumps(figures)


class UsesTheReference(Right):
    """A student's own call for the reference runs on the answer's side: never the check's stand-in."""

    def __init__(self, features, hidden):
        super().__init__(features, hidden)
        self.copy = q1.solution_object()(features, hidden)


def test_a_reference_the_answer_itself_asks_for_is_not_the_check_s(hook, tmp_path):
    outcomes, recorder = recorded(tmp_path, [Right])
    engine.set_reference_hook(expectations.Replayer(tmp_path).hook)
    outcome = q1.evaluate(UsesTheReference)
    assert outcome.status == "error"
    assert outcome.message == "SolutionUnavailable: the reference of lesson99.q1 is not part of this release"
    engine.set_reference_hook(recorder.hook)       # recording: the answer's call is not recorded
    before = {token: len(entries) for token, entries in recorder.store("lesson99.q1").constructions.items()}
    assert q1.evaluate(UsesTheReference).status == "incorrect"   # 32 parameters plus its copy's
    after = {token: len(entries) for token, entries in recorder.store("lesson99.q1").constructions.items()}
    assert after == before


def test_a_damaged_recording_is_no_recording(hook, tmp_path):
    (tmp_path / "lesson99.json").write_text('{"format": 1, "tensors": {"$tensor": 3}')
    engine.set_reference_hook(expectations.Replayer(tmp_path).hook)
    assert q1.evaluate(Right).status == "unchecked"


def test_a_folder_that_is_not_a_release_is_never_emptied(tmp_path, capsys):
    from course_utils.exercises import release

    (tmp_path / "notes.txt").write_text("mine")
    assert release.main(["--publish-solutions", str(tmp_path)]) == 2
    assert "is not empty and holds no solutions" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine"
    graded_release._replace_folder(tmp_path / "new", "release.json")      # absent: nothing to do
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "release.json").write_text("{}")
    graded_release._replace_folder(tmp_path / "old", "release.json")
    assert not (tmp_path / "old").exists()
