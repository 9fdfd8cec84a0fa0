"""Answers to lesson 01's exercises, as data: right ones in other idioms, wrong ones with the
words the student must read. ``tests/unit/test_every_exercise.py`` judges every entry (on the
notebook's inputs and on a grader's fresh ones); ``tests/unit/test_lesson01.py`` keeps the tests
of special behaviour (the student's line, answers that lie)."""

import math

import torch
from torch import nn
from torch.nn import functional as F

from course_utils.exercises.testing import Right, Status, Wrong


def add_none_safe(b):
    return 0 if b is None else b


# --- q1: a linear layer by hand ------------------------------------------------------------

def with_if(x, weight, bias):
    y = x @ weight.T
    if bias is not None:
        y = y + bias
    return y


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


Q1 = [
    Right(with_if, "if-bias"),
    Right(lambda x, w, b: F.linear(x, w, b), "functional"),
    Right(lambda x, w, b: torch.matmul(x, w.transpose(0, 1)) + (0 if b is None else b), "matmul"),
    Right(lambda x, w, b: (x.unsqueeze(-2) * w).sum(-1) + (b if b is not None else torch.zeros(w.shape[0])),
          "broadcast-sum"),
    Right(lambda x, weight, bias: torch.einsum("...i,oi->...o", x, weight) + (bias if bias is not None else 0),
          "einsum"),
    Wrong(lambda x, w, b: x @ w + add_none_safe(b), "You multiplied by `weight` itself"),
    Wrong(lambda x, w, b: x @ w.reshape(w.shape[1], w.shape[0]) + add_none_safe(b),
          "You multiplied by `weight` itself", name="reshape-for-transpose"),
    Wrong(lambda x, w, b: x @ w.T, "The bias is missing"),
    Wrong(lambda x, w, b: w @ x.T + b[:, None], "not `weight @ x.T`"),
    Wrong(lambda x, w, b: nn.Linear(x.shape[-1], w.shape[0])(x), "create a new layer with random weights"),
    Wrong(lambda x, w, b: x.sum(-1, keepdim=True).expand(*x.shape[:-1], w.shape[0]),
          "does not change when `weight` and `bias` change"),
    Wrong(lambda x, w, b: x @ w.T - add_none_safe(b), "differs from `nn.Linear`'s"),
    Wrong(lambda x, w, b: None, "returned None"),
    Wrong(lambda x, w, b: (x @ w.T + b).sum(), "has shape ()"),
    Wrong(lambda x, w, b: (x @ w.T + b).tolist(), "returned list"),
    Wrong(nn.Linear(3, 3), "You passed a module"),
    Wrong(lambda x, w, b: x @ w.T + b,
          "For x (4, 6), weight (2, 6), bias None (a layer built with `bias=False`) your function adds `None`: add "
          "the bias only when there is one (`if bias is not None`). (At lesson01.py, line"),
    Wrong(lambda x, w, b: torch.addmm(add_none_safe(b) * torch.ones(x.shape[0], w.shape[0]), x, w.t()),
          "For x (2, 5, 3), weight (4, 3) your function fails (mat1 must be a matrix, got 3-D tensor): it works on 2-D"),
    Wrong(lambda x, w, b: torch.stack([w @ row + add_none_safe(b) for row in x]), "For x (2, 5, 3), weight (4, 3)"),
    Wrong(lambda x, w, b: x @ w.T + undefined_bias, "NameError", Status.ERROR),  # noqa: F821
    Wrong(copied_into_linear, "Your function returns the layer's numbers from a layer of its own: its result "
          "carries parameters that are not the `weight` and `bias` you were given (an `nn.Linear` with the given "
          "values copied in?)"),
    Wrong(parameters_wrapped, "from a layer of its own"),
    Wrong(linear_under_no_grad,
          "the gradient does not reach `x` and `weight` and `bias` as it would through `nn.Linear`"),
    Wrong(lambda x, w, b: x @ w.detach().T + add_none_safe(b), "the gradient does not reach `weight` as it would",
          name="detach"),
    Wrong(lambda x, w, b: x @ w.data.T + add_none_safe(b), "the gradient does not reach `weight` as it would",
          name="data"),
    Wrong(lambda x, w, b: x @ w.T + (0 if b is None else b.detach()), "the gradient does not reach `bias`"),
    Wrong(lambda x, w, b: x.mul_(1) @ w.T + add_none_safe(b), "your function changed the caller's `x` in place"),
]


# --- q2: conv output size ------------------------------------------------------------------

def by_running(size, kernel_size, stride=1, padding=0, dilation=1):
    conv = nn.Conv2d(1, 1, kernel_size, stride=stride, padding=padding, dilation=dilation)
    return conv(torch.zeros(1, 1, size, size)).shape[-1]


Q2 = [
    Right(lambda n, k, s=1, p=0, d=1: math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1, "floor"),
    Right(lambda n, k, s=1, p=0, d=1: int((n + 2 * p - d * (k - 1) - 1) / s) + 1, "int"),
    Right(lambda size, kernel_size, stride=1, padding=0, dilation=1:
          len(range(0, size + 2 * padding - dilation * (kernel_size - 1), stride)), "range"),
    Right(by_running),
    Wrong(lambda n, k, s=1, p=0, d=1: (n + 2 * p - d * (k - 1) - 1) // s, "don't forget the `+ 1`"),
    Wrong(lambda n, k, s=1, p=0, d=1: (n + p - d * (k - 1) - 1) // s + 1, "contributes `2 * padding`"),
    Wrong(lambda n, k, s=1, p=0, d=1: n + 2 * p - d * (k - 1), "The stride divides"),
    Wrong(lambda n, k, s=1, p=0, d=1: math.ceil((n + 2 * p - d * (k - 1) - 1) / s) + 1, "PyTorch rounds down"),
    Wrong(lambda n, k, s=1, p=0, d=1: (n + 2 * p - k) // s + 1, "A dilation of d spreads the kernel"),
    Wrong(lambda size, kernel_size, stride=1, padding=0, dilation=1:
          (size + 2 * padding - dilation * kernel_size) // stride + 1,
          "covers `dilation * (kernel_size - 1) + 1` pixels", name="dilation-times-kernel"),
    Wrong(lambda n, k, s=1, p=0, d=1: (n + 2 * p - d * (k - 1) - 1) / s + 1, "return a whole number (an int)"),
    Wrong(lambda n, k: n - k + 1, "cannot be called with"),
]


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


def square_only(in_channels, out_channels, kernel_size, bias=True):
    k = kernel_size if isinstance(kernel_size, int) else kernel_size[0]
    return out_channels * in_channels * k * k + (out_channels if bias else 0)


Q3 = [
    Right(by_shapes),
    Right(by_building),
    Right(with_torch_pair),
    Wrong(lambda i, o, k, bias=True: o * i * k * k,
          "`conv2d_parameters(3, 16, 5)` returned 1,200; `Conv2d(3, 16, kernel_size=(5, 5), stride=(1, 1))` has "
          "1,216 parameters (weight (16, 3, 5, 5), bias (16,)). The biases are missing: one per output channel."),
    Wrong(lambda i, o, k, bias=True: o * i * k * k + i, "There is one bias per *output* channel, not per input channel."),
    Wrong(lambda i, o, k, bias=True: o * i * k + o, "each output channel has a bias"),
    Wrong(lambda i, o, k, bias=True: o * k * k + o, "Each output channel has one kernel per input channel"),
    Wrong(lambda i, o, k, bias=True: o * i * k * k + o, "With `bias=False` there are no biases"),
    Wrong(square_only, "A tuple `kernel_size=(kh, kw)` is a kh × kw kernel: multiply both"),
    Wrong(lambda i, o, k, bias=True: 2, "That is the number of parameter tensors"),
    Wrong(lambda i, o, k, bias=True: float(by_shapes(i, o, k, bias)),
          "`conv2d_parameters` returned a float; return a Python int."),
    Wrong(lambda i, o, k, bias=True: torch.tensor(by_shapes(i, o, k, bias)), "returned a tensor; return a Python int"),
    Wrong(lambda i, o, k: by_shapes(i, o, k), "`conv2d_parameters` cannot be called with (4, 6, 3, False)"),
    Wrong(nn.Conv2d, "Pass the function `conv2d_parameters` (defined with `def`), not the class Conv2d."),
    Wrong(lambda i, o, k, bias=True: o * i * k * k + (o if bias else 0),
          "`conv2d_parameters(2, 5, (3, 1))` fails (can't multiply sequence by non-int of type 'tuple'): "
          "`kernel_size` is a tuple (height, width) here, (3, 1), not a number.", name="tuple-kernel-as-number"),
]


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


def rgb_then(fix_rgb, fix_gray=lambda t: t.unsqueeze(1)):
    return lambda t: fix_rgb(t) if t.dim() == 4 else fix_gray(t)


Q4 = [
    Right(by_movedim),
    Right(by_einsum),
    Right(by_two_transposes),
    Wrong(rgb_then(lambda t: t.reshape(t.shape[0], t.shape[3], t.shape[1], t.shape[2])),
          "the pixels moved. `reshape` (or `view`) keeps the numbers in memory order, so it mixes colours and pixels",
          name="reshape"),
    Wrong(rgb_then(lambda t: t.permute(0, 3, 2, 1).transpose(2, 3).transpose(2, 3)), "Height and width are swapped",
          name="permute-then-transposes"),
    Wrong(rgb_then(lambda t: t), "you returned shape (2, 5, 4, 3); expected (2, 3, 5, 4)", name="unchanged"),
    Wrong(lambda t: t.permute(0, 3, 1, 2), "For grayscale, no channel dimension, shape (3, 6, 5), your function fails",
          name="permute-grayscale"),
    Wrong(rgb_then(lambda t: t.permute(0, 3, 1, 2), lambda t: t.unsqueeze(-1)), "That puts the channel last",
          name="channel-last"),
    Wrong(rgb_then(lambda t: t.permute(0, 3, 1, 2), lambda t: t.unsqueeze(0)), "That makes one image with 3 channels",
          name="unsqueeze-0"),
    Wrong(rgb_then(lambda t: t.permute(0, 3, 1, 2), lambda t: t.unsqueeze_(1)), "changed the caller's tensor in place",
          name="unsqueeze_"),
    Wrong(rgb_then(lambda t: t.permute(0, 3, 1, 2).flip(-1)), "the shape is right but the pixels moved", name="flip"),
    Wrong(rgb_then(lambda t: t.permute(0, 3, 1, 2).tolist()), "`to_conv_layout` returned a list; return a tensor.",
          name="tolist"),
    # the answer: told about transpose(1, 3), which it never used
    Wrong(rgb_then(lambda t: t.permute(0, 3, 2, 1)),
          "For RGB, channels last, shape (2, 5, 4, 3), you returned shape (2, 3, 4, 5); expected (2, 3, 5, 4). Height "
          "and width are swapped. Your reordering puts the width before the height. `permute` lists the *old* "
          "positions in their new order", name="permute-0321", absent="transpose"),
    Wrong(rgb_then(lambda t: t.transpose(1, 3)),
          "Height and width are swapped. `transpose(1, 3)` exchanges the channels with the *width*", name="transpose"),
    Wrong(rgb_then(lambda t: t.permute(0, 3, 1)),
          "For RGB, channels last, shape (2, 5, 4, 3), your function fails (permute(sparse_coo): number of dimensions "
          "in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = 4 "
          "is not equal to len(dims) = 3): a colour batch has four dimensions, (N, H, W, C)", name="permute-3",
          absent="transpose"),
]

BANK = {"q1": Q1, "q2": Q2, "q3": Q3, "q4": Q4}
