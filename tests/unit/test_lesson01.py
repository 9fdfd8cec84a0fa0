"""Checks of lesson 01's exercises: the reference, other correct answers, and a bank of
common mistakes, each with the words the student must read."""

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from course_utils.exercises import lesson01 as ex
from course_utils.exercises.testing import (assert_check_errored, assert_check_failed,
                                            assert_check_passed, assert_check_unattempted)

EXERCISES = [ex.q1, ex.q2, ex.q3, ex.q4]


def solution_of(exercise):
    """The function defined by the exercise's own solution text."""
    namespace = {"torch": torch, "nn": nn}
    exec(exercise.solution_code, namespace)
    return next(v for k, v in namespace.items() if callable(v) and k not in ("torch", "nn"))


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda q: q.id)
def test_reference_solution_passes(exercise):
    assert_check_passed(exercise, solution_of(exercise))


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda q: q.id)
def test_stub_is_not_attempted(exercise):
    assert_check_unattempted(exercise, NotImplemented)

    def stub(*args, **kwargs):
        raise NotImplementedError

    assert_check_unattempted(exercise, stub)


def test_every_exercise_has_two_hints_and_a_solution():
    for exercise in EXERCISES:
        assert len(exercise.hints) >= 2 and exercise.solution_code.strip()


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


# --- q3: counting parameters ---------------------------------------------------------------

@pytest.mark.parametrize("answer", [
    lambda m: sum(p.numel() for _, p in m.named_parameters()),
    lambda m: sum(p.numel() for mod in m.modules() for p in mod.parameters(recurse=False)),
    lambda m: sum(math.prod(p.shape) for p in m.parameters()),
    lambda m: int(sum(torch.tensor(p.numel()) for p in m.parameters())),
])
def test_q3_alternatives_pass(answer):
    assert_check_passed(ex.q3, answer)


@pytest.mark.parametrize("answer, message", [
    (lambda m: len(list(m.parameters())), "You counted parameter tensors"),
    (lambda m: sum(p.shape[0] for p in m.parameters()), "`p.shape[0]` is only the first dimension"),
    (lambda m: sum(p.numel() for n, p in m.named_parameters() if "bias" not in n), "The biases are parameters too"),
    (lambda m: sum(p.numel() for p in m.parameters() if p.requires_grad), "Frozen parameters"),
    (lambda m: sum(p.numel() for mod in m.modules() for p in mod.parameters()), "more than once"),
    (lambda m: sum(v.numel() for v in m.state_dict().values()), "buffers"),
    (lambda m: float(sum(p.numel() for p in m.parameters())), "return a whole number"),
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


def test_count_parameters_with_a_set_passes():
    assert_check_passed(ex.q3, lambda m: sum(p.numel() for p in set(m.parameters())))


@pytest.mark.parametrize("answer, message", [
    (lambda m: torch.tensor(sum(p.numel() for p in m.parameters())), "returned a tensor"),
    (lambda m: sum(p.numel() for _, p in m.named_parameters(remove_duplicate=False)),
     "You counted the shared layer once per use"),
    (lambda m: sum(p.numel() for p in m.parameters(recurse=False)), "Count the values of every tensor"),
], ids=["tensor", "shared-per-use", "top-level-only"])
def test_count_parameters_student_mistakes(answer, message):
    assert_check_failed(ex.q3, answer, match=message)


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
