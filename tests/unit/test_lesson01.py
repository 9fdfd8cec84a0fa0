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

def with_if(x, weight, bias):
    y = x @ weight.T
    if bias is not None:
        y = y + bias
    return y


@pytest.mark.parametrize("answer", [
    with_if,
    lambda x, w, b: F.linear(x, w, b),
    lambda x, w, b: torch.matmul(x, w.transpose(0, 1)) + (0 if b is None else b),
    lambda x, w, b: (x.unsqueeze(-2) * w).sum(-1) + (b if b is not None else torch.zeros(w.shape[0])),
    lambda x, weight, bias: torch.einsum("...i,oi->...o", x, weight) + (bias if bias is not None else 0),
], ids=["if-bias", "functional", "matmul", "broadcast-sum", "einsum"])
def test_q1_alternatives_pass(answer):
    assert_check_passed(ex.q1, answer)


def add_none_safe(b):
    return 0 if b is None else b


@pytest.mark.parametrize("answer, message", [
    (lambda x, w, b: x @ w + add_none_safe(b), "You multiplied by `weight` itself"),
    (lambda x, w, b: x @ w.T, "The bias is missing"),
    (lambda x, w, b: w @ x.T + b[:, None], "not `weight @ x.T`"),
    (lambda x, w, b: nn.Linear(x.shape[-1], w.shape[0])(x), "create a new layer with random weights"),
    (lambda x, w, b: x.sum(-1, keepdim=True).expand(*x.shape[:-1], w.shape[0]),
     "does not change when `weight` and `bias` change"),
    (lambda x, w, b: x @ w.T - add_none_safe(b), "differs from `nn.Linear`'s"),
    (lambda x, w, b: None, "returned None"),
    (lambda x, w, b: (x @ w.T + b).sum(), "has shape ()"),
    (lambda x, w, b: (x @ w.T + b).tolist(), "returned list"),
    (nn.Linear(3, 3), "You passed a module"),
    (lambda x, w, b: x @ w.T + b,
     "For x (4, 6), weight (2, 6), bias None (a layer built with `bias=False`) your function adds `None`: add the "
     "bias only when there is one (`if bias is not None`). (At test_lesson01.py, line"),
    (lambda x, w, b: torch.addmm(add_none_safe(b) * torch.ones(x.shape[0], w.shape[0]), x, w.t()),
     "For x (2, 5, 3), weight (4, 3) your function fails (mat1 must be a matrix, got 3-D tensor): it works on 2-D"),
    (lambda x, w, b: torch.stack([w @ row + add_none_safe(b) for row in x]), "For x (2, 5, 3), weight (4, 3)"),
])
def test_q1_mistakes(answer, message):
    assert_check_failed(ex.q1, answer, match=message)


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


def test_q1_an_error_of_the_students_own_python_stays_an_error_in_their_code():
    assert_check_errored(ex.q1, lambda x, w, b: x @ w.T + undefined_bias, match="NameError")  # noqa: F821


def copied_into_linear(x, weight, bias):
    """The issue's answer: the statement forbids nn.Linear; the given weights copied into one."""
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)
    return layer(x)


def linear_under_no_grad(x, weight, bias):
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)
        return layer(x)


def parameters_wrapped(x, weight, bias):
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    layer.weight = nn.Parameter(weight)
    layer.bias = None if bias is None else nn.Parameter(bias)
    return layer(x)


@pytest.mark.parametrize("answer, message", [
    (copied_into_linear, "Your function returns the layer's numbers from a layer of its own: its result carries "
                         "parameters that are not the `weight` and `bias` you were given (an `nn.Linear` with the "
                         "given values copied in?)"),
    (parameters_wrapped, "from a layer of its own"),
    (linear_under_no_grad, "the gradient does not reach `x` and `weight` and `bias` as it would through `nn.Linear`"),
    (lambda x, w, b: x @ w.detach().T + add_none_safe(b), "the gradient does not reach `weight` as it would"),
    (lambda x, w, b: x @ w.data.T + add_none_safe(b), "the gradient does not reach `weight` as it would"),
    (lambda x, w, b: x @ w.T + (0 if b is None else b.detach()), "the gradient does not reach `bias`"),
    (lambda x, w, b: x.mul_(1) @ w.T + add_none_safe(b), "your function changed the caller's `x` in place"),
])
def test_q1_the_numbers_of_a_layer_that_is_not_the_one_given_are_refused(answer, message):
    assert_check_failed(ex.q1, answer, match=message)


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


# --- q4: images into Conv2d's layout ---------------------------------------------------------

def by_movedim(images):
    return images[:, None] if images.ndim == 3 else torch.movedim(images, -1, 1)


def by_einsum(images):
    if len(images.shape) == 3:
        return images.reshape(images.shape[0], 1, *images.shape[1:])
    return torch.einsum("nhwc->nchw", images)


def by_two_transposes(images):
    if images.dim() == 4:
        return images.transpose(1, 3).transpose(2, 3)
    return torch.stack([images], dim=1)


@pytest.mark.parametrize("answer", [by_movedim, by_einsum, by_two_transposes])
def test_q4_alternatives_pass(answer):
    assert_check_passed(ex.q4, answer)


def rgb_then(fix_rgb, fix_gray=lambda t: t.unsqueeze(1)):
    return lambda t: fix_rgb(t) if t.dim() == 4 else fix_gray(t)


@pytest.mark.parametrize("answer, message", [
    (rgb_then(lambda t: t.reshape(t.shape[0], t.shape[3], t.shape[1], t.shape[2])),
     "the pixels moved. `reshape` (or `view`) keeps the numbers in memory order, so it mixes colours and pixels"),
    (rgb_then(lambda t: t.transpose(1, 3)), "Height and width are swapped"),
    (rgb_then(lambda t: t.permute(0, 3, 2, 1).transpose(2, 3).transpose(2, 3)), "Height and width are swapped"),
    (rgb_then(lambda t: t), "you returned shape (2, 5, 4, 3); expected (2, 3, 5, 4)"),
    (lambda t: t.permute(0, 3, 1, 2), "For grayscale, no channel dimension, shape (3, 6, 5), your function fails"),
    (rgb_then(lambda t: t.permute(0, 3, 1, 2), lambda t: t.unsqueeze(-1)), "That puts the channel last"),
    (rgb_then(lambda t: t.permute(0, 3, 1, 2), lambda t: t.unsqueeze(0)), "That makes one image with 3 channels"),
    (rgb_then(lambda t: t.permute(0, 3, 1, 2), lambda t: t.unsqueeze_(1)), "changed the caller's tensor in place"),
    (rgb_then(lambda t: t.permute(0, 3, 1, 2).flip(-1)), "the shape is right but the pixels moved"),
    (rgb_then(lambda t: t.permute(0, 3, 1, 2).tolist()), "`to_conv_layout` returned a list; return a tensor."),
])
def test_q4_mistakes(answer, message):
    assert_check_failed(ex.q4, answer, match=message)


# --- answers written from a student's point of view (review of the checks) ---------------

def test_linear_by_hand_reshape_is_not_a_transpose():
    assert_check_failed(ex.q1, lambda x, w, b: x @ w.reshape(w.shape[1], w.shape[0]) + add_none_safe(b),
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
    assert_check_failed(ex.q2, lambda *args, **kwargs: AlwaysEqual(0), match="returned 0; an `nn.Conv2d`")


def test_a_float_subclass_is_refused_by_conv2d_parameters():
    half = type("Half", (float,), {})
    assert_check_failed(ex.q3, lambda *args, **kwargs: half(by_shapes(*args, **kwargs)),
                        match="`conv2d_parameters` returned a float; return a Python int.")


# --- what PyTorch (or Python) raises, said in the exercise's terms, with the student's line ------

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


def test_q3_a_tuple_kernel_multiplied_as_a_number_is_explained():
    outcome = assert_check_failed(
        ex.q3, lambda i, o, k, bias=True: o * i * k * k + (o if bias else 0),
        match="`conv2d_parameters(2, 5, (3, 1))` fails (can't multiply sequence by non-int of type 'tuple'): "
              "`kernel_size` is a tuple (height, width) here, (3, 1), not a number.")
    assert "(At test_lesson01.py, line" in outcome.message


@pytest.mark.parametrize("answer, message", [
    # the answer: told about transpose(1, 3), which it never used
    (rgb_then(lambda t: t.permute(0, 3, 2, 1)),
     "For RGB, channels last, shape (2, 5, 4, 3), you returned shape (2, 3, 4, 5); expected (2, 3, 5, 4). Height and "
     "width are swapped. Your reordering puts the width before the height. `permute` lists the *old* positions in "
     "their new order"),
    (rgb_then(lambda t: t.transpose(1, 3)),
     "Height and width are swapped. `transpose(1, 3)` exchanges the channels with the *width*"),
    (rgb_then(lambda t: t.permute(0, 3, 1)),
     "For RGB, channels last, shape (2, 5, 4, 3), your function fails (permute(sparse_coo): number of dimensions in "
     "the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = 4 is not "
     "equal to len(dims) = 3): a colour batch has four dimensions, (N, H, W, C)"),
])
def test_q4_says_what_the_student_wrote(answer, message):
    outcome = assert_check_failed(ex.q4, answer, match=message)
    assert "transpose" not in outcome.message or "transpose" in message
