"""Lesson 02's checks, where a right/wrong answer is not the whole test: the stub inside a class,
the student's line in the message, the broken models the statements hand out, the first message
of a debugging exercise.

The answer bank (right answers in other idioms, wrong ones with their messages) is
``tests/exercise_answers/lesson02.py``, run by ``test_every_exercise.py``."""

import textwrap

import pytest
import torch
from torch import nn

from course_utils.exercises import lesson02 as ex
from course_utils.exercises.testing import assert_check_failed, assert_check_unattempted


def defined(source, name):
    namespace = {"nn": nn, "torch": torch}
    exec(textwrap.dedent(source), namespace)
    return namespace[name]


def test_stub_inside_a_class_is_not_attempted():
    class Stub(nn.Module):
        def __init__(self, *args):
            super().__init__()
            raise NotImplementedError

    for exercise in (ex.q1, ex.q2, ex.q3, ex.q5):
        assert_check_unattempted(exercise, Stub)

    def stub(module):
        raise NotImplementedError

    assert_check_unattempted(ex.q4, stub)


# --- the statements' broken models -------------------------------------------------------------

BROKEN_DEEP_STACK = defined(ex.BROKEN_DEEP_STACK, "DeepStack")
BROKEN_SCALED_MLP = defined(ex.BROKEN_SCALED_MLP, "BrokenScaledMLP")


def test_q2_statement_code_is_one_layer_in_a_plain_list():
    model = BROKEN_DEEP_STACK(8, 3)
    assert list(model.parameters()) == [] and len({id(layer) for layer in model.layers}) == 1
    assert_check_failed(ex.q2, BROKEN_DEEP_STACK,
                        match="Layers stored in a plain Python list or dict (`self.layers`) are not registered")


def test_q5_statement_code_has_the_faults_the_check_names():
    """Layers in a plain dict and a plain tensor (symptoms 0 and 1); not a buffer (2, a half-fix)."""
    assert ex.q5.broken_symptoms() == [0, 1]
    model = BROKEN_SCALED_MLP(4, 8)
    assert list(model.parameters()) == []
    with pytest.raises(ValueError, match="empty parameter list"):
        torch.optim.SGD(model.parameters(), lr=0.1)


def test_q5_the_first_message_for_the_handed_out_code_names_the_symptom_not_the_fix():
    message = assert_check_failed(
        ex.q5, BROKEN_SCALED_MLP,
        match="`ScaledMLP(4, 8).parameters()` lists neither Linear layer, so an optimizer would never see their "
              "weights (and `SGD` refuses a model with no parameters at all). Look at where `__init__` keeps them: "
              "`self.layers`.").message
    assert "ModuleDict" not in message and "nn.Parameter" not in message
    assert all(word not in ex.q5.title for word in ("ModuleDict", "Parameter", "register", "hooks every"))
    assert len(ex.q5.hints) >= 3 and "nn.ModuleDict" in ex.q5.hints[-1]
    assert not any("ModuleDict" in hint or "nn.Parameter(" in hint for hint in ex.q5.hints[:-1])


# --- what PyTorch raises, in the exercise's terms, with the student's line -------------------------

def test_q1_layers_run_out_of_order_are_explained_with_the_students_line():
    class OutOfOrder(nn.Module):
        def __init__(self, n_in, hidden, n_out):
            super().__init__()
            self.fc1, self.fc2, self.fc3 = nn.Linear(n_in, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, n_out)

        def forward(self, x):
            return self.fc3(torch.relu(self.fc1(torch.relu(self.fc2(x)))))

    outcome = assert_check_failed(
        ex.q1, OutOfOrder,
        match="Your network, run on an input of shape (7, 6), raised an error: the layer `fc2` (Linear, 8 → 8 features) "
              "received 6 features per sample")
    assert "`forward` runs the layers in the order `__init__` creates them" in outcome.message
    assert "self.fc2(x)" in outcome.message


def test_q2_a_layer_of_the_wrong_width_is_explained_in_the_exercises_terms():
    class Wider(nn.Module):
        def __init__(self, width, depth):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])

        def forward(self, x):
            for layer in self.layers:
                x = torch.relu(layer(torch.cat([x, x], dim=1)))
            return x

    outcome = assert_check_failed(
        ex.q2, Wider, match="Your model, run on an input of shape (5, 6), raised an error: a Linear layer (Linear, "
                            "6 → 6 features) received 12 features per sample")
    assert "Every layer of the stack reads and returns 6 features." in outcome.message
    assert "(At test_lesson02.py, line" in outcome.message


def test_q3_a_decoder_that_multiplies_by_the_transposed_weight_is_explained_with_the_students_line():
    class Transposed(nn.Module):
        def __init__(self, features, code):
            super().__init__()
            self.encoder = nn.Linear(features, code)
            self.decoder_bias = nn.Parameter(torch.zeros(features))

        def forward(self, x):
            return torch.relu(self.encoder(x)) @ self.encoder.weight.T + self.decoder_bias

    assert_check_failed(ex.q3, Transposed, match="Your forward fails: mat1 and mat2 shapes cannot be multiplied "
                                                 "(4x3 and 8x3). The encoder's weight has shape (3, 8) and the code h "
                                                 "has shape (batch, 3), so decoding is `h @ self.encoder.weight`: "
                                                 "(batch, code) @ (code, features). (At test_lesson02.py, line")


def kaiming_on_everything(module):
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(module.weight)
        nn.init.kaiming_normal_(module.bias)


def normal_without_no_grad(module):
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv2d):
        module.weight.normal_(0, 0.01)


@pytest.mark.parametrize("answer, message", [
    (kaiming_on_everything, "`model.apply(init_weights)` fails (Fan in and fan out can not be computed for tensor "
                            "with fewer than 2 dimensions): Xavier and Kaiming initialisations compute their scale"),
    (normal_without_no_grad, "a parameter changed in place while autograd records. The `nn.init` functions do it "
                             "under `torch.no_grad()` for you"),
])
def test_q4_what_pytorch_raises_is_explained_with_the_students_line(answer, message):
    outcome = assert_check_failed(ex.q4, answer, match=message)
    assert "(At test_lesson02.py, line" in outcome.message
