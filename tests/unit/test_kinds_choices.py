"""``ModuleOnChoices`` (``course_utils.exercises.kinds.choices``) on a small exercise declared here: a
forward whose second argument chooses what runs passes in other spellings (layers found by shape, not by
name or order); a forward without the argument, a missing layer, an output of the wrong shape and each
declared mistake are named, in that order; a mistake may read every choice's output together; the
answer's layers compute with the check's weights; every choice runs in one round trip. Lesson 07's q1
and q4 are tested by their bank."""

import pytest
import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.kinds import LinearLayer, Mistake, ModuleOnChoices
from course_utils.exercises.testing import assert_check_errored, assert_check_failed, assert_check_passed
from course_utils.probes import client

HINTS = ["Look at the statement.", "Read the solution."]


class Flip(ModuleOnChoices):
    """``model(x, flip)``: ``fc(x)``, negated when ``flip`` is True."""

    id, title, why, hints = "lesson90.q8", "A layer, flipped on demand", "forward may branch.", HINTS
    sizes = [(3, 2), (4, 5)]
    takes_choice = "forward must take `flip` second; yours is `forward{signature}`."
    refuse = [Mistake("No parameters at all.", when=lambda s: s.count == 0)]
    wrong_shape = [Mistake("{choice}: shape {shape}, not {expected_shape}.",
                           when=lambda s: isinstance(s.got, torch.Tensor) and s.got.dim() != 2)]
    output_named = "the output with flip={choice}"
    mistakes = [
        Mistake("The flip works the wrong way round.",
                when=lambda s: checks.close(s.outputs[True], s.wanted[False])
                and checks.close(s.outputs[False], s.wanted[True])),
        Mistake("With flip={choice} you added a ReLU.", when=lambda s: checks.close(s.got, torch.relu(s.expected))),
    ]
    otherwise = "With flip={choice} the output is not what `fc` gives."

    def choices(self, n_in, n_out):
        return [True, False]

    def inputs(self, n_in, n_out):
        return checks.hidden_input(6, n_in, seed=11)

    def parameter_count(self, n_in, n_out):
        return n_in * n_out + n_out

    def layers(self, seen):
        n_in, n_out = seen.sizes
        return {"fc": LinearLayer(n_in, n_out, f"the layer ({n_in} → {n_out})")}

    def expected(self, layers, x, flip):
        return -layers["fc"](x) if flip else layers["fc"](x)


flip = Flip()


class Right(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.fc = nn.Linear(n_in, n_out)

    def forward(self, x, flip):
        y = self.fc(x)
        return -y if flip else y


class InASequential(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, n_out))

    def forward(self, x, negate=False):
        return self.body(x) * (-1 if negate else 1)


class Functional(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Linear(n_in, n_out)

    def forward(self, x, *options):
        return torch.neg(self.weight(x)) if options[0] else self.weight(x)


@pytest.mark.parametrize("answer", [Right, InASequential, Functional])
def test_a_forward_that_branches_passes_in_any_spelling(answer):
    assert_check_passed(flip, answer)


def variant(forward, init=None):
    """Right with another forward (and ``__init__``): a wrong answer in one method."""
    return type("Variant", (Right,), {"forward": forward, **({"__init__": init} if init else {})})


def _no_layer(self, n_in, n_out):
    nn.Module.__init__(self)


def _other_shape(self, n_in, n_out):          # as many parameters, another shape
    nn.Module.__init__(self)
    self.fc = nn.Linear(n_out * (n_in + 1) - 1, 1)


@pytest.mark.parametrize("answer, message", [
    (variant(lambda self, x: self.fc(x)), "forward must take `flip` second; yours is `forward(x)`."),
    (variant(lambda self, x, flip: x, _no_layer), "No parameters at all."),
    (variant(lambda self, x, flip: x, _other_shape),
     "No registered `nn.Linear(3, 2)` for the layer (3 → 2); your registered Linear layers: Linear(7, 1)."),
    (variant(lambda self, x, flip: self.fc(x).flatten()), "True: shape (12,), not (6, 2)."),
    (variant(lambda self, x, flip: self.fc(x)[:, :1]), "The output with flip=True has shape (6, 1); expected (6, 2)."),
    (variant(lambda self, x, flip: self.fc(x) if flip else -self.fc(x)), "The flip works the wrong way round."),
    (variant(lambda self, x, flip: torch.relu(Right.forward(self, x, flip))), "With flip=True you added a ReLU."),
    (variant(lambda self, x, flip: -self.fc(x)), "With flip=False the output is not what `fc` gives."),
    (variant(lambda self, x, flip: Right.forward(self, x, flip) + (x.shape[1] == 4)),
     "With flip=True the output is not what `fc` gives."),     # only the second size shows it
])
def test_each_mistake_is_named_in_order(answer, message):
    assert_check_failed(flip, answer, match=message)


def test_what_the_forward_raises_is_said_in_the_courses_words_with_the_students_line():
    outcome = assert_check_failed(flip, variant(lambda self, x, flip: self.fc(x.T)),
                                  match="Your model raised an error: the layer `fc`")
    assert "self.fc(x.T)" in outcome.message
    assert_check_errored(flip, variant(lambda self, x, flip: self.fc(x)[99]), match="IndexError")


def test_every_choice_runs_in_one_round_trip(monkeypatch):
    calls = []
    real = client.Session.requests

    def requests(self, batch):
        calls.append(sum(op == "call" for op, _ in batch))
        return real(self, batch)

    monkeypatch.setattr(client.Session, "requests", requests)
    assert_check_passed(flip, Right)
    assert 2 in calls and max(calls) == 2     # True and False together, once per size
