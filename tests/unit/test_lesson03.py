"""Lesson 03 checks on the reference, alternative correct answers and a bank of wrong answers."""

import copy
from collections import OrderedDict

import pytest
import torch
from torch import nn

from course_utils.exercises import lesson03 as ex
from course_utils.exercises.testing import (assert_check_errored, assert_check_failed,
                                            assert_check_passed, assert_check_unattempted)


def solution_namespace(exercise):
    """Run the exercise's own solution text, as a student pasting it would."""
    namespace = {"nn": nn, "torch": torch}
    exec(exercise.solution_code, namespace)
    return namespace


# --- q1: to_sequential ------------------------------------------------------------------

def test_q1_reference():
    assert_check_passed(ex.q1, solution_namespace(ex.q1)["to_sequential"])


@pytest.mark.parametrize("answer", [
    lambda net: nn.Sequential(OrderedDict(hidden=net.hidden, act=net.act, output=net.output)),
    lambda net: nn.Sequential(copy.deepcopy(net.hidden), nn.Tanh(), copy.deepcopy(net.output)),
    lambda net: nn.Sequential(net.hidden, nn.Tanh(), net.output),
], ids=["ordereddict", "deep-copies", "new-tanh"])
def test_q1_alternatives(answer):
    assert_check_passed(ex.q1, answer)


def fresh_layers(net):
    return nn.Sequential(nn.Linear(net.hidden.in_features, net.hidden.out_features), nn.Tanh(),
                         nn.Linear(net.output.in_features, net.output.out_features))


@pytest.mark.parametrize("answer, message", [
    (lambda net: nn.Sequential(*net.children()), "applies Tanh last"),
    (lambda net: nn.Sequential(net.hidden, net.output), "Tanh between the two linear layers is missing"),
    (fresh_layers, "new random weights"),
    (lambda net: nn.Sequential(net.hidden, nn.ReLU(), net.output), "activation is Tanh, not ReLU"),
    (lambda net: nn.Sequential(net), "contains the whole ManualNet"),
    (lambda net: net, "return an `nn.Sequential`"),
    (lambda net: None, "returned None"),
    (lambda net: nn.Sequential(net.hidden, net.act, net.act, net.output), "ManualNet is Linear → Tanh → Linear"),
    (lambda net: nn.Sequential(net.output, net.act, net.hidden), "fails on an input of shape"),
    (ex.ManualNet, "Pass the function `to_sequential`"),
    (ex.ManualNet(2, 3, 1), "You passed a model"),
])
def test_q1_wrong(answer, message):
    assert_check_failed(ex.q1, answer, match=message)


def test_q1_not_attempted():
    assert_check_unattempted(ex.q1, NotImplemented)


# --- q2: Chain --------------------------------------------------------------------------

def test_q2_reference():
    assert_check_passed(ex.q2, solution_namespace(ex.q2)["Chain"])


class ChainModuleList(nn.Module):
    def __init__(self, *layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        outputs = []
        for layer in self.layers:
            outputs.append(x := layer(x))
        return outputs


class ChainOfSequential(nn.Sequential):
    def forward(self, x):
        return [x := layer(x) for layer in self]


class ChainTuple(nn.Module):
    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            setattr(self, f"layer{i}", layer)

    def forward(self, x):
        outs = ()
        for layer in self.children():
            x = layer(x)
            outs += (x,)
        return outs


@pytest.mark.parametrize("answer", [ChainModuleList, ChainOfSequential, ChainTuple])
def test_q2_alternatives(answer):
    assert_check_passed(ex.q2, answer)


class PlainList(ChainModuleList):
    def __init__(self, *layers):
        nn.Module.__init__(self)
        self.layers = list(layers)


class OnlyLast(ChainModuleList):
    def forward(self, x):
        return super().forward(x)[-1]


class WithInput(ChainModuleList):
    def forward(self, x):
        return [x] + super().forward(x)


class NotChained(ChainModuleList):
    def forward(self, x):
        return [layer(x) for layer in self.layers]


class Reversed(ChainModuleList):
    def forward(self, x):
        return super().forward(x)[::-1]


class NoSuper(nn.Module):
    def __init__(self, *layers):
        self.layers = nn.ModuleList(layers)


class NotAModule:
    def __init__(self, *layers):
        self.layers = layers


class TwiceRegistered(ChainModuleList):
    def __init__(self, *layers):
        super().__init__(*layers)
        self.copy = nn.ModuleList(copy.deepcopy(layer) for layer in layers)


@pytest.mark.parametrize("answer, message", [
    (PlainList, "plain Python list"),
    (OnlyLast, "returned one tensor"),
    (WithInput, "leave the input out"),
    (NotChained, "Item 1 is not layer 1 applied to item 0"),
    (Reversed, "in reverse"),
    (NotAModule, "does not subclass `nn.Module`"),
    (TwiceRegistered, "Register each layer exactly once"),
    (ChainModuleList(), "Pass the class itself"),
])
def test_q2_wrong(answer, message):
    assert_check_failed(ex.q2, answer, match=message)


def test_q2_forgotten_super_is_an_error_in_the_students_code():
    assert_check_errored(ex.q2, NoSuper, match="before Module.__init__() call")


def test_q2_not_attempted():
    assert_check_unattempted(ex.q2, NotImplemented)


# --- q3: Lambda -------------------------------------------------------------------------

def test_q3_reference():
    assert_check_passed(ex.q3, solution_namespace(ex.q3)["Lambda"])


class LambdaNamedFunc(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def __call__(self, *args):  # a module may also be called through nn.Module.__call__ override
        return super().__call__(*args)

    def forward(self, *args):
        return self.func(*args)


class LambdaWithRepr(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self._fn = fn

    def extra_repr(self):
        return getattr(self._fn, "__name__", "fn")

    def forward(self, x):
        result = self._fn(x)
        return result


@pytest.mark.parametrize("answer", [LambdaNamedFunc, LambdaWithRepr])
def test_q3_alternatives(answer):
    assert_check_passed(ex.q3, answer)


class ReturnsInput(LambdaWithRepr):
    def forward(self, x):
        return x


class ReturnsFunction(LambdaWithRepr):
    def forward(self, x):
        return self._fn


class CallsAtInit(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.check = fn(torch.zeros(1))

    def forward(self, x):
        return self.fn(x)


class CallsTwice(LambdaWithRepr):
    def forward(self, x):
        self._fn(x)
        return self._fn(x)


class FixedFunction(LambdaWithRepr):
    def forward(self, x):
        return torch.tanh(x)


class HasParameter(LambdaWithRepr):
    def __init__(self, fn):
        super().__init__(fn)
        self.scale = nn.Parameter(torch.ones(1))


class PlainWrapper:
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)


@pytest.mark.parametrize("answer, message", [
    (ReturnsInput, "returned `x` unchanged"),
    (ReturnsFunction, "returned the function itself"),
    (CallsAtInit, "called `fn` while being built"),
    (CallsTwice, "called the function 2 times"),
    (FixedFunction, "must call the function it was given"),
    (HasParameter, "has parameters"),
    (PlainWrapper, "does not subclass `nn.Module`"),
])
def test_q3_wrong(answer, message):
    assert_check_failed(ex.q3, answer, match=message)


def test_q3_not_attempted():
    assert_check_unattempted(ex.q3, NotImplemented)


# --- q4: make_classifier ----------------------------------------------------------------

class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def test_q4_reference():
    assert_check_passed(ex.q4, solution_namespace(ex.q4)["make_classifier"])


@pytest.mark.parametrize("answer", [
    lambda: nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 4, 3), relu=nn.ReLU(), flat=nn.Flatten(),
                                      head=nn.Linear(144, 10))),
    lambda: nn.Sequential(nn.Conv2d(1, 4, (3, 3)), nn.ReLU(), Lambda(lambda t: torch.flatten(t, 1)),
                          nn.Linear(144, 10)),
    lambda: nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 32), nn.ReLU(),
                          nn.Linear(32, 10)),
], ids=["named", "lambda-flatten", "deeper-head"])
def test_q4_alternatives(answer):
    assert_check_passed(ex.q4, answer)


@pytest.mark.parametrize("answer, message", [
    (lambda: nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(256, 10)),
     "Your Linear expects 256 features but each image gives 144"),
    (lambda: nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Linear(144, 10)),
     "was not flattened to one row per image"),
    (lambda: nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), Lambda(torch.flatten), nn.Linear(144, 10)),
     "merged the batch dimension"),
    (lambda: nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(144, 10)),
     "put an `nn.ReLU()` after the convolution"),
    (lambda: nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(288, 10)),
     "should start with one `nn.Conv2d(1, 4, 3)`"),
    (lambda: nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 5)),
     "expected (1, 10)"),
    (lambda: [nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10)],
     "return an `nn.Sequential`"),
])
def test_q4_wrong(answer, message):
    assert_check_failed(ex.q4, answer, match=message)


def test_q4_not_attempted():
    assert_check_unattempted(ex.q4, NotImplemented)


# --- answers written from a student's point of view (review of the checks) ---------------

@pytest.mark.parametrize("answer", [
    lambda net: nn.Sequential(net.hidden, nn.Tanh(), net.output),
    lambda net: nn.Sequential(net.hidden, net.act, nn.Identity(), net.output),
], ids=["new-tanh-module", "extra-identity"])
def test_q1_student_variants_pass(answer):
    assert_check_passed(ex.q1, answer)


def test_q1_hardtanh_is_not_tanh():
    assert_check_failed(ex.q1, lambda net: nn.Sequential(net.hidden, nn.Hardtanh(), net.output),
                        match="ManualNet's activation is Tanh, not Hardtanh")


class ChainAddModuleWalrus(nn.Module):
    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            self.add_module(f"step{i}", layer)

    def forward(self, x):
        return [x := layer(x) for layer in self.children()]


def test_q2_student_variant_passes():
    assert_check_passed(ex.q2, ChainAddModuleWalrus)


class ChainDetached(nn.Module):
    def __init__(self, *layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        outputs = []
        for layer in self.layers:
            x = layer(x)
            outputs.append(x.detach())
        return outputs


class ChainTakingAList(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        outputs = []
        for layer in self.layers:
            x = layer(x)
            outputs.append(x)
        return outputs


def test_q2_detached_outputs_fail():
    assert_check_failed(ex.q2, ChainDetached, match="Item 0 of your list is cut off from autograd")


def test_q2_layers_as_one_list_argument_fail():
    assert_check_failed(ex.q2, ChainTakingAList, match="receives the layers as separate arguments")


class LambdaInHiddenList(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self._fn = [fn]

    def forward(self, input):
        return self._fn[0](input)


def test_q3_student_variant_passes():
    assert_check_passed(ex.q3, LambdaInHiddenList)


class LambdaFlattensFirst(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x.flatten(1))


class LambdaDetached(LambdaFlattensFirst):
    def forward(self, x):
        return self.fn(x).detach()


def test_q3_reshaping_the_input_fails():
    assert_check_failed(ex.q3, LambdaFlattensFirst, match="it returned shape (3, 8)")


def test_q3_detached_output_fails():
    assert_check_failed(ex.q3, LambdaDetached, match="`Lambda(fn)(x)` is cut off from autograd")


def _classifier(*middle, conv=None, head=None, tail=()):
    conv = conv or nn.Conv2d(1, 4, kernel_size=3)
    return nn.Sequential(conv, *middle, head or nn.Linear(144, 10), *tail)


@pytest.mark.parametrize("answer", [
    lambda: nn.Sequential(nn.Conv2d(in_channels=1, out_channels=4, kernel_size=3), nn.ReLU(inplace=True),
                          nn.Flatten(start_dim=1), nn.Linear(in_features=144, out_features=10)),
    lambda: _classifier(nn.ReLU(), nn.Flatten(), conv=nn.Conv2d(1, 4, (3, 3), padding=0)),
], ids=["keywords-inplace", "tuple-kernel-explicit-padding"])
def test_q4_student_variants_pass(answer):
    assert_check_passed(ex.q4, answer)


_SHARED_MODEL = _classifier(nn.ReLU(), nn.Flatten())


@pytest.mark.parametrize("answer, message", [
    (lambda: _classifier(nn.ReLU(), nn.Flatten(), conv=nn.Conv2d(1, 4, 3, padding=1), head=nn.Linear(256, 10)),
     "Your convolution has padding=1"),
    (lambda: _classifier(nn.Flatten(), nn.ReLU()), "the ReLU comes right after the convolution"),
    (lambda: _SHARED_MODEL, "returns the same model on every call"),
    (lambda: _classifier(nn.ReLU(), nn.Flatten(), tail=[nn.Softmax(dim=1)]), "Your Sequential ends with Softmax"),
    (lambda: _classifier(nn.ReLU(), nn.Flatten(), head=nn.LazyLinear(10)), "`nn.LazyLinear` guesses the input size"),
], ids=["padding", "relu-after-flatten", "same-instance", "softmax", "lazy-linear"])
def test_q4_student_mistakes(answer, message):
    assert_check_failed(ex.q4, answer, match=message)
