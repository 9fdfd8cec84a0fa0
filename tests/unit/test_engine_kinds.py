"""The exercise kinds (``course_utils.exercises.kinds``) on small exercises declared here: each kind
accepts right answers in other styles and names each declared mistake; what the student's code
raises is said in the exercise's words; a debugging exercise's broken model shows its symptoms;
a target is compared exactly. Lessons 00 and 01 (``FunctionOnCases``) are tested by their banks."""

import copy
from fractions import Fraction

import pytest
import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.kinds import (Case, DebugModel, FunctionOnCases, Layers, Mistake,
                                          ModuleWithCopiedWeights, Raised, SameParameterCount, Score, Symptom,
                                          TrainToTarget, Twin)
from course_utils.exercises.testing import (assert_check_errored, assert_check_failed, assert_check_passed,
                                            assert_check_unattempted)
from course_utils.probes.client import LocalTransport

HINTS = ["Look at the statement.", "Read the solution."]


# --- FunctionOnCases ------------------------------------------------------------------------------

class Double(FunctionOnCases):
    id, title, why, hints = "lesson90.q1", "Double a tensor", "Twice is x + x.", HINTS
    function = "double"
    cases = [Case((torch.arange(3.0),), label="a vector"), Case((torch.ones(2, 2),), label="a matrix")]
    refuse = [Mistake("`double` returned {kind}; return a tensor.", when=lambda s: type(s.got) is not torch.Tensor),
              Mistake("For {label} you changed the input in place.", when=lambda s: s.run.changed)]
    mistakes = [Mistake("For {label} you squared it.", result=lambda x: x * x),
                Mistake("For {label} the shape {shape} is not {expected_shape}.",
                        when=lambda s: s.shape != s.expected_shape)]
    otherwise = "For {label} your values differ."
    raised = [Raised("For {label} your function fails ({said}): multiply by 2.", (RuntimeError,))]

    def expected(self, x):
        return 2 * x


double = Double()


@pytest.mark.parametrize("answer", [lambda x: 2 * x, lambda x: x + x, lambda x: torch.mul(x, 2.0)])
def test_function_on_cases_accepts_other_idioms(answer):
    assert_check_passed(double, answer)


@pytest.mark.parametrize("answer, message", [
    (lambda x: x.tolist(), "`double` returned a list; return a tensor."),
    (lambda x: x.mul_(2), "For a vector you changed the input in place."),
    (lambda x: x * x, "For a vector you squared it."),
    (lambda x: (2 * x).reshape(-1, 1), "For a vector the shape (3, 1) is not (3,)."),
    (lambda x: 2 * x + 1, "For a vector your values differ."),
    (lambda x: x @ torch.ones(5, 5), "For a vector your function fails (mat1 and mat2 shapes cannot be multiplied "
                                     "(1x3 and 5x5)): multiply by 2. (At test_engine_kinds.py"),
    (nn.Identity(), "You passed a module"),
    (lambda: 0, "`double` cannot be called with (tensor of shape (3,))"),
])
def test_function_on_cases_names_each_declared_mistake(answer, message):
    assert_check_failed(double, answer, match=message)


def test_an_error_no_raised_entry_knows_stays_an_error_in_the_students_code():
    outcome = assert_check_errored(double, lambda x: x["key"], match="IndexError")
    assert outcome.location.place == "test_engine_kinds.py"


def test_the_stub_is_not_attempted_never_translated():
    def stub(x):
        raise NotImplementedError

    assert_check_unattempted(double, stub)


# --- FunctionOnCases: a model handed in (Twin) and a model returned ------------------------------

class Half(nn.Module):
    def forward(self, x):
        return x / 2


class ThenHalve(FunctionOnCases):
    id, title, why, hints = "lesson90.q4", "Halve a layer's output", "A model is a function.", HINTS
    function = "then_halve"
    cases = [Case((Twin(nn.Linear, 3, 2),), label="Linear(3, 2)"), Case((Twin(nn.Linear, 5, 4),), label="Linear(5, 4)")]
    refuse = [Mistake("`then_halve` returned {kind}; return a model.", when=lambda s: s.tree is None),
              Mistake("You changed the {label} you were given.",   # read back on the answer's side after the call
                      when=lambda s: not checks.equal(s.given[0].state_dict()["weight"], s.args[0].weight)),
              Mistake(lambda s: f"Your model fails on an input of shape {tuple(s.inputs[0].shape)}.",
                      when=lambda s: isinstance(s.output, RuntimeError) and "mat1" in str(s.output))]
    mistakes = [Mistake("For {label} your model forgets to halve.",   # a known result: compared with the output
                        result=lambda layer: layer(checks.hidden_input(4, layer.in_features))),
                Mistake(lambda s: f"For {s.case.label} your model holds new weights ({len(s.children)} layers).",
                        when=lambda s: type(s.output) is torch.Tensor
                        and not any(checks.equal(p.value, s.args[0].weight) for p in s.got.parameters()))]
    otherwise = "For {label} your model computes something else."

    def inputs(self, layer):
        return (checks.hidden_input(4, layer.in_features),)

    def expected(self, layer):
        return nn.Sequential(layer, Half())     # a model: compared by its outputs on the same inputs


then_halve = ThenHalve()


class HalvedLayer(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return 0.5 * self.layer(x)


@pytest.mark.parametrize("answer", [lambda layer: nn.Sequential(layer, Half()), lambda layer: HalvedLayer(layer),
                                    lambda layer: nn.Sequential(copy.deepcopy(layer), Half())])
def test_a_returned_model_is_compared_by_its_outputs_on_a_twin_of_the_checks_model(answer):
    assert_check_passed(then_halve, answer)


def zeroes_the_given_layer(layer):
    with torch.no_grad():
        layer.weight.zero_()
    return nn.Sequential(layer, Half())


@pytest.mark.parametrize("answer, message", [
    (lambda layer: [layer, Half()], "`then_halve` returned a list; return a model."),
    (zeroes_the_given_layer, "You changed the Linear(3, 2) you were given."),
    (lambda layer: nn.Sequential(layer, nn.Linear(7, 7)), "Your model fails on an input of shape (4, 3)."),
    (lambda layer: nn.Sequential(layer), "For Linear(3, 2) your model forgets to halve."),
    (lambda layer: nn.Sequential(nn.Linear(layer.in_features, layer.out_features), Half()),
     "For Linear(3, 2) your model holds new weights (2 layers)."),
    (lambda layer: nn.Sequential(layer, Half(), Half()), "For Linear(3, 2) your model computes something else."),
])
def test_a_returned_model_and_a_given_one_read_back_name_each_mistake(answer, message):
    assert_check_failed(then_halve, answer, match=message)


def test_an_error_of_the_returned_model_no_mistake_names_stays_an_error_in_the_students_code():
    class Broken(nn.Module):
        def forward(self, x):
            return x["key"]

    assert_check_errored(then_halve, lambda layer: Broken(), match="IndexError")


def test_a_stub_inside_the_returned_model_is_not_attempted():
    class Stub(nn.Module):
        def forward(self, x):
            raise NotImplementedError("todo")

    assert_check_unattempted(then_halve, lambda layer: Stub())


def test_twins_cases_and_returned_models_each_take_one_round_trip():
    class Counting(LocalTransport):
        sent = 0

        def send(self, text):
            Counting.sent += 1
            return super().send(text)

    outcome = then_halve.judge(Counting({"answer": lambda layer: nn.Sequential(layer, Half())}), "answer")
    assert outcome.status == "correct"
    # the target; both twins built; both weighted; both calls; both models run and read; the refuse reading
    # each given layer back (a check sends no end)
    assert Counting.sent == 7


# --- ModuleWithCopiedWeights ----------------------------------------------------------------------

class Reference(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(n_in, 8), nn.Linear(8, n_out)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class TwoLayers(ModuleWithCopiedWeights):
    id, title, why, hints = "lesson90.q2", "Two layers with a ReLU between", "A ReLU makes it nonlinear.", HINTS
    sizes = [(4, 3), (6, 2)]
    requires = [SameParameterCount(), Layers(nn.Linear, count=2)]
    mistakes = [Mistake("{name}{sizes}: the ReLU between the layers is missing.",
                        result=lambda ref, x: ref.fc2(ref.fc1(x))),
                Mistake("{name}{sizes}: a ReLU after the last layer too.",
                        result=lambda ref, x: torch.relu(ref(x)))]
    otherwise = "{name}{sizes} computes something else than fc2(relu(fc1(x)))."
    advice = "fc1 reads the input's features and fc2 reads fc1's 8."

    def reference(self, n_in, n_out):
        return Reference(n_in, n_out)

    def inputs(self, n_in, n_out):
        return (checks.hidden_input(5, n_in, seed=7),)


two_layers = TwoLayers()


class Renamed(nn.Module):
    """The same network with other names, and the last layer registered first."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.head = nn.Linear(8, n_out)
        self.body = nn.Linear(n_in, 8)

    def forward(self, x):
        return self.head(nn.functional.relu(self.body(x)))


class AsSequential(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_in, 8), nn.ReLU(), nn.Linear(8, n_out))

    def forward(self, x):
        return self.net(x)


def variant(forward, init=None):
    """A class like Reference whose forward (or __init__) is replaced."""
    body = {"forward": forward}
    if init is not None:
        body["__init__"] = init
    return type("Variant", (Reference,), body)


@pytest.mark.parametrize("answer", [Reference, Renamed, AsSequential])
def test_module_with_copied_weights_accepts_other_names_and_orders(answer):
    assert_check_passed(two_layers, answer)


def plain_list_init(self, n_in, n_out):
    nn.Module.__init__(self)
    self.layers = [nn.Linear(n_in, 8), nn.Linear(8, n_out)]


def forgot_super(self, n_in, n_out):
    self.fc1 = nn.Linear(n_in, 8)


@pytest.mark.parametrize("answer, message", [
    (variant(lambda self, x: self.fc2(self.fc1(x))), "Variant(4, 3): the ReLU between the layers is missing."),
    (variant(lambda self, x: torch.relu(self.fc2(torch.relu(self.fc1(x))))),
     "Variant(4, 3): a ReLU after the last layer too."),
    (variant(lambda self, x: self.fc2(torch.tanh(self.fc1(x)))),
     "Variant(4, 3) computes something else than fc2(relu(fc1(x)))."),
    (variant(lambda self, x: self.fc2(x)), "the layer `fc2` (Linear, 8 → 3 features) received 4 features per "
                                           "sample: its in_features must be what the layers before it produce. fc1 "
                                           "reads the input's features and fc2 reads fc1's 8."),
    (variant(Reference.forward, plain_list_init), "Layers stored in a plain Python list or dict (`self.layers`)"),
    (variant(Reference.forward, forgot_super), "must call `super().__init__()`"),
    (Reference(4, 3), "Pass the class itself, not an instance"),
])
def test_module_with_copied_weights_names_each_mistake(answer, message):
    assert_check_failed(two_layers, answer, match=message)


def test_a_structure_requirement_is_checked_before_any_output():
    class ThreeLayers(Reference):
        def __init__(self, n_in, n_out):
            super().__init__(n_in, n_out)
            self.fc1, self.mid = nn.Linear(n_in, 4), nn.Linear(4, 8)

        def forward(self, x):
            return self.fc2(torch.relu(self.mid(self.fc1(x))))

    assert_check_failed(two_layers, ThreeLayers, match="registered parameters; expected")


# --- DebugModel -----------------------------------------------------------------------------------

BROKEN = '''
class Stack(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.steps = [nn.Linear(n_in, 8), nn.Linear(8, n_out)]

    def forward(self, x):
        return self.steps[1](torch.relu(self.steps[0](x))).detach()
'''


class FixStack(DebugModel):
    id, title, why, hints = "lesson90.q3", "Debug Stack", "Registered layers are trained.", HINTS
    broken = BROKEN
    sizes = [(4, 3)]
    otherwise = "{name}{sizes} computes something else than the broken model meant: fc2(relu(fc1(x)))."
    symptoms = [
        Symptom("`list({name}{sizes}.parameters())` is empty: an optimizer would have nothing to train.",
                present=lambda model, seen: checks.parameter_count(model) == 0),
        Symptom("The output of {name}{sizes} carries no gradient: `loss.backward()` would reach no weight.",
                present=lambda model, seen: not model.run(torch.zeros(1, *seen.sizes[:1])).connected),
    ]

    def reference(self, n_in, n_out):
        return Reference(n_in, n_out)

    def inputs(self, n_in, n_out):
        return (checks.hidden_input(5, n_in, seed=3),)


fix_stack = FixStack()


def test_the_broken_model_shows_every_symptom():
    assert fix_stack.broken_symptoms() == [0, 1]
    assert_check_failed(fix_stack, fix_stack.broken_class(), match="`list(Stack(4, 3).parameters())` is empty")


@pytest.mark.parametrize("answer", [Reference, AsSequential])
def test_a_fixed_model_passes(answer):
    assert_check_passed(fix_stack, answer)


@pytest.mark.parametrize("answer, message", [
    (variant(lambda self, x: Reference.forward(self, x).detach()), "carries no gradient"),
    (variant(lambda self, x: self.fc2(self.fc1(x))), "computes something else"),
])
def test_a_half_fixed_model_is_told_the_symptom_still_there(answer, message):
    outcome = assert_check_failed(fix_stack, answer, match=message)
    assert "ModuleList" not in outcome.message      # the symptom, never the fix


# --- TrainToTarget --------------------------------------------------------------------------------

class Accurate(TrainToTarget):
    id, title, why, hints = "lesson90.q4", "At least 95 %", "Counted exactly.", HINTS
    target = Fraction(95, 100)
    short = "Your model got {score} of the test images right; at least {target} is needed."

    def measure(self, answer):
        hits, total = checks.call(answer, what="`evaluate`")
        return Score(hits=hits, total=total)


accurate = Accurate()


def test_a_target_is_compared_exactly():
    assert float(Fraction(285, 300)) * 100 >= 95 and float(torch.tensor(285 / 300)) < 0.95   # float32 says 94.99...
    assert_check_passed(accurate, lambda: (285, 300))
    assert_check_passed(accurate, lambda: (300, 300))
    assert_check_failed(accurate, lambda: (284, 300),
                        match="Your model got 94.7 % of the test images right; at least 95 % is needed.")


def test_a_loss_target_is_lower_is_better():
    class Low(TrainToTarget):
        id, title, why, hints = "lesson90.q5", "A low loss", "Lower is better.", HINTS
        target, higher_is_better = 0.5, False
        short = "Your loss is {score}; at most {target} is needed."

        def measure(self, answer):
            return Score(value=float(checks.call(answer, what="`loss`")))

    assert_check_passed(Low(), lambda: 0.25)
    assert_check_failed(Low(), lambda: 0.75, match="Your loss is 0.75; at most 0.5 is needed.")
