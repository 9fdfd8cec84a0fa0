"""Answers to lesson 00's exercises, as data: right ones in other idioms, wrong ones with the
words the student must read. ``tests/unit/test_every_exercise.py`` judges every entry (on the
notebook's inputs and on a grader's fresh ones); ``tests/unit/test_lesson00.py`` keeps the tests
of special behaviour (the student's line, answers that lie, the stub)."""

import math

import numpy as np
import torch
from torch import nn

from course_utils.exercises.testing import Right, Wrong

# --- q0: make_images, the example Start here solves ---------------------------------------------

Q0 = [
    Right(lambda batch_size: torch.zeros((batch_size, 3, 32, 32), dtype=torch.float32), "tuple-dtype"),
    Right(lambda batch_size: torch.zeros(batch_size, 32, 32, 3).permute(0, 3, 1, 2), "permute"),
    Right(lambda n: torch.full((n, 3, 32, 32), 0.0), "full"),
    Right(lambda b: torch.empty(b, 3, 32, 32).zero_(), "empty-then-zero_"),
    Right(lambda batch_size: torch.zeros(batch_size, 3, 32, 32, dtype=torch.float32), "dtype-keyword"),
    Wrong(lambda b: torch.zeros(b, 32, 32, 3), "`make_images(5)` has shape (5, 32, 32, 3): that is channels last"),
    Wrong(lambda b: torch.zeros(3, 32, 32), "(3, 32, 32): one image, no batch dimension"),
    Wrong(lambda b: torch.zeros(8, 3, 32, 32), "returned a batch of 8 images; use the argument `batch_size`"),
    Wrong(lambda b: torch.zeros(5, 3, 32, 32), "`make_images(1)` returned a batch of 5", name="hard-coded-5"),
    Wrong(lambda b: torch.zeros(b, 3, 32, 32, dtype=torch.long), "has dtype torch.int64; layers need torch.float32"),
    Wrong(lambda b: torch.zeros(b, 3, 32, 32, dtype=torch.bool), "has dtype torch.bool", name="bool"),
    Wrong(lambda b: torch.zeros(b, 3, 32, 32, dtype=torch.float64), "layers need torch.float32", name="float64"),
    Wrong(lambda b: torch.ones(b, 3, 32, 32), "contains values other than zero"),
    Wrong(lambda b: np.zeros((b, 3, 32, 32)), "returned a NumPy array"),
    Wrong(lambda b: torch.zeros(b, 3, 28, 28), "`make_images(5)` has shape (5, 3, 28, 28); expected (5, 3, 32, 32)."),
    Wrong(lambda b: torch.zeros(b, 1, 32, 32), "expected (5, 3, 32, 32)", name="grayscale"),
    Wrong(lambda: torch.zeros(1, 3, 32, 32), "`make_images` cannot be called with (5)"),
]


# --- q1: make_grayscale, what the lesson did not show ---------------------------------------------

Q1 = [
    Right(lambda batch_size, height, width: torch.zeros((batch_size, 1, height, width), dtype=torch.float32),
          "tuple-dtype"),
    Right(lambda n, h, w: torch.zeros(n, h, w).unsqueeze(1), "unsqueeze"),
    Right(lambda n, h, w: torch.zeros(n, w, h, 1).permute(0, 3, 2, 1), "permute"),
    Right(lambda n, h, w: torch.empty(n, 1, h, w).fill_(0.0), "empty-fill"),
    Wrong(lambda n, h, w: torch.zeros(n, 3, 32, 32), "returned the RGB 32×32 images of *Start here*"),
    Wrong(lambda n, h, w: torch.zeros(n, h, w),
          "`make_grayscale(5, 28, 20)` has shape (5, 28, 20): no channel dimension"),
    Wrong(lambda n, h, w: torch.zeros(n, h, w, 1), "that is channels last"),
    Wrong(lambda n, h, w: torch.zeros(n, 1, w, h), "height and width are swapped"),
    Wrong(lambda n, h, w: torch.zeros(n, 3, h, w), "has 3 channels; a grayscale image has exactly one"),
    Wrong(lambda n, h, w: torch.zeros(4, 1, h, w), "returned a batch of 4 images; use the argument `batch_size`"),
    Wrong(lambda n, h, w: torch.zeros(n, 1, h, w, dtype=torch.float64), "has dtype torch.float64"),
    Wrong(lambda n, h, w: torch.ones(n, 1, h, w), "contains values other than zero"),
    Wrong(lambda n, h, w: np.zeros((n, 1, h, w)), "returned a NumPy array"),
    Wrong(lambda n, h, w: torch.zeros(n, 1, 28, 28), "has shape (5, 1, 28, 28); expected (5, 1, 28, 20)"),
    Wrong(lambda n, h, w: torch.zeros(n, 1, 28, 20), "`make_grayscale(1, 7, 9)` has shape (1, 1, 28, 20)",
          name="hard-coded-size"),
    Wrong(lambda batch_size: torch.zeros(batch_size, 1, 28, 28), "`make_grayscale` cannot be called with (5, 28, 20)"),
    Wrong(nn.Linear(1, 1), "You passed a module (a Linear); pass your function `make_grayscale` itself."),
]


# --- q2: layer ---------------------------------------------------------------------------------

Q2 = [
    Right(nn.Linear(in_features=20, out_features=7), "keywords"),
    Right(nn.Linear(20, 7, bias=True, dtype=torch.float32), "bias-dtype"),
    Right(nn.Linear(20, 7).requires_grad_(False), "frozen"),
    Wrong(nn.Linear(7, 20), "Your layer maps 7 features to 20: the arguments are swapped."),
    Wrong(nn.Linear(20, 7, bias=False), "Your layer has no bias (`bias=False`)"),
    Wrong(nn.Linear, "That is the class `nn.Linear`; create a layer from it"),
    Wrong(nn.Conv1d(20, 7, 1), "Expected a layer made by `nn.Linear(...)`, got a `Conv1d` module."),
    Wrong(nn.Linear(20, 7).double(), "Your layer's weights are torch.float64"),
    Wrong(nn.Linear(20, 8), "Your layer maps 20 features to 8; expected 20 to 7."),
    Wrong("nn.Linear(20, 7)", "got a str"),
    Wrong(nn.Sequential(nn.Linear(20, 7)), "got a `Sequential` module"),
    Wrong(nn.LazyLinear(7), "`nn.LazyLinear(7)` leaves the input size open"),
    Wrong(nn.Bilinear(20, 20, 7), "got a `Bilinear` module"),
    Wrong(nn.Linear(20, 7).half(), "Your layer's weights are torch.float16; keep the default torch.float32.",
          name="half"),
    Wrong(nn.Linear(7, 20, bias=False), "the arguments are swapped", name="swapped-without-bias", absent="bias"),
]


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


def per_use(model):
    return sum(p.numel() for m in model.modules(remove_duplicate=False) for p in m.parameters(recurse=False))


Q3 = [
    Right(count_with_a_loop, "loop"),
    Right(lambda model: (nn.utils.parameters_to_vector(model.parameters()).numel(),
                         sum(p.numel() for p in filter(lambda p: p.requires_grad, model.parameters()))),
          "vector-filter"),
    Right(lambda model: [sum(p.numel() for _, p in model.named_parameters()),
                         total(model) - sum(p.numel() for p in model.parameters() if not p.requires_grad)],
          "list-by-difference"),
    Wrong(lambda m: (len(list(m.parameters())), trainable(m)),
          "For nn.Linear(20, 7) you counted 2; it has 147 parameters. 2 is the number of parameter tensors"),
    Wrong(lambda m: (trainable(m), trainable(m)),
          "For a model whose first layer is frozen you counted 10; it has 30 parameters. You counted only trainable"),
    Wrong(lambda m: (sum(v.numel() for v in m.state_dict().values()), trainable(m)),
          "For nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)) you counted 33; it has 24 parameters. `state_dict()`"),
    Wrong(lambda m: (torch.tensor([p.numel() for p in m.parameters()]).sum(), trainable(m)),
          "`count_parameters` (the total) returned a tensor; return a Python int"),
    Wrong(lambda m: (147, 147),
          "For nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5)) you counted 147; it has 325"),
    Wrong(lambda m: (total(m), float(trainable(m))), "`count_parameters` (the trainable count) returned a float"),
    Wrong(lambda m: (sum(p.numel() for _, p in m.named_parameters(remove_duplicate=False)), trainable(m)),
          "For a model that uses one nn.Linear(5, 5) twice you counted 60; it has 30 parameters."),
    Wrong(lambda m: total(m), "For nn.Linear(20, 7) `count_parameters` returned one number, 147; return two"),
    Wrong(lambda m: (total(m), total(m)),
          "For a model whose first layer is frozen you counted 30 trainable parameters; 10 of its 30 have "
          "`requires_grad=True`. A frozen layer's parameters are not trainable"),
    Wrong(lambda m: (trainable(m), total(m)), "the two numbers are swapped; return `(total, trainable)`"),
    Wrong(lambda m: {"total": total(m), "trainable": trainable(m)}, "`count_parameters` returned a dict; return two ints"),
    Wrong(lambda m: (total(m), trainable(m), 0), "returned a tuple; return two ints"),
    Wrong(lambda m: (np.int64(total(m)), trainable(m)), "return a Python int", name="numpy-int"),
    Wrong(lambda m: (per_use(m), trainable(m)), "You counted the shared layer once for each time it is used",
          name="per-use", absent="state_dict"),
    Wrong(lambda m: (sum(p.numel() for n, p in m.named_parameters() if "weight" in n), trainable(m)),
          "The biases are parameters too", name="weights-only"),
]

BANK = {"q0": Q0, "q1": Q1, "q2": Q2, "q3": Q3}
