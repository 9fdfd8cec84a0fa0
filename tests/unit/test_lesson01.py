"""Lesson 01's checks, where a right/wrong answer is not the whole test: the student's line in the
message, answers that lie about their values, the stub, the reference measured from PyTorch.

The answer bank (right answers in other idioms, wrong ones with their messages) is
``tests/exercise_answers/lesson01.py``, run by ``test_every_exercise.py``."""

import pytest
import torch
from torch import nn

from course_utils.exercises import lesson01 as ex
from course_utils.exercises.testing import assert_check_failed, assert_check_unattempted

EXERCISES = [ex.q1, ex.q2, ex.q3, ex.q4]


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda q: q.id)
def test_a_stub_that_raises_not_implemented_is_not_attempted(exercise):
    def stub(*args, **kwargs):
        raise NotImplementedError

    assert_check_unattempted(exercise, stub)


# --- what PyTorch (or Python) raises, said in the exercise's terms, with the student's line ------

def add_none_safe(b):
    return 0 if b is None else b


def test_q1_a_bias_added_as_a_column_is_explained_with_the_students_line():
    outcome = assert_check_failed(
        ex.q1, lambda x, w, b: torch.mm(x, w.T) + b[:, None],
        match="For x (4, 3), weight (3, 3) your function fails (The size of tensor a (4) must match the size of "
              "tensor b (3) at non-singleton dimension 0): two tensors combined element by element have shapes "
              "that do not broadcast. The bias has one value per output feature")
    assert "(At test_lesson01.py, line" in outcome.message and "b[:, None]" in outcome.message


def test_q1_a_product_that_cannot_run_is_explained():
    outcome = assert_check_failed(
        ex.q1, lambda x, w, b: x @ w.T + add_none_safe(b) if w.shape[0] == w.shape[1] else x @ w + add_none_safe(b),
        match="For x (5, 3), weight (2, 3) your function fails (mat1 and mat2 shapes cannot be multiplied (5x3 and "
              "2x3)): the two inner sizes of a matrix product must agree.")
    assert "(At test_lesson01.py, line" in outcome.message


def size_by_running_a_conv_on_one_row(size, kernel_size, stride=1, padding=0, dilation=1):
    conv = nn.Conv2d(1, 1, kernel_size, stride=stride, padding=padding, dilation=dilation)
    return conv(torch.zeros(1, 1, size)).shape[-1]     # (C, H, W) with H = 1: the kernel does not fit


def test_q2_a_convolution_run_on_the_wrong_input_is_explained():
    outcome = assert_check_failed(
        ex.q2, size_by_running_a_conv_on_one_row,
        match="`conv_output_size(size=32, kernel_size=3)` fails inside PyTorch (Calculated padded input size per "
              "channel: (1 x 32). Kernel size: (3 x 3). Kernel size can't be greater than actual input size): "
              "these settings are valid for an `nn.Conv2d` on a (1, 1, size, size) input.")
    assert "`return conv(torch.zeros(1, 1, size)).shape[-1]" in outcome.message


def test_q3_a_tuple_kernel_multiplied_as_a_number_names_the_students_line():
    outcome = assert_check_failed(ex.q3, lambda i, o, k, bias=True: o * i * k * k + (o if bias else 0),
                                  match="`kernel_size` is a tuple (height, width) here, (3, 1), not a number.")
    assert "(At test_lesson01.py, line" in outcome.message


def test_q2_reference_sizes_are_measured_from_pytorch():
    assert ex.reference_size(32, 3) == 30
    assert ex.reference_size(10, 3, 3, 0) == 3
    assert ex.reference_size(32, 3, 1, 0, 2) == 28


# --- answers that lie: compared as plain tensors and ints ---------------------------------------

class AgreeableTensor(torch.Tensor):
    """Makes torch.allclose and torch.equal say True whatever the values."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.allclose, torch.Tensor.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


def by_movedim(images):
    return images[:, None] if images.ndim == 3 else torch.movedim(images, -1, 1)


def test_a_tensor_whose_allclose_always_agrees_is_refused_by_linear_by_hand():
    lie = lambda x, w, b: torch.zeros(x.shape[0], w.shape[0]).as_subclass(AgreeableTensor)  # noqa: E731
    assert torch.allclose(lie(torch.ones(2, 3), torch.ones(4, 3), None), torch.ones(2, 4))
    assert_check_failed(ex.q1, lie, match="Your result does not change when `weight` and `bias` change")


def test_a_tensor_whose_equal_always_agrees_is_refused_by_to_conv_layout():
    lie = lambda t: by_movedim(t).reshape(by_movedim(t).shape).flip(-1).as_subclass(AgreeableTensor)  # noqa: E731
    assert torch.equal(lie(torch.arange(4.0).reshape(1, 2, 2)), torch.zeros(1, 1, 2, 2))
    assert_check_failed(ex.q4, lie, match="the shape is right but the pixels moved")


class AlwaysEqual(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


def test_an_int_that_equals_everything_is_refused_by_conv_output_size():
    assert AlwaysEqual(0) == 30
    assert_check_failed(ex.q2, lambda *args, **kwargs: AlwaysEqual(0), match="returned 0; an `nn.Conv2d`")


def test_a_float_subclass_is_refused_by_conv2d_parameters():
    half = type("Half", (float,), {})
    assert_check_failed(ex.q3, lambda *args, **kwargs: half(3 * 16 * 25 + 16),
                        match="`conv2d_parameters` returned a float; return a Python int.")
