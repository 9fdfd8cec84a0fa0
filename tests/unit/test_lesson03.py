"""Lesson 03's checks, where a right/wrong answer is not the whole test: the student's line in the
message, the broken model the statement hands out, the first message of a debugging exercise.

The answer bank (right answers in other idioms, wrong ones with their messages) is
``tests/exercise_answers/lesson03.py``, run by ``test_every_exercise.py``."""

import linecache
import textwrap

import pytest
import torch
from torch import nn

from course_utils.exercises import lesson03 as ex
from course_utils.exercises.testing import assert_check_failed, assert_check_unattempted


def defined(source, name):
    """Run a student's cell (dedented) and return what it defines; its source is findable, as in IPython."""
    source = textwrap.dedent(source)
    filename = f"<cell defining {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"nn": nn, "torch": torch}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


class Stub(nn.Module):
    def __init__(self, *args):
        super().__init__()
        raise NotImplementedError


def stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize("exercise, answer", [(ex.q1, stub), (ex.q2, Stub), (ex.q3, Stub), (ex.q4, stub),
                                              (ex.q5, Stub)], ids=lambda v: getattr(v, "id", ""))
def test_a_stub_that_raises_not_implemented_is_not_attempted(exercise, answer):
    assert_check_unattempted(exercise, answer)


# --- a forgotten super().__init__(), with the student's line --------------------------------------

class NoSuper(nn.Module):
    def __init__(self, *layers):
        self.layers = nn.ModuleList(layers)


def test_q2_a_forgotten_super_names_the_students_line():
    assert_check_failed(ex.q2, NoSuper, match="`NoSuper.__init__` must call `super().__init__()` before it assigns a "
                                              "layer: that call creates the registries `self.name = ...` writes "
                                              "into. (At test_lesson03.py, line")


FORGOT_SUPER = defined('''
    class Lambda(nn.Module):
        def __init__(self, fn, *args, **kwargs):
            self.fn = fn
            self.args, self.kwargs = args, kwargs

        def forward(self, x):
            return self.fn(x, *self.args, **self.kwargs)
''', "Lambda")


def test_q3_a_forgotten_super_names_the_line_of_the_students_init():
    assert_check_failed(ex.q3, FORGOT_SUPER, match="`Lambda.__init__` must call `super().__init__()` before anything "
                                                   "else (At <cell defining Lambda>, line 3: `def __init__(self, fn, "
                                                   "*args, **kwargs):`)")


# --- what PyTorch raises, in the exercise's terms, with the student's line -------------------------

def test_q1_a_layer_name_the_model_does_not_have_is_explained():
    outcome = assert_check_failed(ex.q1, lambda net: nn.Sequential(net.fc1, net.act, net.fc2),
                                  match="`to_sequential` asks the model for a layer it does not have ('ManualNet' "
                                        "object has no attribute 'fc1'): a ManualNet's layers are named `hidden`")
    assert "(At test_lesson03.py, line" in outcome.message


class ChainPreallocated(nn.Module):
    """Outputs stored in one tensor made for the input's shape: right while no layer changes the size."""

    def __init__(self, *layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        outputs = torch.empty(len(self.layers), *x.shape)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            outputs[i] = x
        return list(outputs)


def test_q2_a_chain_that_only_works_while_sizes_stay_is_explained():
    outcome = assert_check_failed(
        ex.q2, ChainPreallocated, match="Your Chain works while every layer keeps the size of its input, but fails "
                                        "when the layers change it (Linear(3 → 8), ReLU, Linear(8 → 2) on an input "
                                        "of shape (2, 3): The expanded size of the tensor (3) must match")
    assert "`outputs[i] = x`" in outcome.message


class CatPaths(nn.Module):
    def __init__(self, features, n_out):
        super().__init__()
        self.path_a = nn.Sequential(nn.Linear(features, features), nn.ReLU())
        self.path_b = nn.Sequential(nn.Linear(features, features), nn.ReLU())
        self.head = nn.Linear(features, n_out)

    def forward(self, x):
        return self.head(torch.cat([self.path_a(x), self.path_b(x)], dim=1))


def test_q5_a_forward_that_cannot_run_is_explained_with_the_students_line():
    outcome = assert_check_failed(
        ex.q5, CatPaths, match="Your TwoPaths, run on an input of shape (4, 6), raised an error: the layer `head` "
                               "(Linear, 6 → 3 features) received 12 features per sample")
    assert "Each path maps 6 features to 6; the head reads their sum." in outcome.message
    assert "torch.cat([self.path_a(x), self.path_b(x)], dim=1)" in outcome.message


# --- q5: the broken model of the statement ---------------------------------------------------------

BROKEN = defined(ex.BROKEN_TWO_PATHS, "BrokenTwoPaths")


def test_q5_statement_code_is_the_broken_model():
    """The code the student is handed really has all three faults the check names, and shows the symptoms."""
    assert ex.q5.broken_symptoms() == [0, 1]
    model = BROKEN(6, 3)
    assert model.path_a[0] is model.path_b[0]
    assert len(model.state_dict()) == 12 and len(list(model.parameters())) == 4
    x = torch.randn(2, 6)
    assert torch.equal(model(x), model.head(model.path_b(model.path_a(x))))


def test_q5_the_first_message_for_the_handed_out_code_names_the_symptom_not_the_fix():
    message = assert_check_failed(
        ex.q5, BROKEN, match="`TwoPaths(6, 3)` holds one Linear(6 → 6), not two: the two paths are the very same "
                             "layer, so they share one weight and can never learn different things. How is `path_b` "
                             "made?").message
    assert "nn.Linear(" not in message and "[:]" not in message
    assert "Sequential" not in ex.q5.title and "belie" not in ex.q5.title
    assert len(ex.q5.hints) >= 3 and "self.path_a(x) + self.path_b(x)" in ex.q5.hints[-1]
    assert not any("self.path_a(x) + self.path_b(x)" in hint for hint in ex.q5.hints[:-1])
