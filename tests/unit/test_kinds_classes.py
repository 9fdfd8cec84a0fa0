"""``ClassOnCases`` (``course_utils.exercises.kinds.classes``) on a small container declared here: right
answers in other styles pass; each declared mistake (as built, as returned, as computed) is named; a
wrong signature is said with the check's own arguments and the advice; what the answer's call raises
is said in the exercise's words with the student's line; a layer passed twice reaches the answer as
one layer. Lesson 03's Chain and Lambda are tested by their banks."""

import copy

import pytest
import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.kinds import Built, ClassOnCases, Instance, Mistake, Raised, Twin
from course_utils.exercises.testing import assert_check_errored, assert_check_failed, assert_check_passed

HINTS = ["Look at the statement.", "Read the solution."]


class Composed:
    """The check's own ``Then``: ``second(first(x)) * scale``; mistakes reach its parts."""

    def __init__(self, first, second, scale=1.0):
        self.first, self.second, self.scale = first, second, scale

    def __call__(self, x):
        return self.second(self.first(x)) * self.scale


def _held(seen) -> int:
    """The numbers the given layers hold, a layer passed twice counted once."""
    return sum(p.numel() for layer in {id(a): a for a in seen.args}.values() for p in layer.parameters())


class Then(ClassOnCases):
    id, title, why, hints = "lesson90.q5", "Then(first, second, scale=1.0)", "A container chains.", HINTS
    advice = "`Then(first, second, scale=...)`: `def __init__(self, first, second, scale=1.0):`."
    built = [Mistake("{case} registers no parameters: keep the layers as attributes.",
                     when=lambda s: checks.parameter_count(s.model) == 0),
             Mistake(lambda s: f"{s.case.label} registers {checks.parameter_count(s.model)} parameters; its layers hold "
                               f"{_held(s)}.", when=lambda s: checks.parameter_count(s.model) != _held(s))]
    refuse = [Mistake("{case}(x) returned {kind}; return a tensor.", when=lambda s: type(s.got) is not torch.Tensor)]
    mistakes = [Mistake("{case}(x) ran the layers the other way round.", result=lambda r, x: r.first(r.second(x)) * r.scale),
                Mistake("{case}(x) ignored the scale.", when=lambda s: s.kwargs,
                        result=lambda r, x: r.second(r.first(x)))]
    otherwise = "{case}(x) is not second(first(x)) * scale."
    what = "your Then"
    raised = [Raised("{case}(x) fails ({said}): run `first`, then `second` on its output.", (RuntimeError,))]

    def make_cases(self):
        shared = Twin(nn.Linear, 3, 3)
        x = checks.hidden_input(4, 3)
        return [Instance((Twin(nn.Linear, 3, 3), Built(nn.Tanh)), (x,), label="`Then(linear, tanh)`"),
                Instance((Twin(nn.Linear, 3, 5), Twin(nn.Linear, 5, 2)), (x,), {"scale": 3.0},
                         label="`Then(linear, linear, scale=3.0)`"),
                Instance((shared, shared), (x,), label="`Then(layer, layer)`")]

    def reference(self, first, second, scale=1.0):
        return Composed(first, second, scale)


then = Then()


class Attributes(nn.Module):
    def __init__(self, first, second, scale=1.0):
        super().__init__()
        self.first, self.second, self.scale = first, second, scale

    def forward(self, x):
        return self.second(self.first(x)) * self.scale


class ListOfTwo(nn.Module):
    def __init__(self, *layers, **settings):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.settings = settings

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x * self.settings.get("scale", 1.0)


class SequentialThen(nn.Sequential):
    def __init__(self, first, second, scale=1.0):
        super().__init__(first, second)
        self.scale = scale

    def forward(self, x):
        return super().forward(x).mul(self.scale)


@pytest.mark.parametrize("answer", [Attributes, ListOfTwo, SequentialThen])
def test_class_on_cases_accepts_other_styles(answer):
    assert_check_passed(then, answer)


class PlainList(Attributes):
    def __init__(self, first, second, scale=1.0):
        nn.Module.__init__(self)
        self.layers, self.scale = [first, second], scale

    def forward(self, x):
        return self.layers[1](self.layers[0](x)) * self.scale


class Copies(Attributes):
    """A copy of each layer: a layer passed twice becomes two layers (twice the parameters)."""

    def __init__(self, first, second, scale=1.0):
        super().__init__(copy.deepcopy(first), copy.deepcopy(second), scale)


class Reversed(Attributes):
    def forward(self, x):
        return self.first(self.second(x)) * self.scale


class NoScale(Attributes):
    def forward(self, x):
        return self.second(self.first(x))


class AList(Attributes):
    def forward(self, x):
        return [super().forward(x)]


class Plus(Attributes):
    def forward(self, x):
        return self.second(self.first(x)) * self.scale + 1


class Cat(Attributes):
    def forward(self, x):
        return self.second(self.first(torch.cat([x, x], dim=1))) * self.scale


class TwoOnly(Attributes):
    def __init__(self, first, second):
        super().__init__(first, second)


class NoSuper(nn.Module):
    def __init__(self, first, second, scale=1.0):
        self.scale = scale

    def forward(self, x):
        return x


@pytest.mark.parametrize("answer, message", [
    (PlainList, "`Then(linear, tanh)` registers no parameters: keep the layers as attributes."),
    (Copies, "`Then(layer, layer)` registers 24 parameters; its layers hold 12."),
    (Reversed, "`Then(linear, tanh)`(x) ran the layers the other way round."),
    (NoScale, "`Then(linear, linear, scale=3.0)`(x) ignored the scale."),
    (AList, "`Then(linear, tanh)`(x) returned a list; return a tensor."),
    (Plus, "`Then(linear, tanh)`(x) is not second(first(x)) * scale."),
    (TwoOnly, "`TwoOnly(...)` cannot be called with (Linear(in_features=3, out_features=5, bias=True), "
              "Linear(in_features=5, out_features=2, bias=True), scale=3.0)"),
    (TwoOnly, "`Then(first, second, scale=...)`: `def __init__(self, first, second, scale=1.0):`."),
    (NoSuper, "`NoSuper.__init__` must call `super().__init__()` before anything else"),
    (Attributes(nn.Identity(), nn.Identity()), "Pass the class itself, not an instance"),
])
def test_class_on_cases_names_each_declared_mistake(answer, message):
    assert_check_failed(then, answer, match=message)


def test_what_the_call_raises_is_said_in_the_exercises_words_with_the_students_line():
    outcome = assert_check_failed(then, Cat, match="`Then(linear, tanh)`(x) fails (mat1 and mat2 shapes cannot be "
                                                   "multiplied (4x6 and 3x3)): run `first`, then `second` on its "
                                                   "output. (At test_kinds_classes.py")
    assert "torch.cat" in outcome.message


def test_an_error_no_raised_entry_knows_stays_an_error_in_the_students_code():
    class Typo(Attributes):
        def forward(self, x):
            return self.second(self.frist(x))

    assert_check_errored(then, Typo, match="AttributeError")


def test_a_layer_passed_twice_reaches_the_answer_as_one_layer():
    """The right answer registers 12 numbers for `Then(layer, layer)`: one Linear(3, 3), not two."""
    class Counts(Attributes):
        seen = []

        def __init__(self, first, second, scale=1.0):
            super().__init__(first, second, scale)
            Counts.seen.append(first is second)

    assert_check_passed(then, Counts)
    assert Counts.seen[2::3] == [True] * (len(Counts.seen) // 3) and not any(Counts.seen[0::3])
