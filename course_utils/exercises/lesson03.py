"""Exercises of lesson 03 (nn.Sequential): a Sequential twin, a container, a Lambda with
arguments, a classifier, and a model that believed a Sequential adds (debugging).

The checks run the student's answer on hidden inputs and compare with a reference first;
only when the numbers differ do they look at the structure (which layers, in which order) to
say what is wrong in the student's terms. No check asks for an attribute name the exercise
did not give.
"""

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.checks import close
from course_utils.exercises.engine import Exercise, Incorrect


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
    return [type(m).__name__ for m in modules]


# --- q1 ---------------------------------------------------------------------------------

class SequentialTwin(Exercise):
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
    solution = '''
def to_sequential(net):
    return nn.Sequential(net.hidden, net.act, net.output)
'''

    def check_answer(self, to_sequential):
        checks.expect_function(to_sequential, "to_sequential")
        for sizes in [(4, 6, 3), (10, 20, 5)]:
            net = ManualNet(*sizes)
            x = checks.hidden_input(7, sizes[0])
            with torch.no_grad():
                expected = net(x)
            chain = to_sequential(net)
            if chain is None:
                raise Incorrect("`to_sequential` returned None: end it with `return nn.Sequential(...)`.")
            if not isinstance(chain, nn.Sequential):
                raise Incorrect(f"`to_sequential` returned a {type(chain).__name__}; return an `nn.Sequential`.")
            if any(isinstance(m, ManualNet) for m in chain):
                raise Incorrect("Your Sequential contains the whole ManualNet as one layer: that runs, "
                                "but it is not a Sequential of layers. List its layers one by one.")
            self._compare(net, chain, x, expected)

    @staticmethod
    def _compare(net, chain, x, expected):
        layers = type_names(chain)
        try:
            with torch.no_grad():
                got = chain(x)
        except RuntimeError as error:
            raise Incorrect(f"Your Sequential {layers} fails on an input of shape {tuple(x.shape)}: "
                            f"{str(error).splitlines()[0]}. List the layers in the order forward calls them.") from None
        if close(got, expected):   # behaviour first: any module that computes tanh is fine
            return
        if layers == ["Linear", "Linear", "Tanh"]:
            raise Incorrect("Your Sequential applies Tanh last. `net.children()` lists layers in the "
                            "order `__init__` registered them (hidden, output, act), not the order "
                            "`forward` calls them (hidden, act, output).")
        if len(layers) == 2 and layers.count("Linear") == 2:
            raise Incorrect(f"Your Sequential holds {layers}: the Tanh between the two linear layers is missing.")
        linears = [m for m in chain if isinstance(m, nn.Linear)]
        if len(layers) == 3 and len(linears) == 2 and isinstance(chain[1], nn.Module):
            middle = chain[1]
            with torch.no_grad():
                probe = torch.linspace(-3, 3, 13)
                acts_like_tanh = close(middle(probe), torch.tanh(probe))
            if not acts_like_tanh:
                raise Incorrect(f"Your Sequential holds {layers}: ManualNet's activation is Tanh, and your "
                                f"{layers[1]} computes something else. Reuse the model's own `act` layer.")
            if {id(p) for p in chain.parameters()} != {id(p) for p in net.parameters()}:
                raise Incorrect("Right layers in the right order, but new random weights, so the outputs "
                                "differ from the model's. Reuse `net`'s layers (or copy their weights).")
            raise Incorrect("Your Sequential reuses the model's layers but computes something else: "
                            "check that the first Linear is `hidden` and the last is `output`.")
        raise Incorrect(f"Your Sequential holds {layers} and computes something else; ManualNet is "
                        "Linear → Tanh → Linear.")


# --- q2 ---------------------------------------------------------------------------------

class EveryOutputContainer(Exercise):
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
    solution = '''
class Chain(nn.Module):
    def __init__(self, *layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        outputs = []
        for layer in self.layers:
            x = layer(x)
            outputs.append(x)
        return outputs
'''

    def check_answer(self, Chain):
        # square layers first: a wrong wiring gives wrong numbers, not a shape error
        layers = [nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4)]
        chain = self._build(Chain, layers)
        self._expect_registered(chain, layers)
        x = checks.hidden_input(5, 4)
        self._compare(self._run(chain, x), self._reference(layers, x), len(layers))
        # a chain whose sizes change, as a real network's do
        layers = [nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2)]
        x = checks.hidden_input(2, 3, seed=7)
        outputs = self._run(self._build(Chain, layers), x)
        self._compare(outputs, self._reference(layers, x), len(layers))
        # one layer passed twice, as lesson 02 shared layers: every position runs
        shared = nn.Linear(4, 4)
        repeated = [shared, nn.Tanh(), shared]
        chain = self._build(Chain, repeated)
        self._expect_registered(chain, repeated)
        x = checks.hidden_input(3, 4, seed=8)
        got = self._run(chain, x)
        if isinstance(got, (list, tuple)) and len(got) == 2:
            raise Incorrect("For `Chain(layer, nn.Tanh(), layer)` (one layer passed twice) your list has 2 items: "
                            "`self.children()` lists each module once, so the repeated layer ran once. Loop over "
                            "the stored layers, every position (an `nn.ModuleList`, as `nn.Sequential` does).")
        self._compare(got, self._reference(repeated, x), len(repeated))
        for i, item in enumerate(Chain(*layers)(checks.hidden_input(2, 3))):
            checks.expect_connected_to_graph(item, f"item {i} of your list")

    @staticmethod
    def _build(Chain, layers):
        try:
            return checks.instantiate(Chain, *layers)
        except Incorrect as error:
            if "cannot be called with" not in str(error):
                raise
            raise Incorrect(f"{error} `Chain(layer_a, layer_b, ...)` receives the layers as separate "
                            "arguments, like `nn.Sequential`: `def __init__(self, *layers):`.") from None

    @staticmethod
    def _expect_registered(chain, layers):
        expected = {id(p) for m in layers for p in m.parameters()}
        mine = {id(p) for p in chain.parameters()}
        if not mine:
            raise Incorrect("`Chain(...).parameters()` is empty, so an optimizer would never train it: "
                            "layers kept in a plain Python list are not registered. Use `nn.ModuleList` "
                            "or `self.add_module(name, layer)`.")
        if mine != expected:
            count, wanted = checks.parameter_count(chain), sum(p.numel() for m in set(layers) for p in m.parameters())
            if count == wanted and not mine & expected:
                raise Incorrect("`Chain(...)` registers copies of the layers it was given, not the layers "
                                "themselves: an optimizer would train the copies and the layers you passed in "
                                "would never change. Register the given layers (no `copy.deepcopy`).")
            raise Incorrect(f"`Chain(...)` registers {count} parameters; its layers hold {wanted}. Register "
                            "each layer it was given, once (the layers themselves, not copies or new ones).")

    @staticmethod
    def _run(chain, x):
        with torch.no_grad():
            return checks.plain(checks.call(chain, x, what="your Chain"))

    @staticmethod
    def _reference(layers, x):
        outputs = []
        with torch.no_grad():
            for layer in layers:
                x = layer(x)
                outputs.append(x)
        return outputs

    @staticmethod
    def _compare(got, expected, n_layers):
        if isinstance(got, torch.Tensor):
            raise Incorrect("`forward` returned one tensor; return a list with the output of every "
                            "layer (the last item is what nn.Sequential would return).")
        if not isinstance(got, (list, tuple)):
            raise Incorrect(f"`forward` returned {checks.kind_of(got)}; return a list of tensors, one per layer.")
        if len(got) == n_layers + 1:
            raise Incorrect(f"Your list has {len(got)} items for {n_layers} layers: leave the input "
                            "out and collect only what the layers return.")
        if len(got) != n_layers:
            raise Incorrect(f"Your list has {len(got)} items; with {n_layers} layers it should have {n_layers}.")
        if close(got[0], expected[-1]) and not close(got[0], expected[0]):
            raise Incorrect("Your list is in reverse: item 0 should be the first layer's output.")
        for i, (mine, ref) in enumerate(zip(got, expected)):
            if not close(mine, ref):
                if i == 0:
                    raise Incorrect("Item 0 is not the first layer applied to the input: run the layers "
                                    "in the order they were given.")
                raise Incorrect(f"Item {i} is not layer {i} applied to item {i - 1}: pass each layer's "
                                "output on to the next (`x = layer(x)`), not the original input.")


# --- q3 ---------------------------------------------------------------------------------

class LambdaWithArguments(Exercise):
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
    solution = '''
class Lambda(nn.Module):
    def __init__(self, fn, *args, **kwargs):
        super().__init__()
        self.fn = fn
        self.args = args
        self.kwargs = kwargs

    def forward(self, x):
        return self.fn(x, *self.args, **self.kwargs)
'''

    def check_answer(self, Lambda):
        calls = []

        def affine(t, factor=2.0, shift=0.5):
            calls.append(1)
            return t * factor + shift

        x = checks.hidden_input(3, 2, 4)
        plain_one = self._build(Lambda, affine)
        if calls:
            raise Incorrect("`Lambda(fn, ...)` called `fn` while being built; keep the function and its "
                            "arguments, and call it in `forward`, on the input.")
        if checks.parameter_count(plain_one) != 0:
            raise Incorrect("`Lambda` has parameters; a wrapped function has nothing to learn.")
        cases = [((), {}, "`Lambda(fn)`"), ((3.0,), {"shift": 1.0}, "`Lambda(fn, 3.0, shift=1.0)`"),
                 ((3.0,), {}, "`Lambda(fn, 3.0)`"), ((), {"shift": -4.0}, "`Lambda(fn, shift=-4.0)`")]
        for args, kwargs, label in cases:
            wrapped = plain_one if not args and not kwargs else self._build(Lambda, affine, *args, **kwargs)
            calls.clear()
            got = checks.plain(checks.call(wrapped, x, what=label))
            self._compare(got, x, affine, args, kwargs, label, len(calls))
        got = self._build(Lambda, affine, 3.0)(x.requires_grad_())
        checks.expect_connected_to_graph(got, "`Lambda(fn, 3.0)(x)`")
        net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), self._build(Lambda, torch.flatten, start_dim=1),
                            nn.Linear(8, 3))
        out = checks.plain(net(checks.hidden_input(5, 1, 4, 4)))
        if tuple(out.shape) != (5, 3):
            raise Incorrect("Inside nn.Sequential, `Lambda(torch.flatten, start_dim=1)` gave an output of "
                            f"shape {tuple(out.shape)}, not (5, 3).")

    @staticmethod
    def _build(Lambda, fn, *args, **kwargs):
        try:
            return checks.instantiate(Lambda, fn, *args, **kwargs)
        except Incorrect as error:
            if "cannot be called with" not in str(error):
                raise
            raise Incorrect(f"{error} Accept any extra arguments after the function: "
                            "`def __init__(self, fn, *args, **kwargs):`.") from None

    @staticmethod
    def _compare(got, x, fn, args, kwargs, label, n_calls):
        if callable(got) and not isinstance(got, torch.Tensor):
            raise Incorrect(f"{label}(x) returned a function; call it: `return self.fn(x, ...)`.")
        if n_calls > 1:
            raise Incorrect(f"One forward pass of {label} called the function {n_calls} times; call it once.")
        checks.expect_tensor(got, f"{label}(x)")
        with torch.no_grad():
            expected = fn(x, *args, **kwargs)
        if close(got, expected):
            return
        if close(got, x):
            raise Incorrect(f"{label}(x) returned `x` unchanged: `forward` must return the function's result.")
        if close(got, fn(x)) and args and kwargs:
            raise Incorrect(f"{label}(x) returned `fn(x)`: the extra arguments were dropped. Pass them on: "
                            "`self.fn(x, *self.args, **self.kwargs)`.")
        if kwargs and close(got, fn(x, *args)):
            raise Incorrect(f"{label}(x) ignored the keyword argument {list(kwargs)[0]}=...: keep `**kwargs` "
                            "and pass them on with `**self.kwargs`.")
        if args and close(got, fn(x, **kwargs)):
            raise Incorrect(f"{label}(x) ignored the positional argument {args[0]!r}: keep `*args` and pass "
                            "them on with `*self.args`.")
        raise Incorrect(f"{label}(x) is not `fn(x, *args, **kwargs)`: `forward` must call the function it was "
                        "given on its input, with the extra arguments, and return the result as it is.")


# --- q4 ---------------------------------------------------------------------------------

CONV_OUT = (16 + 2 * 1 - 5) // 2 + 1   # 7: lesson 01's formula for 16 pixels, kernel 5, padding 1, stride 2
FLAT = 8 * CONV_OUT * CONV_OUT          # 392 numbers per image after the flatten


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
    solution = '''
def make_classifier():
    return nn.Sequential(
        nn.Conv2d(3, 8, kernel_size=5, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 7 * 7, 5),
    )
'''
    EXPECTED = "conv → ReLU → flatten → linear"

    def check_answer(self, make_classifier):
        checks.expect_function(make_classifier, "make_classifier")
        model = make_classifier()
        if model is None:
            raise Incorrect("`make_classifier` returned None: end it with `return nn.Sequential(...)`.")
        if not isinstance(model, nn.Sequential):
            raise Incorrect(f"`make_classifier` returned a {type(model).__name__}; return an `nn.Sequential`.")
        if make_classifier() is model:
            raise Incorrect("`make_classifier()` returns the same model on every call; build a new "
                            "`nn.Sequential` inside the function, so each call gives fresh layers.")
        kinds = type_names(model)
        if len(model) != 4:
            raise Incorrect(f"Your Sequential holds {len(model)} layers, {kinds}; the exercise lists exactly four, "
                            f"in this order: {self.EXPECTED}, nothing else.")
        conv, relu, flatten, linear = model
        self._expect_conv(conv, kinds)
        probe = checks.hidden_input(2, 8, CONV_OUT, CONV_OUT)
        with torch.no_grad():
            if not close(checks.plain(relu(probe)), torch.relu(probe)):
                raise Incorrect(f"Your Sequential holds {kinds}: layer 1 must be the ReLU ({self.EXPECTED}).")
            flat = checks.plain(flatten(probe))
        if not close(flat, probe.flatten(1)):
            if isinstance(flat, torch.Tensor) and flat.dim() == 1:
                raise Incorrect("Your flatten also merged the batch dimension (it returns one long row for the "
                                "whole batch). `nn.Flatten()` (or `torch.flatten(x, 1)`) keeps one row per image.")
            raise Incorrect(f"Your Sequential holds {kinds}: layer 2 must flatten each image into one row "
                            f"({self.EXPECTED}).")
        self._expect_linear(linear, kinds)
        for batch in (1, 3):
            with torch.no_grad():
                out = checks.plain(model(checks.hidden_input(batch, 3, 16, 16)))
            checks.expect_shape(out, (batch, 5), f"the output for {batch} image(s)")

    def _expect_conv(self, conv, kinds):
        if not isinstance(conv, nn.Conv2d):
            raise Incorrect(f"Your Sequential holds {kinds}; it must start with the convolution ({self.EXPECTED}).")
        settings = (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation)
        if settings != (3, 8, (5, 5), (2, 2), (1, 1), (1, 1)):
            raise Incorrect(f"Your convolution is `{conv}`; the exercise asks for "
                            "`nn.Conv2d(3, 8, kernel_size=5, stride=2, padding=1)`: 3 colour channels in, 8 out.")

    @staticmethod
    def _expect_linear(linear, kinds):
        if isinstance(linear, nn.LazyLinear) or isinstance(getattr(linear, "weight", None),
                                                           nn.parameter.UninitializedParameter):
            raise Incorrect("`nn.LazyLinear` guesses the input size for you; the exercise is to work it out: "
                            "use `nn.Linear(in_features, 5)` with the right number.")
        if not isinstance(linear, nn.Linear):
            raise Incorrect(f"Your Sequential ends with {kinds[-1]}: the last layer is the `nn.Linear` whose 5 "
                            "outputs are the scores (a loss such as `nn.CrossEntropyLoss` applies the softmax itself).")
        if linear.out_features != 5:
            raise Incorrect(f"Your Linear produces {linear.out_features} scores per image; the exercise asks for 5.")
        if linear.in_features != FLAT:
            raise Incorrect(f"Your Linear expects {linear.in_features} features, but each image gives {FLAT} after "
                            f"the flatten: the convolution turns 16×16 into {CONV_OUT}×{CONV_OUT} (lesson 01's "
                            f"formula), with 8 channels.")


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


class FixTwoPaths(Exercise):
    id = "lesson03.q5"
    points = 2
    title = "Debug TwoPaths: a model that believed what a Sequential does"
    why = ("A slice of a Sequential holds the same layers, a Sequential only chains, and a module "
           "registered twice is saved twice: three claims that sound right and are not.")
    hints = [
        "Run the broken model and look: `sum(p.numel() for p in BrokenTwoPaths(6, 3).parameters())`, "
        "`list(BrokenTwoPaths(6, 3).state_dict())`. How many different Linear layers are there, and how many names?",
        "Give `path_b` its own `nn.Sequential(nn.Linear(features, features), nn.ReLU())`, drop `self.model`, and "
        "write the addition yourself: `return self.head(self.path_a(x) + self.path_b(x))`.",
    ]
    solution = '''
class TwoPaths(nn.Module):
    def __init__(self, features, n_out):
        super().__init__()
        self.path_a = nn.Sequential(nn.Linear(features, features), nn.ReLU())
        self.path_b = nn.Sequential(nn.Linear(features, features), nn.ReLU())
        self.head = nn.Linear(features, n_out)

    def forward(self, x):
        return self.head(self.path_a(x) + self.path_b(x))
'''

    def check_answer(self, TwoPaths):
        for features, n_out in [(6, 3), (5, 2)]:
            model = checks.instantiate(TwoPaths, features, n_out)
            square = [m for _, m in checks.modules_of_type(model, nn.Linear) if m.weight.shape == (features, features)]
            heads = [m for _, m in checks.modules_of_type(model, nn.Linear) if m.weight.shape == (n_out, features)]
            if len(square) == 1:
                raise Incorrect(f"`TwoPaths({features}, {n_out})` has one Linear({features} → {features}), not two: "
                                "`self.path_a[:]` is a new Sequential holding the *same* layers, not copies, so "
                                "both paths share one weight. Build `path_b` from its own `nn.Linear`.")
            if len(square) != 2 or len(heads) != 1:
                raise Incorrect(f"`TwoPaths({features}, {n_out})` should register two Linear({features} → "
                                f"{features}) paths and one Linear({features} → {n_out}) head; yours registers "
                                f"{checks.parameter_breakdown(model)}.")
            one_path = features * features + features
            checks.expect_parameter_count(model, 2 * one_path + features * n_out + n_out)
            saved = model.state_dict(keep_vars=True)
            names = list(saved)
            if len(names) != len({id(t) for t in saved.values()}):
                raise Incorrect(f"Your state_dict has {len(names)} entries for "
                                f"{len(list(model.parameters()))} parameters: `self.model` registers the paths and "
                                f"the head a second time ({', '.join(names[-4:])}), so every weight is saved twice. "
                                "Drop it and wire the modules in `forward`.")
            self._expect_sum(model, square, heads[0], features)

    @staticmethod
    def _expect_sum(model, square, head, features):
        x = checks.hidden_input(4, features)
        a, b = square
        got = checks.plain(checks.call(model, x, what="your TwoPaths"))
        with torch.no_grad():
            expected = head(torch.relu(a(x)) + torch.relu(b(x)))
            chained = [head(torch.relu(second(torch.relu(first(x))))) for first, second in ((a, b), (b, a))]
            if close(got, expected):
                return
            if any(close(got, c) for c in chained):
                raise Incorrect("Your output is `head(path_b(path_a(x)))`: a Sequential feeds each module the "
                                "previous one's output; it never adds. Write the addition in `forward`.")
            if close(got, head(torch.relu(a(x) + b(x)))):
                raise Incorrect("You added before the ReLU: each path is Linear → ReLU, and the two paths' "
                                "outputs are added.")
        if isinstance(got, torch.Tensor) and got.grad_fn is not None and \
                not {"AddBackward0", "SumBackward1"} & checks.autograd_ops(got):
            raise Incorrect("Your output has no addition in its autograd graph: add the two paths' outputs.")
        checks.expect_close(got, expected, "your output")


q1 = SequentialTwin()
q2 = EveryOutputContainer()
q3 = LambdaWithArguments()
q4 = SmallColorClassifier()
q5 = FixTwoPaths()
