"""Answers to lesson 03's exercises, as data: right ones in other idioms, wrong ones with the
words the student must read. ``tests/unit/test_every_exercise.py`` judges every entry (on the
notebook's inputs and on a grader's fresh ones); ``tests/unit/test_lesson03.py`` keeps the tests
of special behaviour (the student's line, the broken model of the statement, the first message)."""

import copy
import functools
from collections import OrderedDict

import torch
from torch import nn

from course_utils.exercises.lesson03 import ManualNet
from course_utils.exercises.testing import Right, Wrong


class Lambda(nn.Module):
    def __init__(self, fn, *args, **kwargs):
        super().__init__()
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def forward(self, x):
        return self.fn(x, *self.args, **self.kwargs)


# --- q1: to_sequential -----------------------------------------------------------------------

class TanhByHand(nn.Module):
    def forward(self, x):
        return (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x))


def fresh_layers(net):
    return nn.Sequential(nn.Linear(net.hidden.in_features, net.hidden.out_features), nn.Tanh(),
                         nn.Linear(net.output.in_features, net.output.out_features))


Q1 = [
    Right(lambda net: nn.Sequential(OrderedDict(hidden=net.hidden, act=net.act, output=net.output)), "ordereddict"),
    Right(lambda net: nn.Sequential(copy.deepcopy(net.hidden), nn.Tanh(), copy.deepcopy(net.output)), "deep-copies"),
    Right(lambda net: nn.Sequential(net.hidden, TanhByHand(), net.output), "own-tanh-module"),
    Right(lambda net: nn.Sequential(net.hidden, Lambda(torch.tanh), net.output), "lambda-tanh"),
    Right(lambda net: nn.Sequential(net.hidden, net.act, nn.Identity(), net.output), "extra-identity"),
    Wrong(lambda net: nn.Sequential(*net.children()), "applies Tanh last", name="children"),
    Wrong(lambda net: nn.Sequential(net.hidden, net.output), "Tanh between the two linear layers is missing",
          name="no-tanh"),
    Wrong(fresh_layers, "new random weights"),
    Wrong(lambda net: nn.Sequential(net.hidden, nn.ReLU(), net.output), "your ReLU computes something else",
          name="relu"),
    Wrong(lambda net: nn.Sequential(net.hidden, nn.Hardtanh(), net.output), "your Hardtanh computes something else",
          name="hardtanh"),
    Wrong(lambda net: nn.Sequential(net), "contains the whole ManualNet", name="whole-net"),
    Wrong(lambda net: net, "return an `nn.Sequential`", name="the-net-itself"),
    Wrong(lambda net: None, "returned None", name="none"),
    Wrong(lambda net: nn.Sequential(net.hidden, net.act, net.act, net.output), "ManualNet is Linear → Tanh → Linear",
          name="tanh-twice"),
    Wrong(lambda net: nn.Sequential(net.output, net.act, net.hidden), "fails on an input of shape", name="reversed"),
    Wrong(ManualNet, "Pass the function `to_sequential`", name="the-class"),
    Wrong(ManualNet(2, 3, 1), "You passed a module (a ManualNet)", name="an-instance"),
]


# --- q2: Chain -----------------------------------------------------------------------------

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


class ChainAddModuleStoredSequence(nn.Module):
    """add_module under numbers, then the loop over the stored sequence (what the lesson ends with)."""

    def __init__(self, *layers):
        super().__init__()
        for index, layer in enumerate(layers):
            self.add_module(str(index), layer)

    def forward(self, x):
        outs = ()
        for layer in self._modules.values():
            x = layer(x)
            outs += (x,)
        return outs


class ChainAliasTuple(nn.Module):
    """Registered once in a ModuleList, iterated through a plain tuple that aliases the same layers."""

    def __init__(self, *layers):
        super().__init__()
        self.registered = nn.ModuleList(layers)
        self.order = layers

    def forward(self, x):
        return [x := layer(x) for layer in self.order]


class ChainHoldingSequential(nn.Module):
    """The layers kept in an nn.Sequential, run one by one (every position: a layer passed twice runs twice)."""

    def __init__(self, *layers):
        super().__init__()
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        outputs = []
        for layer in self.body:
            x = layer(x)
            outputs.append(x)
        return outputs


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


class NotAModule:
    def __init__(self, *layers):
        self.layers = layers


class TwiceRegistered(ChainModuleList):
    def __init__(self, *layers):
        super().__init__(*layers)
        self.copy = nn.ModuleList(copy.deepcopy(layer) for layer in layers)


class RegistersCopies(ChainModuleList):
    def __init__(self, *layers):
        super().__init__(*[copy.deepcopy(layer) for layer in layers])


class ChildrenLoop(nn.Module):
    """The lesson's first try: add_module, then children() (drops a layer passed twice)."""

    def __init__(self, *layers):
        super().__init__()
        for index, layer in enumerate(layers):
            self.add_module(str(index), layer)

    def forward(self, x):
        return [x := layer(x) for layer in self.children()]


class ChainDetached(ChainModuleList):
    def forward(self, x):
        return [item.detach() for item in super().forward(x)]


class DropsLast(ChainModuleList):
    def forward(self, x):
        return super().forward(x)[:-1]


class ChainTakingAList(ChainModuleList):
    def __init__(self, layers):
        super().__init__(*layers)


Q2 = [
    Right(ChainModuleList),
    Right(ChainOfSequential),
    Right(ChainAddModuleStoredSequence),
    Right(ChainAliasTuple),
    Right(ChainHoldingSequential),
    Wrong(PlainList, "plain Python list"),
    Wrong(OnlyLast, "returned one tensor"),
    Wrong(WithInput, "leave the input out"),
    Wrong(NotChained, "Item 1 is not layer 1 applied to item 0"),
    Wrong(Reversed, "in reverse"),
    Wrong(NotAModule, "does not subclass `nn.Module`"),
    Wrong(TwiceRegistered, "registers 80 parameters; its layers hold 40"),
    Wrong(RegistersCopies, "registers copies of the layers it was given"),
    Wrong(ChildrenLoop, "`self.children()` lists each module once, so the repeated layer ran once"),
    Wrong(ChainDetached, "Item 0 of your list is cut off from autograd"),
    Wrong(ChainTakingAList, "receives the layers as separate arguments"),
    Wrong(DropsLast, "Your list has 2 items; with 3 layers it should have 3."),
    Wrong(ChainModuleList(), "Pass the class itself", name="an-instance"),
]


# --- q3: Lambda with arguments ---------------------------------------------------------------

class LambdaPartial(nn.Module):
    def __init__(self, fn, *args, **kwargs):
        super().__init__()
        self.call = functools.partial(fn, **kwargs)
        self.extra = args

    def forward(self, x):
        return self.call(x, *self.extra)


class LambdaClosure(nn.Module):
    def __init__(self, fn, *args, **kwargs):
        super().__init__()
        self.apply_fn = lambda t: fn(t, *args, **kwargs)

    def forward(self, input):
        return self.apply_fn(input)


class LambdaWithRepr(nn.Module):
    def __init__(self, function, *arguments, **options):
        super().__init__()
        self.function, self.arguments, self.options = function, list(arguments), dict(options)

    def extra_repr(self):
        return getattr(self.function, "__name__", "fn")

    def forward(self, x):
        result = self.function(x, *self.arguments, **self.options)
        return result


class OnlyFn(nn.Module):
    """The lesson's Lambda, pasted."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class DropsArgs(Lambda):
    def forward(self, x):
        return self.fn(x)


class DropsKwargs(Lambda):
    def forward(self, x):
        return self.fn(x, *self.args)


class DropsPositional(Lambda):
    def forward(self, x):
        return self.fn(x, **self.kwargs)


class ReturnsInput(Lambda):
    def forward(self, x):
        return x


class ReturnsFunction(Lambda):
    def forward(self, x):
        return self.fn


class CallsAtInit(Lambda):
    def __init__(self, fn, *args, **kwargs):
        super().__init__(fn, *args, **kwargs)
        fn(torch.zeros(1), *args, **kwargs)


class CallsTwice(Lambda):
    def forward(self, x):
        super().forward(x)
        return super().forward(x)


class HasParameter(Lambda):
    def __init__(self, fn, *args, **kwargs):
        super().__init__(fn, *args, **kwargs)
        self.scale = nn.Parameter(torch.ones(1))


class Detached(Lambda):
    def forward(self, x):
        return super().forward(x).detach()


class ArgsFirst(Lambda):   # the answer: the check's function was symmetric in its first two
    def forward(self, x):
        return self.fn(*self.args, x, **self.kwargs)


class KwargsByPosition(Lambda):
    """The keyword arguments passed on by position: right while they follow the positional ones in order."""

    def forward(self, x):
        return self.fn(x, *self.args, *self.kwargs.values())


class Packed(Lambda):
    def forward(self, x):
        return self.fn(x, self.args, self.kwargs) if self.args or self.kwargs else self.fn(x)


Q3 = [
    Right(Lambda),
    Right(LambdaPartial),
    Right(LambdaClosure),
    Right(LambdaWithRepr),
    Wrong(OnlyFn, "`OnlyFn(...)` cannot be called with (the function affine, 3.0, shift=1.0): too many positional "
                  "arguments"),
    Wrong(OnlyFn, "Accept any extra arguments after the function", name="OnlyFn-advice"),
    Wrong(DropsArgs, "`Lambda(fn, 3.0, shift=1.0)`(x) returned `fn(x)`: the extra arguments were dropped"),
    Wrong(DropsKwargs, "ignored the keyword argument shift=..."),
    Wrong(DropsPositional, "`Lambda(fn, 3.0, shift=1.0)`(x) ignored the positional argument 3.0"),
    Wrong(ReturnsInput, "returned `x` unchanged"),
    Wrong(ReturnsFunction, "returned a function; call it"),
    Wrong(CallsAtInit, "called `fn` while being built"),
    Wrong(CallsTwice, "called the function 2 times"),
    Wrong(HasParameter, "has parameters"),
    Wrong(Detached, "`Lambda(fn, 3.0)(x)` is cut off from autograd"),
    Wrong(ArgsFirst, "`Lambda(fn, 3.0, shift=1.0)`(x) called `fn(3.0, x, ...)`: the extra arguments came first. The "
                     "input is the function's first argument"),
    Wrong(KwargsByPosition, "`Lambda(fn, shift=-4.0)`(x) is not `fn(x, *args, **kwargs)`: `forward` must call the "
                            "function it was given on its input, with the extra arguments"),
    Wrong(Packed, "`Lambda(fn, 3.0, shift=1.0)`(x) fails (unsupported operand type(s) for -: 'Tensor' and 'dict'): "
                  "the function received a whole tuple as one of its arguments. `self.args` is a tuple and "
                  "`self.kwargs` a dict: unpack them"),
]


# --- q4: make_classifier ---------------------------------------------------------------------

def classifier(conv=None, relu=None, flatten=None, head=None, extra=()):
    return nn.Sequential(conv or nn.Conv2d(3, 8, kernel_size=5, stride=2, padding=1), relu or nn.ReLU(),
                         flatten or nn.Flatten(), head or nn.Linear(392, 5), *extra)


SHARED_MODEL = classifier()

Q4 = [
    Right(lambda: nn.Sequential(OrderedDict(conv=nn.Conv2d(3, 8, 5, 2, 1), relu=nn.ReLU(), flat=nn.Flatten(),
                                            head=nn.Linear(392, 5))), "named"),
    Right(lambda: classifier(relu=nn.ReLU(inplace=True), flatten=Lambda(torch.flatten, start_dim=1)),
          "inplace-lambda-flatten"),
    Right(lambda: classifier(conv=nn.Conv2d(in_channels=3, out_channels=8, kernel_size=(5, 5), stride=(2, 2),
                                            padding=(1, 1)), relu=Lambda(torch.relu),
                             flatten=Lambda(lambda t: t.reshape(t.shape[0], -1))), "keywords-lambda-relu"),
    Right(lambda: nn.Sequential().append(nn.Conv2d(3, 8, 5, stride=2, padding=1)).append(nn.ReLU())
                                 .append(nn.Flatten(start_dim=1)).append(nn.Linear(8 * 7 * 7, 5)), "appended"),
    Right(lambda: classifier(relu=nn.Threshold(0.0, 0.0)), "threshold-is-a-relu"),
    Wrong(lambda: classifier(head=nn.Linear(8 * 16 * 16, 5)),
          "Your Linear expects 2048 features, but each image gives 392 after the flatten", name="flat-2048"),
    Wrong(lambda: classifier(head=nn.Linear(8 * 6 * 6, 5)), "Your Linear expects 288 features", name="flat-288"),
    Wrong(lambda: nn.Sequential(nn.Conv2d(3, 8, 5, 2, 1), nn.ReLU(), nn.Linear(392, 5)),
          "Your Sequential holds 3 layers", name="no-flatten"),
    Wrong(lambda: classifier(flatten=Lambda(torch.flatten)), "merged the batch dimension", name="flatten-all"),
    Wrong(lambda: classifier(relu=nn.Tanh()), "layer 1 must be the ReLU", name="tanh"),
    Wrong(lambda: nn.Sequential(nn.Conv2d(3, 8, 5, 2, 1), nn.Flatten(), nn.ReLU(), nn.Linear(392, 5)),
          "layer 1 must be the ReLU", name="flatten-before-relu"),
    Wrong(lambda: nn.Sequential(nn.Conv2d(3, 8, 5, 2, 1), nn.Linear(392, 5), nn.ReLU(), nn.Flatten()),
          "layer 1 must be the ReLU (conv → ReLU → flatten → linear)", name="linear-out-of-place"),
    Wrong(lambda: classifier(conv=nn.Conv2d(1, 8, 5, 2, 1)), "3 colour channels in, 8 out", name="one-channel"),
    Wrong(lambda: classifier(conv=nn.Conv2d(3, 8, 5, stride=2, padding=1, dilation=2)),
          "Your convolution is `Conv2d(3, 8, kernel_size=(5, 5), stride=(2, 2), padding=(1, 1), dilation=(2, 2))`",
          name="dilated-conv"),
    Wrong(lambda: classifier(conv=nn.Conv2d(3, 8, 5)), "`nn.Conv2d(3, 8, kernel_size=5, stride=2, padding=1)`",
          name="conv-defaults"),
    Wrong(lambda: classifier(head=nn.Linear(392, 10)), "produces 10 scores per image; the exercise asks for 5",
          name="ten-scores"),
    Wrong(lambda: classifier(head=nn.LazyLinear(5)), "`nn.LazyLinear` guesses the input size", name="lazy"),
    Wrong(lambda: classifier(extra=[nn.Softmax(dim=1)]), "Your Sequential holds 5 layers", name="softmax"),
    Wrong(lambda: nn.Sequential(nn.Conv2d(3, 8, 5, 2, 1), nn.ReLU(), nn.MaxPool2d(1), nn.Flatten(), nn.Linear(392, 5)),
          "the exercise lists exactly four, in this order", name="maxpool"),
    Wrong(lambda: nn.Sequential(nn.Conv2d(3, 8, 5, 2, 1), nn.ReLU(), nn.Dropout(0.0), nn.Flatten(), nn.Linear(392, 5)),
          "['Conv2d', 'ReLU', 'Dropout', 'Flatten', 'Linear']", name="dropout"),
    Wrong(lambda: SHARED_MODEL, "returns the same model on every call", name="shared-model"),
    Wrong(lambda: [nn.Conv2d(3, 8, 5, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(392, 5)],
          "return an `nn.Sequential`", name="a-list"),
    Wrong(lambda: classifier(conv=nn.Linear(3, 8)), "it must start with the convolution", name="linear-first"),
]


# --- q5: debugging TwoPaths --------------------------------------------------------------------

def two_paths(forward, init=None, name="TwoPaths"):
    def default_init(self, features, n_out):
        nn.Module.__init__(self)
        self.path_a = nn.Sequential(nn.Linear(features, features), nn.ReLU())
        self.path_b = nn.Sequential(nn.Linear(features, features), nn.ReLU())
        self.head = nn.Linear(features, n_out)

    return type(name, (nn.Module,), {"__init__": init or default_init, "forward": forward})


def deepcopied(self, features, n_out):
    nn.Module.__init__(self)
    self.path_a = nn.Sequential(nn.Linear(features, features), nn.ReLU())
    self.path_b = copy.deepcopy(self.path_a)
    self.head = nn.Linear(features, n_out)


def chained_again(self, features, n_out):
    """The slice fixed, but the chain kept: registers every layer a second time."""
    nn.Module.__init__(self)
    self.path_a = nn.Sequential(nn.Linear(features, features), nn.ReLU())
    self.path_b = nn.Sequential(nn.Linear(features, features), nn.ReLU())
    self.head = nn.Linear(features, n_out)
    self.model = nn.Sequential(self.path_a, self.path_b, self.head)


def tied(self, features, n_out):
    nn.Module.__init__(self)
    self.path_a = nn.Sequential(nn.Linear(features, features), nn.ReLU())
    self.path_b = nn.Sequential(nn.Linear(features, features), nn.ReLU())
    self.head = nn.Linear(features, n_out)
    self.path_b[0].weight = self.path_a[0].weight


def paths_without_head(self, features, n_out):
    nn.Module.__init__(self)
    self.path_a, self.path_b = nn.Linear(features, features), nn.Linear(features, features)


class ModuleListPaths(nn.Module):
    def __init__(self, features, n_out):
        super().__init__()
        self.paths = nn.ModuleList(nn.Sequential(nn.Linear(features, features), nn.ReLU()) for _ in range(2))
        self.head = nn.Linear(features, n_out)

    def forward(self, x):
        return self.head(sum(path(x) for path in self.paths))


class FunctionalRelu(nn.Module):
    def __init__(self, features, n_out):
        super().__init__()
        self.a = nn.Linear(features, features)
        self.b = nn.Linear(features, features)
        self.out = nn.Linear(features, n_out)

    def forward(self, x):
        return self.out(torch.stack([torch.relu(self.a(x)), torch.relu(self.b(x))]).sum(dim=0))


Q5 = [
    Right(two_paths(lambda self, x: self.head(self.path_a(x) + self.path_b(x))), "reference-style"),
    Right(two_paths(lambda self, x: self.head(torch.add(self.path_b(x), self.path_a(x)))), "torch-add"),
    Right(ModuleListPaths, "modulelist-sum"),
    Right(FunctionalRelu, "functional-stack-sum"),
    Wrong(two_paths(lambda self, x: self.model(x), init=chained_again),
          "Your state_dict has 12 entries for 6 parameters: every weight is saved twice, under a second name "
          "(model.1.0.weight, model.1.0.bias, model.2.weight, model.2.bias). Which attribute registers the paths and "
          "the head a second time?", name="chain-kept"),
    # the answer: identical paths get identical gradients and stay one path
    Wrong(two_paths(lambda self, x: self.head(torch.add(self.path_b(x), self.path_a(x))), init=deepcopied),
          "`path_a.0` and `path_b.0` start with identical weights (a copy of one path?): two paths that start equal "
          "receive equal gradients and stay equal through training", name="deepcopy"),
    Wrong(two_paths(lambda self, x: self.head(self.path_b(self.path_a(x)))),
          "the two paths run one after the other, the second on the first one's output, and nothing adds them",
          name="chained"),
    Wrong(two_paths(lambda self, x: self.head(torch.relu(self.path_a[0](x) + self.path_b[0](x)))),
          "You added before the ReLU", name="add-before-relu"),
    Wrong(two_paths(lambda self, x: self.head(self.path_a(x) * self.path_b(x))), "no addition in its autograd graph",
          name="product"),
    Wrong(two_paths(lambda self, x: self.head(self.path_a(x)) + self.head(self.path_b(x))),
          "Your output differs from the expected values", name="head-twice"),
    Wrong(two_paths(lambda self, x: self.head(self.path_a(x) + self.path_b(x)), init=tied),
          "Your model has 69 registered parameters; expected 105", name="tied-weight"),
    Wrong(two_paths(lambda self, x: self.head(self.path_a(x) + self.path_b(x)), init=paths_without_head),
          "should register two Linear(6 → 6) paths and one Linear(6 → 3) head", name="no-head"),
]

BANK = {"q1": Q1, "q2": Q2, "q3": Q3, "q4": Q4, "q5": Q5}
