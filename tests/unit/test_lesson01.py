"""Checks of lesson 01's exercises: other correct answers, and a bank of common mistakes, each
with the words the student must read (the reference, the stub and the hints of every exercise
are tested once for all lessons in ``test_every_exercise.py``)."""

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from course_utils.exercises import lesson01 as ex
from course_utils.exercises.testing import (assert_check_errored, assert_check_failed,
                                            assert_check_passed, assert_check_unattempted)

EXERCISES = [ex.q1, ex.q2, ex.q3, ex.q4]


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda q: q.id)
def test_a_stub_that_raises_not_implemented_is_not_attempted(exercise):
    def stub(*args, **kwargs):
        raise NotImplementedError

    assert_check_unattempted(exercise, stub)


# --- q1: a linear layer by hand ------------------------------------------------------------

@pytest.mark.parametrize("answer", [
    lambda x, w, b: F.linear(x, w, b),
    lambda x, w, b: torch.addmm(b, x, w.t()),
    lambda x, w, b: torch.stack([w @ row + b for row in x]),
    lambda x, w, b: (x.unsqueeze(1) * w).sum(-1) + b,
])
def test_q1_alternatives_pass(answer):
    assert_check_passed(ex.q1, answer)


@pytest.mark.parametrize("answer, message", [
    (lambda x, w, b: x @ w + b, "You multiplied by `weight` itself"),
    (lambda x, w, b: x @ w.T, "The bias is missing"),
    (lambda x, w, b: w @ x.T + b[:, None], "not `weight @ x.T`"),
    (lambda x, w, b: nn.Linear(x.shape[1], b.shape[0])(x), "create a new layer with random weights"),
    (lambda x, w, b: x.sum(1, keepdim=True).expand(-1, b.shape[0]), "does not change when `weight` and `bias` change"),
    (lambda x, w, b: x @ w.T - b, "differs from `nn.Linear`'s"),
    (lambda x, w, b: None, "returned None"),
    (lambda x, w, b: (x @ w.T + b).sum(), "has shape ()"),
    (lambda x, w, b: (x @ w.T + b).tolist(), "returned list"),
    (nn.Linear(3, 3), "You passed a module"),
])
def test_q1_mistakes(answer, message):
    assert_check_failed(ex.q1, answer, match=message)


def test_q1_error_in_student_code_is_reported_as_such():
    assert_check_errored(ex.q1, lambda x, w, b: torch.mm(x, w.T) + b[:, None], match="RuntimeError")


# --- q2: conv output size ------------------------------------------------------------------

@pytest.mark.parametrize("answer", [
    lambda n, k, s=1, p=0, d=1: math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1,
    lambda n, k, s=1, p=0, d=1: int((n + 2 * p - d * (k - 1) - 1) / s) + 1,
    lambda size, kernel_size, stride=1, padding=0, dilation=1: len(range(0, size + 2 * padding - dilation * (kernel_size - 1), stride)),
])
def test_q2_alternatives_pass(answer):
    assert_check_passed(ex.q2, answer)


@pytest.mark.parametrize("answer, message", [
    (lambda n, k, s=1, p=0, d=1: (n + 2 * p - d * (k - 1) - 1) // s, "don't forget the `+ 1`"),
    (lambda n, k, s=1, p=0, d=1: (n + p - d * (k - 1) - 1) // s + 1, "contributes `2 * padding`"),
    (lambda n, k, s=1, p=0, d=1: n + 2 * p - d * (k - 1), "The stride divides"),
    (lambda n, k, s=1, p=0, d=1: math.ceil((n + 2 * p - d * (k - 1) - 1) / s) + 1, "PyTorch rounds down"),
    (lambda n, k, s=1, p=0, d=1: (n + 2 * p - k) // s + 1, "A dilation of d spreads the kernel"),
    (lambda n, k, s=1, p=0, d=1: (n + 2 * p - d * (k - 1) - 1) / s + 1, "return a whole number (an int)"),
    (lambda n, k: n - k + 1, "cannot be called with"),
])
def test_q2_mistakes(answer, message):
    assert_check_failed(ex.q2, answer, match=message)


def test_q2_reference_sizes_are_measured_from_pytorch():
    assert ex.reference_size(32, 3) == 30
    assert ex.reference_size(10, 3, 3, 0) == 3
    assert ex.reference_size(32, 3, 1, 0, 2) == 28


# --- q3: a conv layer's parameter count ----------------------------------------------------

def by_shapes(in_channels, out_channels, kernel_size, bias=True):
    kernel = (kernel_size,) * 2 if isinstance(kernel_size, int) else tuple(kernel_size)
    return math.prod((out_channels, in_channels, *kernel)) + bias * out_channels


def by_building(in_channels, out_channels, kernel_size, bias=True):
    return sum(p.numel() for p in nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias).parameters())


def with_torch_pair(in_channels, out_channels, kernel_size, bias=True):
    kh, kw = nn.modules.utils._pair(kernel_size)
    count = in_channels * kh * kw * out_channels
    if bias:
        count += out_channels
    return count


@pytest.mark.parametrize("answer", [by_shapes, by_building, with_torch_pair])
def test_q3_alternatives_pass(answer):
    assert_check_passed(ex.q3, answer)


def square_only(in_channels, out_channels, kernel_size, bias=True):
    k = kernel_size if isinstance(kernel_size, int) else kernel_size[0]
    return out_channels * in_channels * k * k + (out_channels if bias else 0)


@pytest.mark.parametrize("answer, message", [
    (lambda i, o, k, bias=True: o * i * k * k,
     "`conv2d_parameters(3, 16, 5)` returned 1,200; `Conv2d(3, 16, kernel_size=(5, 5), stride=(1, 1))` has 1,216 "
     "parameters (weight (16, 3, 5, 5), bias (16,)). The biases are missing: one per output channel."),
    (lambda i, o, k, bias=True: o * i * k * k + i, "There is one bias per *output* channel, not per input channel."),
    (lambda i, o, k, bias=True: o * i * k + o, "each output channel has a bias"),
    (lambda i, o, k, bias=True: o * k * k + o, "Each output channel has one kernel per input channel"),
    (lambda i, o, k, bias=True: o * i * k * k + o, "With `bias=False` there are no biases"),
    (square_only, "A tuple `kernel_size=(kh, kw)` is a kh × kw kernel: multiply both"),
    (lambda i, o, k, bias=True: 2, "That is the number of parameter tensors"),
    (lambda i, o, k, bias=True: float(by_shapes(i, o, k, bias)), "`conv2d_parameters` returned a float; return a Python int."),
    (lambda i, o, k, bias=True: torch.tensor(by_shapes(i, o, k, bias)), "returned a tensor; return a Python int"),
    (lambda i, o, k: by_shapes(i, o, k), "`conv2d_parameters` cannot be called with (4, 6, 3, False)"),
    (nn.Conv2d, "Pass the function `conv2d_parameters` (defined with `def`), not the class Conv2d."),
])
def test_q3_mistakes(answer, message):
    assert_check_failed(ex.q3, answer, match=message)


# --- q4: channel dimension ----------------------------------------------------------------

@pytest.mark.parametrize("answer", [
    lambda x: x[:, None],
    lambda x: x.reshape(x.shape[0], 1, x.shape[1], x.shape[2]),
    lambda x: x.view(-1, 1, *x.shape[1:]),
])
def test_q4_alternatives_pass(answer):
    assert_check_passed(ex.q4, answer)


@pytest.mark.parametrize("answer, message", [
    (lambda x: x.unsqueeze(0), "That makes one image with 3 channels"),
    (lambda x: x.unsqueeze(-1), "puts the channels last"),
    (lambda x: x, "Nothing changed"),
    (lambda x: x.unsqueeze(1).expand(-1, 3, -1, -1), "exactly one channel, not 3"),
    (lambda x: x.transpose(1, 2).unsqueeze(1), "expected (3, 1, 6, 5)"),
    (lambda x: x.flip(1).unsqueeze(1), "the values moved"),
])
def test_q4_mistakes(answer, message):
    assert_check_failed(ex.q4, answer, match=message)


# --- answers written from a student's point of view (review of the checks) ---------------

@pytest.mark.parametrize("answer", [
    lambda x, w, b: torch.addmm(b, x, w.t()),
    lambda x, weight, bias: (weight @ x.T).T + bias,
    lambda x, w, b: (x[:, None, :] * w[None]).sum(-1) + b,
], ids=["addmm", "transposed-product", "broadcast-sum"])
def test_linear_by_hand_student_variants_pass(answer):
    assert_check_passed(ex.q1, answer)


def test_linear_by_hand_reshape_is_not_a_transpose():
    assert_check_failed(ex.q1, lambda x, w, b: x @ w.reshape(w.shape[1], w.shape[0]) + b,
                        match="You multiplied by `weight` itself")


def test_conv_output_size_by_running_a_convolution_passes():
    def by_running(size, kernel_size, stride=1, padding=0, dilation=1):
        conv = nn.Conv2d(1, 1, kernel_size, stride=stride, padding=padding, dilation=dilation)
        return conv(torch.zeros(1, 1, size, size)).shape[-1]
    assert_check_passed(ex.q2, by_running)


def test_conv_output_size_dilation_times_kernel():
    assert_check_failed(ex.q2, lambda size, kernel_size, stride=1, padding=0, dilation=1:
                        (size + 2 * padding - dilation * kernel_size) // stride + 1,
                        match="covers `dilation * (kernel_size - 1) + 1` pixels")


@pytest.mark.parametrize("answer", [
    lambda t: t.reshape(-1, 1, *t.shape[1:]),
    lambda t: torch.stack([t], dim=1),
    lambda t: t.clone().unsqueeze_(1),
], ids=["reshape", "stack", "in-place-on-a-copy"])
def test_add_channel_dim_student_variants_pass(answer):
    assert_check_passed(ex.q4, answer)


@pytest.mark.parametrize("answer, message", [
    (lambda t: t.unsqueeze_(1), "changed the caller's tensor in place"),
    (lambda t: t.unsqueeze(1).double(), "You returned dtype torch.float64"),
    (lambda t: t.transpose(1, 2).unsqueeze(1), "Conv2d wants (N, C, H, W) with C = 1"),
], ids=["in-place", "float64", "transposed"])
def test_add_channel_dim_student_mistakes(answer, message):
    assert_check_failed(ex.q4, answer, match=message)


# --- answers that lie: compared as plain tensors and ints ---------------------------------------

class AgreeableTensor(torch.Tensor):
    """Makes torch.allclose and torch.equal say True whatever the values."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.allclose, torch.Tensor.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


def test_a_tensor_whose_allclose_always_agrees_is_refused_by_linear_by_hand():
    lie = lambda x, w, b: torch.zeros(x.shape[0], w.shape[0]).as_subclass(AgreeableTensor)  # noqa: E731
    assert torch.allclose(lie(torch.ones(2, 3), torch.ones(4, 3), None), torch.ones(2, 4))
    assert_check_failed(ex.q1, lie, match="Your result does not change when `weight` and `bias` change")


def test_a_tensor_whose_equal_always_agrees_is_refused_by_add_channel_dim():
    lie = lambda images: images.flip(-1).unsqueeze(1).as_subclass(AgreeableTensor)  # noqa: E731
    assert torch.equal(lie(torch.arange(4.0).reshape(1, 2, 2)), torch.zeros(1, 1, 2, 2))
    assert_check_failed(ex.q4, lie, match="The shape is right but the values moved")


class AlwaysEqual(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


def test_an_int_that_equals_everything_is_refused_by_conv_output_size():
    assert_check_failed(ex.q2, lambda *args, **kwargs: AlwaysEqual(0), match="returned 0; an `nn.Conv2d`")


def test_a_float_subclass_is_refused_by_conv2d_parameters():
    half = type("Half", (float,), {})
    assert_check_failed(ex.q3, lambda *args, **kwargs: half(by_shapes(*args, **kwargs)),
                        match="`conv2d_parameters` returned a float; return a Python int.")
