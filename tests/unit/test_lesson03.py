"""Lesson 03 checks on alternative correct answers and a bank of wrong answers.

The reference, the stub and the hints of every exercise are tested once for all lessons in
``test_every_exercise.py``.
"""

import copy
import linecache
import textwrap
from collections import OrderedDict

import pytest
import torch
from torch import nn

from course_utils.exercises import lesson03 as ex
from course_utils.exercises.testing import assert_check_failed, assert_check_passed


def defined(source, name):
    """Run a student's cell (dedented) and return what it defines; its source is findable, as in IPython."""
    source = textwrap.dedent(source)
    filename = f"<cell defining {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"nn": nn, "torch": torch}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


# --- q1: to_sequential ------------------------------------------------------------------

class TanhByHand(nn.Module):
    def forward(self, x):
        return (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x))


class Lambda(nn.Module):
    def __init__(self, fn, *args, **kwargs):
        super().__init__()
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def forward(self, x):
        return self.fn(x, *self.args, **self.kwargs)


@pytest.mark.parametrize("answer", [
    lambda net: nn.Sequential(OrderedDict(hidden=net.hidden, act=net.act, output=net.output)),
    lambda net: nn.Sequential(copy.deepcopy(net.hidden), nn.Tanh(), copy.deepcopy(net.output)),
    lambda net: nn.Sequential(net.hidden, TanhByHand(), net.output),
    lambda net: nn.Sequential(net.hidden, Lambda(torch.tanh), net.output),
    lambda net: nn.Sequential(net.hidden, net.act, nn.Identity(), net.output),
], ids=["ordereddict", "deep-copies", "own-tanh-module", "lambda-tanh", "extra-identity"])
def test_q1_alternatives(answer):
    assert_check_passed(ex.q1, answer)


def fresh_layers(net):
    return nn.Sequential(nn.Linear(net.hidden.in_features, net.hidden.out_features), nn.Tanh(),
                         nn.Linear(net.output.in_features, net.output.out_features))


@pytest.mark.parametrize("answer, message", [
    (lambda net: nn.Sequential(*net.children()), "applies Tanh last"),
    (lambda net: nn.Sequential(net.hidden, net.output), "Tanh between the two linear layers is missing"),
    (fresh_layers, "new random weights"),
    (lambda net: nn.Sequential(net.hidden, nn.ReLU(), net.output), "your ReLU computes something else"),
    (lambda net: nn.Sequential(net.hidden, nn.Hardtanh(), net.output), "your Hardtanh computes something else"),
    (lambda net: nn.Sequential(net), "contains the whole ManualNet"),
    (lambda net: net, "return an `nn.Sequential`"),
    (lambda net: None, "returned None"),
    (lambda net: nn.Sequential(net.hidden, net.act, net.act, net.output), "ManualNet is Linear → Tanh → Linear"),
    (lambda net: nn.Sequential(net.output, net.act, net.hidden), "fails on an input of shape"),
    (ex.ManualNet, "Pass the function `to_sequential`"),
    (ex.ManualNet(2, 3, 1), "You passed a module (a ManualNet)"),
])
def test_q1_wrong(answer, message):
    assert_check_failed(ex.q1, answer, match=message)


# --- q2: Chain --------------------------------------------------------------------------

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


@pytest.mark.parametrize("answer", [ChainModuleList, ChainOfSequential, ChainAddModuleStoredSequence,
                                    ChainAliasTuple])
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


class ChainTakingAList(ChainModuleList):
    def __init__(self, layers):
        super().__init__(*layers)


@pytest.mark.parametrize("answer, message", [
    (PlainList, "plain Python list"),
    (OnlyLast, "returned one tensor"),
    (WithInput, "leave the input out"),
    (NotChained, "Item 1 is not layer 1 applied to item 0"),
    (Reversed, "in reverse"),
    (NotAModule, "does not subclass `nn.Module`"),
    (TwiceRegistered, "registers 80 parameters; its layers hold 40"),
    (RegistersCopies, "registers copies of the layers it was given"),
    (ChildrenLoop, "`self.children()` lists each module once, so the repeated layer ran once"),
    (ChainDetached, "Item 0 of your list is cut off from autograd"),
    (ChainTakingAList, "receives the layers as separate arguments"),
    (ChainModuleList(), "Pass the class itself"),
    (NoSuper, "`NoSuper.__init__` must call `super().__init__()` before it assigns a layer: that call creates the registries `self.name = ...` writes into. (At test_lesson03.py, line"),
])
def test_q2_wrong(answer, message):
    assert_check_failed(ex.q2, answer, match=message)


# --- q3: Lambda with arguments ----------------------------------------------------------

class LambdaPartial(nn.Module):
    def __init__(self, fn, *args, **kwargs):
        super().__init__()
        import functools
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


@pytest.mark.parametrize("answer", [Lambda, LambdaPartial, LambdaClosure, LambdaWithRepr])
def test_q3_alternatives(answer):
    assert_check_passed(ex.q3, answer)


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


FORGOT_SUPER = defined('''
    class Lambda(nn.Module):
        def __init__(self, fn, *args, **kwargs):
            self.fn = fn
            self.args, self.kwargs = args, kwargs

        def forward(self, x):
            return self.fn(x, *self.args, **self.kwargs)
''', "Lambda")


@pytest.mark.parametrize("answer, message", [
    (OnlyFn, "`OnlyFn(...)` cannot be called with (the function affine, 3.0, shift=1.0): too many positional arguments"),
    (OnlyFn, "Accept any extra arguments after the function"),
    (DropsArgs, "`Lambda(fn, 3.0, shift=1.0)`(x) returned `fn(x)`: the extra arguments were dropped"),
    (DropsKwargs, "ignored the keyword argument shift=..."),
    (DropsPositional, "`Lambda(fn, 3.0, shift=1.0)`(x) ignored the positional argument 3.0"),
    (ReturnsInput, "returned `x` unchanged"),
    (ReturnsFunction, "returned a function; call it"),
    (CallsAtInit, "called `fn` while being built"),
    (CallsTwice, "called the function 2 times"),
    (HasParameter, "has parameters"),
    (Detached, "`Lambda(fn, 3.0)(x)` is cut off from autograd"),
    (FORGOT_SUPER, "`Lambda.__init__` must call `super().__init__()` before anything else "
                   "(At <cell defining Lambda>, line 3: `def __init__(self, fn, *args, **kwargs):`)"),
])
def test_q3_wrong(answer, message):
    assert_check_failed(ex.q3, answer, match=message)


# --- q4: make_classifier ----------------------------------------------------------------

def classifier(conv=None, relu=None, flatten=None, head=None, extra=()):
    return nn.Sequential(conv or nn.Conv2d(3, 8, kernel_size=5, stride=2, padding=1), relu or nn.ReLU(),
                         flatten or nn.Flatten(), head or nn.Linear(392, 5), *extra)


@pytest.mark.parametrize("answer", [
    lambda: nn.Sequential(OrderedDict(conv=nn.Conv2d(3, 8, 5, 2, 1), relu=nn.ReLU(), flat=nn.Flatten(),
                                      head=nn.Linear(392, 5))),
    lambda: classifier(relu=nn.ReLU(inplace=True), flatten=Lambda(torch.flatten, start_dim=1)),
    lambda: classifier(conv=nn.Conv2d(in_channels=3, out_channels=8, kernel_size=(5, 5), stride=(2, 2),
                                      padding=(1, 1)), relu=Lambda(torch.relu),
                       flatten=Lambda(lambda t: t.reshape(t.shape[0], -1))),
    lambda: nn.Sequential().append(nn.Conv2d(3, 8, 5, stride=2, padding=1)).append(nn.ReLU())
                           .append(nn.Flatten(start_dim=1)).append(nn.Linear(8 * 7 * 7, 5)),
], ids=["named", "inplace-lambda-flatten", "keywords-lambda-relu", "appended"])
def test_q4_alternatives(answer):
    assert_check_passed(ex.q4, answer)


SHARED_MODEL = classifier()


@pytest.mark.parametrize("answer, message", [
    (lambda: classifier(head=nn.Linear(8 * 16 * 16, 5)),
     "Your Linear expects 2048 features, but each image gives 392 after the flatten"),
    (lambda: classifier(head=nn.Linear(8 * 6 * 6, 5)), "Your Linear expects 288 features"),
    (lambda: nn.Sequential(nn.Conv2d(3, 8, 5, 2, 1), nn.ReLU(), nn.Linear(392, 5)),
     "Your Sequential holds 3 layers"),
    (lambda: classifier(flatten=Lambda(torch.flatten)), "merged the batch dimension"),
    (lambda: classifier(relu=nn.Tanh()), "layer 1 must be the ReLU"),
    (lambda: nn.Sequential(nn.Conv2d(3, 8, 5, 2, 1), nn.Flatten(), nn.ReLU(), nn.Linear(392, 5)),
     "layer 1 must be the ReLU"),
    (lambda: classifier(conv=nn.Conv2d(1, 8, 5, 2, 1)), "3 colour channels in, 8 out"),
    (lambda: classifier(conv=nn.Conv2d(3, 8, 5)), "`nn.Conv2d(3, 8, kernel_size=5, stride=2, padding=1)`"),
    (lambda: classifier(head=nn.Linear(392, 10)), "produces 10 scores per image; the exercise asks for 5"),
    (lambda: classifier(head=nn.LazyLinear(5)), "`nn.LazyLinear` guesses the input size"),
    (lambda: classifier(extra=[nn.Softmax(dim=1)]), "Your Sequential holds 5 layers"),
    (lambda: nn.Sequential(nn.Conv2d(3, 8, 5, 2, 1), nn.ReLU(), nn.MaxPool2d(1), nn.Flatten(), nn.Linear(392, 5)),
     "the exercise lists exactly four, in this order"),
    (lambda: nn.Sequential(nn.Conv2d(3, 8, 5, 2, 1), nn.ReLU(), nn.Dropout(0.0), nn.Flatten(), nn.Linear(392, 5)),
     "['Conv2d', 'ReLU', 'Dropout', 'Flatten', 'Linear']"),
    (lambda: SHARED_MODEL, "returns the same model on every call"),
    (lambda: [nn.Conv2d(3, 8, 5, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(392, 5)], "return an `nn.Sequential`"),
    (lambda: classifier(conv=nn.Linear(3, 8)), "it must start with the convolution"),
])
def test_q4_wrong(answer, message):
    assert_check_failed(ex.q4, answer, match=message)


# --- q5: debugging TwoPaths -------------------------------------------------------------

def two_paths(forward, init=None):
    def default_init(self, features, n_out):
        nn.Module.__init__(self)
        self.path_a = nn.Sequential(nn.Linear(features, features), nn.ReLU())
        self.path_b = nn.Sequential(nn.Linear(features, features), nn.ReLU())
        self.head = nn.Linear(features, n_out)

    return type("TwoPaths", (nn.Module,), {"__init__": init or default_init, "forward": forward})


def no_duplicate_chain(self, features, n_out):
    nn.Module.__init__(self)
    self.path_a = nn.Sequential(nn.Linear(features, features), nn.ReLU())
    self.path_b = nn.Sequential(nn.Linear(features, features), nn.ReLU())
    self.head = nn.Linear(features, n_out)


def deepcopied(self, features, n_out):
    nn.Module.__init__(self)
    self.path_a = nn.Sequential(nn.Linear(features, features), nn.ReLU())
    self.path_b = copy.deepcopy(self.path_a)
    self.head = nn.Linear(features, n_out)


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


@pytest.mark.parametrize("answer", [
    two_paths(lambda self, x: self.head(self.path_a(x) + self.path_b(x))),
    two_paths(lambda self, x: self.head(torch.add(self.path_b(x), self.path_a(x))), init=no_duplicate_chain),
    ModuleListPaths,
    FunctionalRelu,
], ids=["reference-style", "torch-add", "modulelist-sum", "functional-stack-sum"])
def test_q5_alternatives(answer):
    assert_check_passed(ex.q5, answer)


BROKEN = defined(ex.BROKEN_TWO_PATHS, "BrokenTwoPaths")


def only_slice_fixed(self, features, n_out):
    nn.Module.__init__(self)
    self.path_a = nn.Sequential(nn.Linear(features, features), nn.ReLU())
    self.path_b = nn.Sequential(nn.Linear(features, features), nn.ReLU())
    self.head = nn.Linear(features, n_out)
    self.model = nn.Sequential(self.path_a, self.path_b, self.head)


def tied(self, features, n_out):
    no_duplicate_chain(self, features, n_out)
    self.path_b[0].weight = self.path_a[0].weight


@pytest.mark.parametrize("answer, message", [
    (BROKEN, "`TwoPaths(6, 3)` holds one Linear(6 → 6), not two: the two paths are the very same layer, so they "
             "share one weight and can never learn different things. How is `path_b` made?"),
    (two_paths(lambda self, x: self.model(x), init=only_slice_fixed),
     "Your state_dict has 12 entries for 6 parameters: every weight is saved twice, under a second name "
     "(model.1.0.weight, model.1.0.bias, model.2.weight, model.2.bias). Which attribute registers the paths and the "
     "head a second time?"),
    # the answer: identical paths get identical gradients and stay one path
    (two_paths(lambda self, x: self.head(torch.add(self.path_b(x), self.path_a(x))), init=deepcopied),
     "`path_a.0` and `path_b.0` start with identical weights (a copy of one path?): two paths that start equal "
     "receive equal gradients and stay equal through training"),
    (two_paths(lambda self, x: self.head(self.path_b(self.path_a(x))), init=no_duplicate_chain),
     "the two paths run one after the other, the second on the first one's output, and nothing adds them"),
    (two_paths(lambda self, x: self.head(torch.relu(self.path_a[0](x) + self.path_b[0](x)))),
     "You added before the ReLU"),
    (two_paths(lambda self, x: self.head(self.path_a(x) * self.path_b(x))), "no addition in its autograd graph"),
    (two_paths(lambda self, x: self.head(self.path_a(x)) + self.head(self.path_b(x))),
     "Your output differs from the expected values"),
    (two_paths(lambda self, x: self.head(self.path_a(x) + self.path_b(x)), init=tied),
     "Your model has 69 registered parameters; expected 105"),
    (two_paths(lambda self, x: self.head(self.path_a(x) + self.path_b(x)), init=lambda self, f, n: (
        nn.Module.__init__(self), setattr(self, "path_a", nn.Linear(f, f)), setattr(self, "path_b", nn.Linear(f, f)))
     and None), "should register two Linear(6 → 6) paths and one Linear(6 → 3) head"),
])
def test_q5_wrong(answer, message):
    assert_check_failed(ex.q5, answer, match=message)


def test_q5_statement_code_is_the_broken_model():
    """The code the student is handed really has all three faults the check names."""
    model = BROKEN(6, 3)
    assert model.path_a[0] is model.path_b[0]
    assert len(model.state_dict()) == 12 and len(list(model.parameters())) == 4
    x = torch.randn(2, 6)
    assert torch.equal(model(x), model.head(model.path_b(model.path_a(x))))


def test_q5_the_first_message_for_the_handed_out_code_names_the_symptom_not_the_fix():
    message = assert_check_failed(ex.q5, BROKEN).message
    assert "nn.Linear(" not in message and "[:]" not in message
    assert "Sequential" not in ex.q5.title and "belie" not in ex.q5.title
    assert len(ex.q5.hints) >= 3 and "self.path_a(x) + self.path_b(x)" in ex.q5.hints[-1]
    assert not any("self.path_a(x) + self.path_b(x)" in hint for hint in ex.q5.hints[:-1])


def test_q5_a_forward_that_cannot_run_is_explained_with_the_students_line():
    answer = two_paths(lambda self, x: self.head(torch.cat([self.path_a(x), self.path_b(x)], dim=1)))
    outcome = assert_check_failed(
        ex.q5, answer, match="Your TwoPaths, run on an input of shape (4, 6), raised an error: the layer `head` (Linear, 6 → 3 "
                             "features) received 12 features per sample")
    assert "Each path maps 6 features to 6; the head reads their sum." in outcome.message
    assert "torch.cat([self.path_a(x), self.path_b(x)], dim=1)" in outcome.message


# --- q3: the order of the arguments, and arguments passed packed --------------------------------

class ArgsFirst(Lambda):   # the answer: the check's function was symmetric in its first two
    def forward(self, x):
        return self.fn(*self.args, x, **self.kwargs)


class Packed(Lambda):
    def forward(self, x):
        return self.fn(x, self.args, self.kwargs) if self.args or self.kwargs else self.fn(x)


@pytest.mark.parametrize("answer, message", [
    (ArgsFirst, "`Lambda(fn, 3.0, shift=1.0)`(x) called `fn(3.0, x, ...)`: the extra arguments came first. The input "
                "is the function's first argument"),
    (Packed, "`Lambda(fn, 3.0, shift=1.0)`(x) fails (unsupported operand type(s) for -: 'Tensor' and 'dict'): the "
             "function received a whole tuple as one of its arguments. `self.args` is a tuple and `self.kwargs` a "
             "dict: unpack them"),
])
def test_q3_arguments_in_the_wrong_place_are_named(answer, message):
    assert_check_failed(ex.q3, answer, match=message)


# --- q1, q2, q4: what PyTorch raises, in the exercise's terms --------------------------------------

def test_q1_a_layer_name_the_model_does_not_have_is_explained():
    outcome = assert_check_failed(ex.q1, lambda net: nn.Sequential(net.fc1, net.act, net.fc2),
                                  match="`to_sequential` asks the model for a layer it does not have ('ManualNet' "
                                        "object has no attribute 'fc1'): a ManualNet's layers are named `hidden`")
    assert "(At test_lesson03.py, line" in outcome.message


class ChainPreallocated(ChainModuleList):
    """Outputs stored in one tensor made for the input's shape: right while no layer changes the size."""

    def forward(self, x):
        outputs = torch.empty(len(self.layers), *x.shape)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            outputs[i] = x
        return list(outputs)


def test_q2_a_chain_that_only_works_while_sizes_stay_is_explained():
    outcome = assert_check_failed(
        ex.q2, ChainPreallocated, match="Your Chain works while every layer keeps the size of its input, but fails "
                                        "when the layers change it (Linear(3 → 8), ReLU, Linear(8 → 2) on an input "
                                        "of shape (2, 3): The expanded size of the tensor (3) must match")
    assert "`outputs[i] = x`" in outcome.message


def test_q4_a_layer_out_of_place_is_named_as_such_not_as_pytorchs_error():
    assert_check_failed(ex.q4, lambda: nn.Sequential(nn.Conv2d(3, 8, 5, 2, 1), nn.Linear(392, 5), nn.ReLU(),
                                                     nn.Flatten()),
                        match="layer 1 must be the ReLU (conv → ReLU → flatten → linear)")
