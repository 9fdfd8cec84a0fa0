"""lesson00's checks: alternative correct answers and each common mistake.

The reference, the stub and the hints of every exercise are tested once for all lessons in
``test_every_exercise.py``.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.exercises import lesson00 as ex
from course_utils.exercises.testing import assert_check_errored, assert_check_failed, assert_check_passed


# --- q0: make_images, the example Start here solves ---------------------------------------------------------------------------

@pytest.mark.parametrize("answer", [
    lambda batch_size: torch.zeros((batch_size, 3, 32, 32), dtype=torch.float32),
    lambda batch_size: torch.zeros(batch_size, 32, 32, 3).permute(0, 3, 1, 2),
    lambda n: torch.full((n, 3, 32, 32), 0.0),
])
def test_q0_alternatives_pass(answer):
    assert_check_passed(ex.q0, answer)


@pytest.mark.parametrize("answer, message", [
    (lambda b: torch.zeros(b, 32, 32, 3), "`make_images(5)` has shape (5, 32, 32, 3): that is channels last"),
    (lambda b: torch.zeros(3, 32, 32), "(3, 32, 32): one image, no batch dimension"),
    (lambda b: torch.zeros(8, 3, 32, 32), "returned a batch of 8 images; use the argument `batch_size`"),
    (lambda b: torch.zeros(b, 3, 32, 32, dtype=torch.long), "has dtype torch.int64; layers need torch.float32"),
    (lambda b: torch.ones(b, 3, 32, 32), "contains values other than zero"),
    (lambda b: np.zeros((b, 3, 32, 32)), "returned a NumPy array"),
    (lambda b: torch.zeros(b, 3, 28, 28), "`make_images(5)` has shape (5, 3, 28, 28); expected (5, 3, 32, 32)."),
    (lambda: torch.zeros(1, 3, 32, 32), "`make_images` cannot be called with (5)"),
])
def test_q0_mistakes_are_named(answer, message):
    assert_check_failed(ex.q0, answer, match=message)


def test_q0_hard_coded_one_image_fails_on_the_second_hidden_size():
    assert_check_failed(ex.q0, lambda b: torch.zeros(5, 3, 32, 32), match="`make_images(1)` returned a batch of 5")


def test_q0_student_error_points_at_their_line():
    outcome = assert_check_errored(ex.q0, lambda b: torch.zeros(b, 3, 32, "32"), match="TypeError: zeros()")
    assert outcome.location.place == "test_lesson00.py"


# --- q1: make_grayscale, what the lesson did not show ---------------------------------------------

@pytest.mark.parametrize("answer", [
    lambda batch_size, height, width: torch.zeros((batch_size, 1, height, width), dtype=torch.float32),
    lambda n, h, w: torch.zeros(n, h, w).unsqueeze(1),
    lambda n, h, w: torch.zeros(n, w, h, 1).permute(0, 3, 2, 1),
    lambda n, h, w: torch.empty(n, 1, h, w).fill_(0.0),
], ids=["tuple-dtype", "unsqueeze", "permute", "empty-fill"])
def test_q1_alternatives_pass(answer):
    assert_check_passed(ex.q1, answer)


@pytest.mark.parametrize("answer, message", [
    (lambda n, h, w: torch.zeros(n, 3, 32, 32), "returned the RGB 32×32 images of *Start here*"),
    (lambda n, h, w: torch.zeros(n, h, w), "`make_grayscale(5, 28, 20)` has shape (5, 28, 20): no channel dimension"),
    (lambda n, h, w: torch.zeros(n, h, w, 1), "that is channels last"),
    (lambda n, h, w: torch.zeros(n, 1, w, h), "height and width are swapped"),
    (lambda n, h, w: torch.zeros(n, 3, h, w), "has 3 channels; a grayscale image has exactly one"),
    (lambda n, h, w: torch.zeros(4, 1, h, w), "returned a batch of 4 images; use the argument `batch_size`"),
    (lambda n, h, w: torch.zeros(n, 1, h, w, dtype=torch.float64), "has dtype torch.float64"),
    (lambda n, h, w: torch.ones(n, 1, h, w), "contains values other than zero"),
    (lambda n, h, w: np.zeros((n, 1, h, w)), "returned a NumPy array"),
    (lambda n, h, w: torch.zeros(n, 1, 28, 28), "has shape (5, 1, 28, 28); expected (5, 1, 28, 20)"),
    (lambda batch_size: torch.zeros(batch_size, 1, 28, 28), "`make_grayscale` cannot be called with (5, 28, 20)"),
    (nn.Linear(1, 1), "You passed a module (a Linear); pass your function `make_grayscale` itself."),
])
def test_q1_mistakes_are_named(answer, message):
    assert_check_failed(ex.q1, answer, match=message)


def test_q1_hard_coded_size_fails_on_a_later_hidden_size():
    assert_check_failed(ex.q1, lambda n, h, w: torch.zeros(n, 1, 28, 20),
                        match="`make_grayscale(1, 7, 9)` has shape (1, 1, 28, 20)")


class LyingTensor(torch.Tensor):
    """A tensor subclass that answers every comparison with True."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.count_nonzero):
            return True if func is not torch.Tensor.count_nonzero else torch.tensor(0)
        return super().__torch_function__(func, types, args, kwargs or {})


def test_q1_a_tensor_subclass_cannot_lie_about_its_values():
    liar = lambda n, h, w: torch.ones(n, 1, h, w).as_subclass(LyingTensor)  # noqa: E731
    assert liar(1, 2, 2).count_nonzero().item() == 0          # it does lie to a plain call
    assert_check_failed(ex.q1, liar, match="contains values other than zero")


# --- q2: layer ---------------------------------------------------------------------------------

@pytest.mark.parametrize("answer", [
    nn.Linear(in_features=20, out_features=7),
    nn.Linear(20, 7, bias=True, dtype=torch.float32),
    nn.Linear(20, 7).requires_grad_(False),
])
def test_q2_alternatives_pass(answer):
    assert_check_passed(ex.q2, answer)


@pytest.mark.parametrize("answer, message", [
    (nn.Linear(7, 20), "Your layer maps 7 features to 20: the arguments are swapped."),
    (nn.Linear(20, 7, bias=False), "Your layer has no bias (`bias=False`)"),
    (nn.Linear, "That is the class `nn.Linear`; create a layer from it"),
    (nn.Conv1d(20, 7, 1), "Expected a layer made by `nn.Linear(...)`, got a `Conv1d` module."),
    (nn.Linear(20, 7).double(), "Your layer's weights are torch.float64"),
    (nn.Linear(20, 8), "Your layer maps 20 features to 8; expected 20 to 7."),
    ("nn.Linear(20, 7)", "got a str"),
])
def test_q2_mistakes_are_named(answer, message):
    assert_check_failed(ex.q2, answer, match=message)


def test_q2_sequential_is_not_a_linear_layer():
    assert_check_failed(ex.q2, nn.Sequential(nn.Linear(20, 7)), match="got a `Sequential` module")


# --- q3: count_parameters, all and trainable ------------------------------------------------------

def trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def total(model):
    return sum(p.numel() for p in model.parameters())


def count_with_a_loop(model):
    everything = learnable = 0
    for parameter in model.parameters():
        everything += math.prod(parameter.shape)
        if parameter.requires_grad:
            learnable += math.prod(parameter.shape)
    return everything, learnable


@pytest.mark.parametrize("answer", [
    count_with_a_loop,
    lambda model: (nn.utils.parameters_to_vector(model.parameters()).numel(),
                   sum(p.numel() for p in filter(lambda p: p.requires_grad, model.parameters()))),
    lambda model: [sum(p.numel() for _, p in model.named_parameters()),
                   total(model) - sum(p.numel() for p in model.parameters() if not p.requires_grad)],
], ids=["loop", "vector-filter", "list-by-difference"])
def test_q3_alternatives_pass(answer):
    assert_check_passed(ex.q3, answer)


@pytest.mark.parametrize("answer, message", [
    (lambda m: (len(list(m.parameters())), trainable(m)),
     "For nn.Linear(20, 7) you counted 2; it has 147 parameters. 2 is the number of parameter tensors"),
    (lambda m: (trainable(m), trainable(m)),
     "For a model whose first layer is frozen you counted 10; it has 30 parameters. You counted only trainable"),
    (lambda m: (sum(v.numel() for v in m.state_dict().values()), trainable(m)),
     "For nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)) you counted 33; it has 24 parameters. `state_dict()`"),
    (lambda m: (torch.tensor([p.numel() for p in m.parameters()]).sum(), trainable(m)),
     "`count_parameters` (the total) returned a tensor; return a Python int"),
    (lambda m: (147, 147), "For nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5)) you counted 147; it has 325"),
    (lambda m: (total(m), float(trainable(m))), "`count_parameters` (the trainable count) returned a float"),
    (lambda m: (sum(p.numel() for _, p in m.named_parameters(remove_duplicate=False)), trainable(m)),
     "For a model that uses one nn.Linear(5, 5) twice you counted 60; it has 30 parameters."),
    (lambda m: total(m), "For nn.Linear(20, 7) `count_parameters` returned one number, 147; return two"),
    (lambda m: (total(m), total(m)),
     "For a model whose first layer is frozen you counted 30 trainable parameters; 10 of its 30 have "
     "`requires_grad=True`. A frozen layer's parameters are not trainable"),
    (lambda m: (trainable(m), total(m)), "the two numbers are swapped; return `(total, trainable)`"),
    (lambda m: {"total": total(m), "trainable": trainable(m)}, "`count_parameters` returned a dict; return two ints"),
    (lambda m: (total(m), trainable(m), 0), "returned a tuple; return two ints"),
])
def test_q3_mistakes_are_named(answer, message):
    assert_check_failed(ex.q3, answer, match=message)


class AlwaysEqual(int):
    """An int that says it equals everything."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


class ShiftedFloat(float):
    """A float that pretends to be an int-valued count."""


def test_q3_an_int_subclass_that_equals_everything_is_refused():
    assert AlwaysEqual(1) == 147                                # it does lie to a plain comparison
    assert_check_failed(ex.q3, lambda m: (AlwaysEqual(1), AlwaysEqual(1)),
                        match="For nn.Linear(20, 7) you counted 1; it has 147")


def test_q3_an_int_subclass_with_the_right_count_passes():
    assert_check_passed(ex.q3, lambda m: (AlwaysEqual(total(m)), AlwaysEqual(trainable(m))))


def test_q3_a_float_subclass_is_refused():
    assert_check_failed(ex.q3, lambda m: (ShiftedFloat(total(m)), trainable(m)),
                        match="`count_parameters` (the total) returned a float; return a Python int.")


def test_q3_stub_raising_not_implemented_is_not_attempted():
    from course_utils.exercises.testing import assert_check_unattempted

    def count_parameters(model):
        # YOUR CODE HERE
        raise NotImplementedError

    assert_check_unattempted(ex.q3, count_parameters)


# --- answers written from a student's point of view (review of the checks) ---------------

@pytest.mark.parametrize("answer", [
    lambda b: torch.empty(b, 3, 32, 32).zero_(),
    lambda batch_size: torch.zeros(batch_size, 3, 32, 32, dtype=torch.float32),
], ids=["empty-then-zero_", "dtype-keyword"])
def test_make_images_student_variants_pass(answer):
    assert_check_passed(ex.q0, answer)


@pytest.mark.parametrize("answer, message", [
    (lambda b: torch.zeros(b, 3, 32, 32, dtype=torch.bool), "has dtype torch.bool"),
    (lambda b: torch.zeros(b, 3, 32, 32, dtype=torch.float64), "layers need torch.float32"),
    (lambda b: torch.zeros(b, 1, 32, 32), "expected (5, 3, 32, 32)"),
], ids=["bool", "float64", "grayscale"])
def test_make_images_student_mistakes(answer, message):
    assert_check_failed(ex.q0, answer, match=message)


def test_linear_layer_with_keywords_passes():
    assert_check_passed(ex.q2, nn.Linear(in_features=20, out_features=7))


def test_lazy_linear_is_explained():
    assert_check_failed(ex.q2, nn.LazyLinear(7), match="`nn.LazyLinear(7)` leaves the input size open")


def test_bilinear_is_not_a_linear_layer():
    assert_check_failed(ex.q2, nn.Bilinear(20, 20, 7), match="got a `Bilinear` module")


def test_numpy_integer_count_is_rejected():
    assert_check_failed(ex.q3, lambda m: (np.int64(total(m)), trainable(m)), match="return a Python int")


def test_counting_a_shared_layer_per_use_is_named_as_such():
    def per_use(model):
        return sum(p.numel() for m in model.modules(remove_duplicate=False) for p in m.parameters(recurse=False))
    outcome = assert_check_failed(ex.q3, lambda m: (per_use(m), trainable(m)),
                                  match="You counted the shared layer once for each time it is used")
    assert "state_dict" not in outcome.message


def test_counting_weights_only_names_the_biases():
    assert_check_failed(ex.q3, lambda m: (sum(p.numel() for n, p in m.named_parameters() if "weight" in n),
                                          trainable(m)), match="The biases are parameters too")
