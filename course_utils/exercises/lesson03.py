"""Exercises of lesson 03 (nn.Sequential): a Sequential twin, a container, a Lambda with
arguments, a classifier, and a model that believed a Sequential adds (debugging).

The checks run the student's answer on hidden inputs and compare with a reference first;
only when the numbers differ do they look at the structure (which layers, in which order) to
say what is wrong in the student's terms. No check asks for an attribute name the exercise
did not give.

Every check is probed: it holds an ``Answer`` handle, never the answer itself. The layers,
models and functions a check hands to the answer are built on the answer's side
(``session.twin`` / ``session.build``, with the helpers below), and expected values always come
from the check's own copies.

``q1`` is a ``FunctionOnCases`` (``kinds``): ManualNet a ``Twin``, the returned Sequential run on hidden
inputs with its layers read, every case in one round trip. ``q2`` and ``q3`` are ``ClassOnCases``: the
student's container (Chain) or wrapper (Lambda) built with the layers or the function each case hands
in, made on the answer's side, and called on a hidden input; what it registered or called while being
built, what it returned and the known mistakes are data. ``q4`` is judged by its layers (its weights are
random): a list of ``Mistake`` read in order on the model ``make_classifier`` returns. ``q5`` is a
``DebugModel``: the broken model, its symptoms, the mistakes found before and after the weights are
copied, and their messages, as data.
"""

import operator

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.exercises.kinds import (Built, Case, ClassOnCases, DebugModel, FunctionOnCases, Instance, Mistake,
                                          OutputDiffers, Raised, Seen, Symptom, Twin)
from course_utils.exercises.kinds.parts import first_fitting
from course_utils.probes.client import Answer, ProbeFault


# The hand-written model of q1, shown to the student with inspect.getsource (so no docstring
# gives the trap away): its layers are registered in a different order than forward calls them,
# which is exactly what ``nn.Sequential(*net.children())`` gets wrong.
class ManualNet(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.hidden = nn.Linear(n_in, n_hidden)
        self.output = nn.Linear(n_hidden, n_out)
        self.act = nn.Tanh()

    def forward(self, x):
        return self.output(self.act(self.hidden(x)))


def type_names(modules) -> list:
    return [m.type_name for m in modules]


# --- helpers the checks build on the answer's side (``session.build``): none holds a solution

class Group(nn.Module):
    """Modules side by side, so that one ``parameters()`` probe numbers a tensor two of them share
    alike: does the answer's module hold the very layers it was given?"""

    def __init__(self, *modules):
        super().__init__()
        self.parts = nn.ModuleList(modules)


def same_object(first, second) -> bool:
    """Whether two handles name one object (two calls of a function returned the same model)."""
    return first is second


class ItemOf(nn.Module):
    """Item ``index`` of what ``module`` returns: a call of it tells whether that item is connected
    to autograd (a probe reports that for a tensor result, not for the items of a list)."""

    def __init__(self, module, index: int):
        super().__init__()
        self.module, self.index = module, index

    def forward(self, x):
        return self.module(x)[self.index]


class OnGradInput(nn.Module):
    """Calls ``module`` on an input that requires grad: a probe's tensors arrive detached."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x.detach().requires_grad_())


def counting_affine():
    """``affine(t, factor=2.0, shift=0.5) = (t - shift) * factor``, counting its calls in ``affine.calls``.

    Not ``t * factor + shift``: that one gives the same result with its first two arguments swapped,
    so ``fn(*args, x)`` would pass for ``fn(x, *args)``."""
    def affine(t, factor=2.0, shift=0.5):
        affine.calls += 1
        affine.received = [type(t).__name__, type(factor).__name__, type(shift).__name__]
        return (t - shift) * factor

    affine.calls, affine.received = 0, []
    return affine


def _calls(affine: Answer) -> int:
    count = affine.attribute("calls")
    if type(count) is not int:
        raise ProbeFault("the count of the function's calls is not a number")
    return count


def flatten_function():
    """``torch.flatten`` itself, to hand to the answer's ``Lambda`` (torch's top level is not buildable)."""
    return torch.flatten


def children(sequential: Answer) -> list:
    """The layers of a Sequential on the answer's side, in order (as iterating it gives them)."""
    count = sequential.method("__len__")
    if type(count) is not int or count < 0:
        raise ProbeFault("the Sequential's length is not a number")
    return [sequential.method("__getitem__", i) for i in range(count)]


def parameter_identities(*modules: Answer) -> list:
    """For each module, the set of its parameters (numbered alike across all of them)."""
    group = modules[0].session.build(Group, *modules)
    found = [set() for _ in modules]
    for p in group.parameters():
        _, index, _ = (p.name.split(".", 2) + ["", ""])[:3]   # parts.<index>.<name in that module>
        if not (index.isdigit() and int(index) < len(found)):
            raise ProbeFault(f"unexpected parameter name {p.name!r}")
        found[int(index)].add(p.identity)
    return found


# --- q1 ---------------------------------------------------------------------------------

class SequentialTwin(FunctionOnCases):
    id = "lesson03.q1"
    points = 2
    title = "Turn ManualNet into an nn.Sequential that computes the same function"
    why = ("Same weights, same outputs: the Sequential is the same network, and you now know that "
           "a Sequential runs its layers in the order they were listed, not the order `__init__` wrote them.")
    hints = [
        "Read `ManualNet.forward`: it calls `hidden`, then `act`, then `output`. A Sequential needs "
        "its layers listed in exactly that order.",
        "Reuse the model's own layers, so the weights come along: "
        "`nn.Sequential(net.hidden, net.act, net.output)`. Beware `nn.Sequential(*net.children())`: "
        "`children()` follows the order `__init__` registered the layers.",
    ]
    function = "to_sequential"
    cases = [Case((Twin(ManualNet, 4, 6, 3),)), Case((Twin(ManualNet, 10, 20, 5),))]   # the model on both sides
    raised = [Raised("`to_sequential` asks the model for a layer it does not have ({said}): a ManualNet's layers are "
                     "named `hidden`, `output` and `act`, as its `__init__` shows.", (AttributeError,),
                     when=lambda error, s: "'ManualNet' object has no attribute" in str(error))]
    refuse = [
        Mistake("`to_sequential` returned None: end it with `return nn.Sequential(...)`.", when=lambda s: s.got is None),
        Mistake(lambda s: f"`to_sequential` returned a {checks.type_name(s.got)}; return an `nn.Sequential`.",
                when=lambda s: s.tree is None or not s.tree[0].is_a("Sequential")),
        Mistake("Your Sequential contains the whole ManualNet as one layer: that runs, but it is not a Sequential of "
                "layers. List its layers one by one.", when=lambda s: "ManualNet" in _layers(s)),
        Mistake(lambda s: f"Your Sequential {_layers(s)} fails on an input of shape {tuple(s.inputs[0].shape)}: "
                          f"{str(s.output).splitlines()[0]}. List the layers in the order forward calls them.",
                when=lambda s: isinstance(s.output, RuntimeError)),
    ]
    # only when the numbers differ (any module that computes tanh is fine): which mistake it is
    mistakes = [
        Mistake("Your Sequential applies Tanh last. `net.children()` lists layers in the order `__init__` registered "
                "them (hidden, output, act), not the order `forward` calls them (hidden, act, output).",
                when=lambda s: _ran(s) and _layers(s) == ["Linear", "Linear", "Tanh"]),
        Mistake(lambda s: f"Your Sequential holds {_layers(s)}: the Tanh between the two linear layers is missing.",
                when=lambda s: _ran(s) and len(_layers(s)) == 2 and _layers(s).count("Linear") == 2),
        Mistake(lambda s: f"Your Sequential holds {_layers(s)}: ManualNet's activation is Tanh, and your "
                          f"{_layers(s)[1]} computes something else. Reuse the model's own `act` layer.",
                when=lambda s: _three(s) and not _acts_like_tanh(s.got.method("__getitem__", 1))),
        Mistake("Right layers in the right order, but new random weights, so the outputs differ from the model's. "
                "Reuse `net`'s layers (or copy their weights).",
                when=lambda s: _three(s) and operator.ne(*parameter_identities(s.got, s.given[0]))),
        Mistake("Your Sequential reuses the model's layers but computes something else: check that the first Linear "
                "is `hidden` and the last is `output`.", when=lambda s: _three(s)),
    ]
    otherwise = staticmethod(lambda s: f"Your Sequential holds {_layers(s)} and computes something else; ManualNet is "
                                       "Linear → Tanh → Linear.")

    def inputs(self, net):
        return (checks.hidden_input(7, net.hidden.in_features),)

    def expected(self, net):
        return net


def _layers(seen) -> list:
    """The type names of the returned Sequential's layers, every position."""
    return [entry.type for entry in seen.children]


def _ran(seen) -> bool:
    """The returned model ran (an error no refusal names stays the student's error, as PyTorch said it)."""
    return not isinstance(seen.output, Exception)


def _three(seen) -> bool:
    """Three layers, two of them Linear: the right shape of chain, with something else wrong."""
    return _ran(seen) and len(seen.children) == 3 and sum(entry.is_a("Linear") for entry in seen.children) == 2


def _acts_like_tanh(layer: Answer) -> bool:
    probe = torch.linspace(-3, 3, 13)
    return checks.close(layer.run(probe, no_grad=True).value, torch.tanh(probe))


# --- q2 ---------------------------------------------------------------------------------

def _every_output(layers):
    """The check's own Chain: every layer's output, each layer run on the previous one's."""
    def outputs(x):
        found = []
        for layer in layers:
            found.append(x := layer(x))
        return found
    return outputs


def _registered(seen) -> tuple[set, set]:
    """(the Chain's parameters, those of the layers it was given), numbered alike, read once per case."""
    if "registered" not in vars(seen):
        mine, *theirs = parameter_identities(seen.model, *seen.given)
        seen.registered = mine, set().union(*theirs)
    return seen.registered


def _held(seen) -> int:
    """How many numbers the layers it was given hold (a layer passed twice counted once)."""
    return sum(p.numel() for layer in {id(a): a for a in seen.args}.values() for p in layer.parameters())


def _sizes_change(seen) -> bool:
    return any(isinstance(layer, nn.Linear) and layer.in_features != layer.out_features for layer in seen.args)


def _named(layers) -> str:
    return ", ".join(f"Linear({layer.in_features} → {layer.out_features})" if isinstance(layer, nn.Linear)
                     else type(layer).__name__ for layer in layers)


def _first_wrong(seen) -> int:
    return next(i for i, (mine, ref) in enumerate(zip(seen.got, seen.expected)) if not checks.close(mine, ref))


class EveryOutputContainer(ClassOnCases):
    id = "lesson03.q2"
    points = 2
    title = "Write Chain: a container like nn.Sequential that returns every layer's output"
    why = ("A container is a module that registers its layers and loops over them, position by "
           "position, in forward — the whole of nn.Sequential. Keeping every intermediate output is "
           "how feature extractors work.")
    hints = [
        "Register the layers themselves (not copies) in `__init__`, after `super().__init__()`: an "
        "`nn.ModuleList(layers)` does it. A plain Python list hides their parameters.",
        "In `forward`, loop over the stored layers, every position: `x = layer(x)`, then append that `x` "
        "to a list; return the list. Not `self.children()`: it lists a layer passed twice only once.",
    ]
    advice = ("`Chain(layer_a, layer_b, ...)` receives the layers as separate arguments, like `nn.Sequential`: "
              "`def __init__(self, *layers):`.")
    built = [
        Mistake("`Chain(...).parameters()` is empty, so an optimizer would never train it: layers kept in a plain "
                "Python list are not registered. Use `nn.ModuleList` or `self.add_module(name, layer)`.",
                when=lambda s: not _registered(s)[0]),
        Mistake("`Chain(...)` registers copies of the layers it was given, not the layers themselves: an optimizer "
                "would train the copies and the layers you passed in would never change. Register the given layers "
                "(no `copy.deepcopy`).", when=lambda s: operator.ne(*_registered(s)) and not operator.and_(
                    *_registered(s)) and checks.parameter_count(s.model) == _held(s)),
        Mistake(lambda s: f"`Chain(...)` registers {checks.parameter_count(s.model)} parameters; its layers hold "
                          f"{_held(s)}. Register each layer it was given, once (the layers themselves, not copies or "
                          "new ones).", when=lambda s: operator.ne(*_registered(s))),
    ]
    what = "your Chain"
    subject = staticmethod(lambda s: f"your Chain, run on an input of shape {tuple(s.inputs[0].shape)},")
    worded = ("A Chain runs its layers in the order they were given, each on the previous one's output, as "
              "`nn.Sequential` does.")
    raised = [Raised(lambda s: f"Your Chain works while every layer keeps the size of its input, but fails when the "
                               f"layers change it ({_named(s.args)} on an input of shape {tuple(s.inputs[0].shape)}: "
                               f"{checks.first_line(s.error)}). Keep each layer's output as it is: a list holds "
                               "tensors of different shapes.",
                     (RuntimeError,), when=lambda error, s: _sizes_change(s))]
    refuse = [
        Mistake("`forward` returned one tensor; return a list with the output of every layer (the last item is what "
                "nn.Sequential would return).", when=lambda s: isinstance(s.got, torch.Tensor)),
        Mistake("`forward` returned {kind}; return a list of tensors, one per layer.",
                when=lambda s: not isinstance(s.got, (list, tuple))),
        Mistake(lambda s: f"For `Chain(layer, nn.Tanh(), layer)` (one layer passed twice) your list has {len(s.got)} "
                          "items: `self.children()` lists each module once, so the repeated layer ran once. Loop over "
                          "the stored layers, every position (an `nn.ModuleList`, as `nn.Sequential` does).",
                when=lambda s: len(s.got) == len({id(a) for a in s.args}) < len(s.args)),
        Mistake(lambda s: f"Your list has {len(s.got)} items for {len(s.args)} layers: leave the input out and collect "
                          "only what the layers return.", when=lambda s: len(s.got) == len(s.args) + 1),
        Mistake(lambda s: f"Your list has {len(s.got)} items; with {len(s.args)} layers it should have {len(s.args)}.",
                when=lambda s: len(s.got) != len(s.args)),
    ]
    mistakes = [
        Mistake("Your list is in reverse: item 0 should be the first layer's output.",
                when=lambda s: checks.close(s.got[0], s.expected[-1]) and not checks.close(s.got[0], s.expected[0])),
        Mistake("Item 0 is not the first layer applied to the input: run the layers in the order they were given.",
                when=lambda s: _first_wrong(s) == 0),
    ]
    otherwise = staticmethod(lambda s: f"Item {_first_wrong(s)} is not layer {_first_wrong(s)} applied to item "
                                       f"{_first_wrong(s) - 1}: pass each layer's output on to the next "
                                       "(`x = layer(x)`), not the original input.")

    def make_cases(self):
        shared = Twin(nn.Linear, 4, 4)
        return [
            # square layers first: a wrong wiring gives wrong numbers, not a shape error
            Instance((Twin(nn.Linear, 4, 4), Built(nn.Tanh), Twin(nn.Linear, 4, 4)), (checks.hidden_input(5, 4),)),
            # a chain whose sizes change, as a real network's do
            Instance((Twin(nn.Linear, 3, 8), Built(nn.ReLU), Twin(nn.Linear, 8, 2)),
                     (checks.hidden_input(2, 3, seed=7),)),
            # one layer passed twice, as lesson 02 shared layers: every position runs
            Instance((shared, Built(nn.Tanh), shared), (checks.hidden_input(3, 4, seed=8),)),
        ]

    def reference(self, *layers):
        return _every_output(layers)

    def same(self, got, expected):
        return len(got) == len(expected) and all(map(checks.close, got, expected))

    def after_cases(self, answer, seens):
        """Every item of the list stays connected to autograd (a probe reports that for a tensor result,
        not for the items of a list: each is read through ``ItemOf``)."""
        sizes = next(seen for seen in seens if _sizes_change(seen))
        x = checks.hidden_input(2, 3)
        for i in range(len(sizes.got)):
            item = answer.session.build(ItemOf, sizes.model, i).run(x)
            checks.expect_connected_to_graph(item, f"item {i} of your list")


# --- q3 ---------------------------------------------------------------------------------

class Called:
    """The check's own Lambda: ``fn(x, *args, **kwargs)``; the mistakes call ``fn`` other ways."""

    def __init__(self, fn, *args, **kwargs):
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def __call__(self, x):
        return self.fn(x, *self.args, **self.kwargs)


def _packed(seen) -> str | None:
    """The container the function received as one argument (its extra arguments not unpacked), read
    from what the check's function recorded on the answer's side; None: it received none."""
    received = seen.given[0].attribute("received")
    if type(received) is not list:
        return None
    return next((kind for kind in ("tuple", "dict", "list") if kind in map(str, received)), None)


def _extra(seen) -> tuple:
    """The extra positional arguments of the case (after the function)."""
    return seen.args[1:]


class LambdaWithArguments(ClassOnCases):
    id = "lesson03.q3"
    points = 2
    title = "Write Lambda(fn, *args, **kwargs): a module that calls a function with extra arguments"
    why = ("A module keeps in `__init__` whatever its `forward` will need: layers, but also plain "
           "settings. `nn.Flatten(start_dim=1)` is exactly such a module: a function plus its arguments.")
    hints = [
        "`__init__(self, fn, *args, **kwargs)`: call `super().__init__()`, then keep all three in "
        "attributes (`self.args = args` is a tuple, `self.kwargs = kwargs` a dict).",
        "`forward(self, x)` returns `self.fn(x, *self.args, **self.kwargs)`: the `*` and `**` unpack them "
        "back into arguments.",
    ]
    advice = "Accept any extra arguments after the function: `def __init__(self, fn, *args, **kwargs):`."
    built = [
        Mistake("`Lambda(fn, ...)` called `fn` while being built; keep the function and its arguments, and call it "
                "in `forward`, on the input.", when=lambda s: _calls(s.given[0]) != 0),
        Mistake("`Lambda` has parameters; a wrapped function has nothing to learn.",
                when=lambda s: checks.parameter_count(s.model) != 0),
    ]
    raised = [Raised(lambda s: f"{s.case.label}(x) fails ({checks.first_line(s.error)}): the function received a "
                               f"whole {_packed(s)} as one of its arguments. `self.args` is a tuple and `self.kwargs` "
                               "a dict: unpack them into the call, `self.fn(x, *self.args, **self.kwargs)`.",
                     (TypeError,), when=lambda error, s: _packed(s) is not None)]
    refuse = [
        Mistake("{case}(x) returned a function; call it: `return self.fn(x, ...)`.",
                when=lambda s: isinstance(s.got, Answer) and s.got.info.get("callable")),
        Mistake(lambda s: f"One forward pass of {s.case.label} called the function {_calls(s.given[0])} times; call "
                          "it once.", when=lambda s: _calls(s.given[0]) > 1),
        Mistake("Expected {case}(x) to be a tensor, got {kind}.", when=lambda s: type(s.got) is not torch.Tensor),
    ]
    mistakes = [
        Mistake("{case}(x) returned `x` unchanged: `forward` must return the function's result.",
                result=lambda r, x: x),
        Mistake(lambda s: f"{s.case.label}(x) called `fn({', '.join(map(repr, _extra(s)))}, x, ...)`: the extra "
                          "arguments came first. The input is the function's first argument, the extra ones follow "
                          "it: `self.fn(x, *self.args, **self.kwargs)`.",
                when=_extra, result=lambda r, x: r.fn(*r.args, x, **r.kwargs)),
        Mistake("{case}(x) returned `fn(x)`: the extra arguments were dropped. Pass them on: "
                "`self.fn(x, *self.args, **self.kwargs)`.", when=lambda s: _extra(s) and s.kwargs,
                result=lambda r, x: r.fn(x)),
        Mistake(lambda s: f"{s.case.label}(x) ignored the keyword argument {list(s.kwargs)[0]}=...: keep `**kwargs` "
                          "and pass them on with `**self.kwargs`.", when=lambda s: s.kwargs,
                result=lambda r, x: r.fn(x, *r.args)),
        Mistake(lambda s: f"{s.case.label}(x) ignored the positional argument {_extra(s)[0]!r}: keep `*args` and pass "
                          "them on with `*self.args`.", when=_extra, result=lambda r, x: r.fn(x, **r.kwargs)),
    ]
    otherwise = ("{case}(x) is not `fn(x, *args, **kwargs)`: `forward` must call the function it was given on its "
                 "input, with the extra arguments, and return the result as it is.")

    def make_cases(self):
        x = checks.hidden_input(3, 2, 4)
        # a function the check counts the calls of, one per case (``counting_affine``)
        return [Instance((Built(counting_affine),), (x,), label="`Lambda(fn)`"),
                Instance((Built(counting_affine), 3.0), (x,), {"shift": 1.0}, label="`Lambda(fn, 3.0, shift=1.0)`"),
                Instance((Built(counting_affine), 3.0), (x,), label="`Lambda(fn, 3.0)`"),
                Instance((Built(counting_affine),), (x,), {"shift": -4.0}, label="`Lambda(fn, shift=-4.0)`")]

    def reference(self, *args, **kwargs):
        return Called(*args, **kwargs)

    def after_cases(self, answer, seens):
        """What the cases cannot show: the result stays connected to autograd (on an input that requires
        grad: a probe's tensors arrive detached), and the module works as a layer of a Sequential."""
        session = answer.session
        with_args = next(seen for seen in seens if seen.case.label == "`Lambda(fn, 3.0)`")
        got = session.build(OnGradInput, with_args.model).run(*with_args.inputs)
        checks.expect_connected_to_graph(got, "`Lambda(fn, 3.0)(x)`")
        flatten = self.build(answer, (session.build(flatten_function),), {"start_dim": 1}, (torch.flatten,))
        net = session.build(nn.Sequential, session.build(nn.Conv2d, 1, 2, 3), session.build(nn.ReLU), flatten,
                            session.build(nn.Linear, 8, 3))
        out = checks.expect_tensor(net(checks.hidden_input(5, 1, 4, 4)), "the output of that nn.Sequential")
        if tuple(out.shape) != (5, 3):
            raise Incorrect("Inside nn.Sequential, `Lambda(torch.flatten, start_dim=1)` gave an output of "
                            f"shape {tuple(out.shape)}, not (5, 3).")


# --- q4 ---------------------------------------------------------------------------------

CONV_OUT = (16 + 2 * 1 - 5) // 2 + 1   # 7: lesson 01's formula for 16 pixels, kernel 5, padding 1, stride 2
FLAT = 8 * CONV_OUT * CONV_OUT          # 392 numbers per image after the flatten
EXPECTED = "conv → ReLU → flatten → linear"
CONV = (3, 8, (5, 5), (2, 2), (1, 1), (1, 1))   # in, out, kernel, stride, padding, dilation


def _read(seen, name: str):
    """One reading of the returned Sequential, made once per check: its layers (handles, in order), their
    type names, the conv's settings, what layers 1 and 2 make of a probe the size of the conv's output."""
    if name not in vars(seen):
        if name in ("layers", "kinds"):
            seen.layers = children(seen.got)
            seen.kinds = type_names(seen.layers)
        elif name == "conv":
            seen.conv = tuple(seen.layers[0].attribute(setting) for setting in
                              ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation"))
        else:   # "relu", "flat": a layer out of place makes nothing of it (None), said as such
            setattr(seen, name, _output_or_none(seen.layers[1 if name == "relu" else 2], _conv_sized()))
    return vars(seen)[name]


def _conv_sized() -> torch.Tensor:
    return checks.hidden_input(2, 8, CONV_OUT, CONV_OUT)


def _linear(seen) -> Answer:
    return _read(seen, "layers")[3]


class SmallColorClassifier(Exercise):
    id = "lesson03.q4"
    points = 2
    title = "Build an nn.Sequential that maps 16×16 colour images to 5 scores"
    why = ("Flatten is the joint between the convolutional part and the linear part of a network; "
           "getting its size right means knowing the shape after every layer.")
    hints = [
        "Lesson 01's formula gives the conv's output side: (16 + 2·1 − 5) // 2 + 1. Each image then holds "
        "8 channels of that side squared; `course_utils.trace_shapes(model, torch.randn(1, 3, 16, 16))` "
        "shows it.",
        "`nn.Flatten()` keeps the batch dimension (it starts at dim 1). The chain: "
        "`nn.Conv2d(3, 8, kernel_size=5, stride=2, padding=1)`, `nn.ReLU()`, `nn.Flatten()`, "
        "`nn.Linear(8 * 7 * 7, 5)`.",
    ]
    # on the model the first call returns, in order, before it is run on images (random weights:
    # a classifier is judged by its layers, then by the shape of its scores)
    refuse = [
        Mistake("`make_classifier` returned None: end it with `return nn.Sequential(...)`.",
                when=lambda s: s.got is None),
        Mistake(lambda s: f"`make_classifier` returned a {checks.type_name(s.got)}; return an `nn.Sequential`.",
                when=lambda s: not (isinstance(s.got, Answer) and s.got.is_module("Sequential"))),
        Mistake("`make_classifier()` returns the same model on every call; build a new `nn.Sequential` inside the "
                "function, so each call gives fresh layers.", when=lambda s: isinstance(again := s.again(), Answer)
                and s.got.session.build(same_object, again, s.got).info.get("value") is True),
        Mistake(lambda s: f"Your Sequential holds {len(s.layers)} layers, {s.kinds}; the exercise lists exactly four, "
                          f"in this order: {EXPECTED}, nothing else.", when=lambda s: len(_read(s, "layers")) != 4),
        Mistake(lambda s: f"Your Sequential holds {s.kinds}; it must start with the convolution ({EXPECTED}).",
                when=lambda s: not s.layers[0].is_module("Conv2d")),
        Mistake(lambda s: f"Your convolution is `{s.layers[0].method('__repr__')}`; the exercise asks for "
                          "`nn.Conv2d(3, 8, kernel_size=5, stride=2, padding=1)`: 3 colour channels in, 8 out.",
                when=lambda s: _read(s, "conv") != CONV),
        Mistake(lambda s: f"Your Sequential holds {s.kinds}: layer 1 must be the ReLU ({EXPECTED}).",
                when=lambda s: not checks.close(_read(s, "relu"), torch.relu(_conv_sized()))),
        Mistake("Your flatten also merged the batch dimension (it returns one long row for the whole batch). "
                "`nn.Flatten()` (or `torch.flatten(x, 1)`) keeps one row per image.",
                when=lambda s: isinstance(_read(s, "flat"), torch.Tensor) and s.flat.dim() == 1),
        Mistake(lambda s: f"Your Sequential holds {s.kinds}: layer 2 must flatten each image into one row "
                          f"({EXPECTED}).", when=lambda s: not checks.close(s.flat, _conv_sized().flatten(1))),
        # a lazy module's weight is an UninitializedParameter until its first call (then its class
        # becomes the plain one, LazyLinear -> Linear)
        Mistake("`nn.LazyLinear` guesses the input size for you; the exercise is to work it out: use "
                "`nn.Linear(in_features, 5)` with the right number.",
                when=lambda s: _linear(s).is_module("LazyModuleMixin")),
        Mistake(lambda s: f"Your Sequential ends with {s.kinds[-1]}: the last layer is the `nn.Linear` whose 5 outputs "
                          "are the scores (a loss such as `nn.CrossEntropyLoss` applies the softmax itself).",
                when=lambda s: not _linear(s).is_module("Linear")),
        Mistake(lambda s: f"Your Linear produces {_linear(s).attribute('out_features')} scores per image; the "
                          "exercise asks for 5.", when=lambda s: _linear(s).attribute("out_features") != 5),
        Mistake(lambda s: f"Your Linear expects {_linear(s).attribute('in_features')} features, but each image gives "
                          f"{FLAT} after the flatten: the convolution turns 16×16 into {CONV_OUT}×{CONV_OUT} (lesson "
                          "01's formula), with 8 channels.", when=lambda s: _linear(s).attribute("in_features") != FLAT),
    ]

    def check_answer(self, make_classifier):
        checks.expect_function(make_classifier, "make_classifier")
        seen = Seen(self, make_classifier, Case(()), (), got=make_classifier())
        first_fitting(self.refuse, seen, prefix="")
        for batch in (1, 3):
            images = checks.hidden_input(batch, 3, 16, 16)
            with checks.worded(seen.got, f"your Sequential, run on {batch} image(s) of shape (3, 16, 16),",
                               kinds=(RuntimeError,)):
                out = checks.plain(seen.got.run(images, no_grad=True).value)
            checks.expect_shape(out, (batch, 5), f"the output for {batch} image(s)")


# --- q5 ---------------------------------------------------------------------------------

BROKEN_TWO_PATHS = '''
class BrokenTwoPaths(nn.Module):
    """Meant to compute head(path_a(x) + path_b(x)): two independent paths
    (Linear → ReLU) whose outputs are added, then a Linear head."""

    def __init__(self, features, n_out):
        super().__init__()
        self.path_a = nn.Sequential(nn.Linear(features, features), nn.ReLU())
        self.path_b = self.path_a[:]                                        # a second path
        self.head = nn.Linear(features, n_out)
        self.model = nn.Sequential(self.path_a, self.path_b, self.head)    # adds the paths

    def forward(self, x):
        return self.model(x)
'''.strip("\n")


def _of_shape(seen, shape) -> list:
    """The answer's registered Linear layers whose weight has ``shape`` (as ``ModuleEntry`` records),
    from one reading of its module tree per case (symptoms and mistakes ask for it several times)."""
    if "linears" not in vars(seen):
        seen.linears = [entry for _, entry in checks.modules_of_type(seen.model, nn.Linear)]
    return [entry for entry in seen.linears if checks.weight_shape(entry) == shape]


def _saved_twice(model) -> tuple[list, int] | None:
    """(the state_dict's names, the number of parameters) when some tensor is saved under two names."""
    names = list(model.state_dict())
    identity = {p.name: p.identity for p in model.parameters()}
    saved = {identity.get(name, name) for name in names}   # a buffer counts as its own tensor
    return (names, len(set(identity.values()))) if len(names) != len(saved) else None


def _said_twice(names, parameters) -> str:
    return (f"Your state_dict has {len(names)} entries for {parameters} parameters: every weight is saved twice, "
            f"under a second name ({', '.join(names[-4:])}). Which attribute registers the paths and the head a "
            "second time?")


def _same_start(seen) -> bool:
    """As built: two paths that start with equal weights get equal gradients and stay equal."""
    square = _of_shape(seen, (seen.sizes[0],) * 2)
    values = {p.name: p.value for p in seen.model.parameters()}
    first, second = ([values.get(f"{entry.name}.{name}" if entry.name else name) for name, _, _ in entry.parameters]
                     for entry in square)
    return len(first) == len(second) and all(type(a) is torch.Tensor and checks.equal(a, b)
                                             for a, b in zip(first, second))


def _two_paths(parts, x):
    """The check's reference: the head reads the sum of the two paths."""
    return parts.head(parts.path_a(x) + parts.path_b(x))


CHAINED = ("Your output is `head(path_b(path_a(x)))`: the two paths run one after the other, the second on the "
           "first one's output, and nothing adds them. A Sequential feeds each module the previous one's output; "
           "it never adds.")


class FixTwoPaths(DebugModel):
    id = "lesson03.q5"
    points = 2
    title = "Debug TwoPaths: fewer weights than two paths, every weight saved twice, and no sum"
    why = ("A slice of a Sequential holds the same layers, a Sequential only chains, and a module "
           "registered twice is saved twice: three claims that sound right and are not.")
    hints = [
        "Look before you change anything: `sum(p.numel() for p in BrokenTwoPaths(6, 3).parameters())`, "
        "`list(BrokenTwoPaths(6, 3).state_dict())`, and for `model = BrokenTwoPaths(6, 3)`, "
        "`model.path_a[0] is model.path_b[0]`. How many different Linear layers are there, how many names, and "
        "what does `forward` compute?",
        "Three beliefs are wrong. A slice of a Sequential is a new container around the *same* layers, not "
        "copies. A module assigned to a second attribute is registered, and saved, under both names. And a "
        "Sequential only chains: each module receives the previous one's output, nothing is ever added.",
        "Give `path_b` its own `nn.Sequential(nn.Linear(features, features), nn.ReLU())`, drop `self.model`, and "
        "write the addition yourself: `return self.head(self.path_a(x) + self.path_b(x))`.",
    ]
    broken = BROKEN_TWO_PATHS
    sizes = [(6, 3), (5, 2)]
    symptoms = [
        Symptom("`TwoPaths({sizes[0]}, {sizes[1]})` holds one Linear({sizes[0]} → {sizes[0]}), not two: the two paths "
                "are the very same layer, so they share one weight and can never learn different things. How is "
                "`path_b` made?", lambda model, s: len(_of_shape(s, (s.sizes[0],) * 2)) == 1),
        Symptom(lambda s: f"`TwoPaths({s.sizes[0]}, {s.sizes[1]})` should register two Linear({s.sizes[0]} → "
                          f"{s.sizes[0]}) paths and one Linear({s.sizes[0]} → {s.sizes[1]}) head; yours registers "
                          f"{checks.parameter_breakdown(s.model)}.",
                lambda model, s: len(_of_shape(s, (s.sizes[0],) * 2)) != 2
                or len(_of_shape(s, (s.sizes[1], s.sizes[0]))) != 1),
    ]
    refuse = [
        Mistake(lambda s: _said_twice(*_saved_twice(s.model)), when=lambda s: _saved_twice(s.model) is not None),
        Mistake(lambda s: "`{}` and `{}` start with identical weights (a copy of one path?): two paths that start "
                          "equal receive equal gradients and stay equal through training, so the model is one path "
                          "counted twice. Give each path its own freshly initialised layer.".format(
                              *(e.name for e in _of_shape(s, (s.sizes[0],) * 2))), when=_same_start),
    ]
    mistakes = [
        Mistake(CHAINED, result=lambda r, x: r.parts.head(r.parts.path_b(r.parts.path_a(x)))),
        Mistake(CHAINED, result=lambda r, x: r.parts.head(r.parts.path_a(r.parts.path_b(x)))),
        Mistake("You added before the ReLU: each path is Linear → ReLU, and the two paths' outputs are added.",
                result=lambda r, x: r.parts.head(torch.relu(r.parts.path_a[0](x) + r.parts.path_b[0](x)))),
        Mistake("Your output has no addition in its autograd graph: add the two paths' outputs.",
                when=lambda s: type(s.got) is torch.Tensor
                and not {"AddBackward0", "SumBackward1"} & (ops := s.model.run(*s.args, ops=True).ops) and ops),
    ]
    otherwise = OutputDiffers("your output")
    subject = staticmethod(lambda s: f"your TwoPaths, run on an input of shape {tuple(s.args[0].shape)},")
    advice = staticmethod(lambda s: f"Each path maps {s.sizes[0]} features to {s.sizes[0]}; the head reads their sum.")

    def reference(self, features, n_out):
        return checks.Computed(nn.ModuleDict({
            "path_a": nn.Sequential(nn.Linear(features, features), nn.ReLU()),
            "path_b": nn.Sequential(nn.Linear(features, features), nn.ReLU()),
            "head": nn.Linear(features, n_out)}), _two_paths)

    def inputs(self, features, n_out):
        return (checks.hidden_input(4, features),)


def _output_or_none(layer: Answer, probe: torch.Tensor):
    """What one layer of the answer's Sequential makes of the probe, or None where it cannot take it
    (a layer out of place: said by the check as such, not as PyTorch's error)."""
    try:
        return checks.plain(layer.run(probe, no_grad=True).value)
    except (RuntimeError, TypeError, ValueError) as error:
        if isinstance(error, NotImplementedError):
            raise
        return None


q1 = SequentialTwin()
q2 = EveryOutputContainer()
q3 = LambdaWithArguments()
q4 = SmallColorClassifier()
q5 = FixTwoPaths()
