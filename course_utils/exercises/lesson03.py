"""Exercises of lesson 03 (nn.Sequential): a Sequential twin, a container, a Lambda, a classifier.

The checks run the student's answer on hidden inputs and compare with a reference; when the
numbers differ they look at the structure (which layer types, in which order) to say what is
wrong in the student's terms. No check asks for an attribute name the exercise did not give.
"""

import re

import torch
from torch import nn

from course_utils.exercises import checks
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


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def close(a, b) -> bool:
    return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(a, b, atol=1e-6)


def expect_class(answer, what: str) -> None:
    if not isinstance(answer, type):
        raise Incorrect(f"Pass the class itself (`{what}`), not {type(answer).__name__!s} — "
                        "no parentheses after the name.")
    if not issubclass(answer, nn.Module):
        raise Incorrect(f"`{answer.__name__}` does not subclass `nn.Module`: write "
                        f"`class {answer.__name__}(nn.Module):` so PyTorch can register and find its layers.")


def expect_function(answer, what: str) -> None:
    if isinstance(answer, nn.Module):
        raise Incorrect(f"You passed a model; pass the function `{what}` itself.")
    if not callable(answer) or isinstance(answer, type):
        raise Incorrect(f"Pass the function `{what}` (defined with `def`), not {type(answer).__name__}.")


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
        expect_function(to_sequential, "to_sequential")
        for sizes in [(4, 6, 3), (10, 20, 5)]:
            net = ManualNet(*sizes)
            x = torch.randn(7, sizes[0])
            with torch.no_grad():
                expected = net(x)
            chain = to_sequential(net)
            if chain is None:
                raise Incorrect("`to_sequential` returned None: end it with `return nn.Sequential(...)`.")
            if not isinstance(chain, nn.Sequential):
                raise Incorrect(f"`to_sequential` returned a {type(chain).__name__}; return an `nn.Sequential`.")
            inner = [m for m in chain if isinstance(m, ManualNet)]
            if inner:
                raise Incorrect("Your Sequential contains the whole ManualNet as one layer: that runs, "
                                "but it is not a Sequential of layers. List its layers one by one.")
            self._compare(net, chain, x, expected)

    @staticmethod
    def _compare(net, chain, x, expected):
        layers = type_names(chain)
        others = [kind for kind in layers if kind not in ("Linear", "Tanh")]
        if "Tanh" not in layers and others:
            raise Incorrect(f"Your Sequential holds {layers}: ManualNet's activation is Tanh, not {others[0]}. "
                            "Reuse the model's own `act` layer.")
        if "Tanh" not in layers:
            raise Incorrect(f"Your Sequential holds {layers}: the Tanh between the two linear layers is missing.")
        try:
            with torch.no_grad():
                got = chain(x)
        except RuntimeError as error:
            raise Incorrect(f"Your Sequential {layers} fails on an input of shape {tuple(x.shape)}: "
                            f"{str(error).splitlines()[0]}. List the layers in the order forward calls them.") from None
        if close(got, expected):
            return
        if layers == ["Linear", "Linear", "Tanh"]:
            raise Incorrect("Your Sequential applies Tanh last. `net.children()` lists layers in the "
                            "order `__init__` registered them (hidden, output, act), not the order "
                            "`forward` calls them (hidden, act, output).")
        if layers != ["Linear", "Tanh", "Linear"]:
            raise Incorrect(f"Your Sequential holds {layers}; ManualNet is Linear → Tanh → Linear.")
        same_weights = {id(p) for p in chain.parameters()} == {id(p) for p in net.parameters()}
        if not same_weights:
            raise Incorrect("Right layers in the right order, but new random weights, so the outputs "
                            "differ from the model's. Reuse `net`'s layers (or copy their weights).")
        raise Incorrect("Your Sequential reuses the model's layers but computes something else: "
                        "check that the first Linear is `hidden` and the last is `output`.")


# --- q2 ---------------------------------------------------------------------------------

class EveryOutputContainer(Exercise):
    id = "lesson03.q2"
    points = 2
    title = "Write Chain: a container like nn.Sequential that returns every layer's output"
    why = ("A container is a module that registers its layers and loops over them in forward — "
           "the whole of nn.Sequential. Keeping every intermediate output is how feature extractors work.")
    hints = [
        "Register each layer in `__init__` (`self.add_module(str(i), layer)`, or keep them in an "
        "`nn.ModuleList`), after `super().__init__()`. A plain Python list hides their parameters.",
        "In `forward`, loop over the layers: `x = layer(x)`, then append that `x` to a list; "
        "return the list (one item per layer, the input itself not included).",
    ]
    solution = '''
class Chain(nn.Module):
    def __init__(self, *layers):
        super().__init__()
        for index, layer in enumerate(layers):
            self.add_module(str(index), layer)

    def forward(self, x):
        outputs = []
        for layer in self.children():
            x = layer(x)
            outputs.append(x)
        return outputs
'''

    def check_answer(self, Chain):
        expect_class(Chain, "Chain")
        # square layers first: a wrong wiring gives wrong numbers, not a shape error
        layers = [nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4)]
        try:
            chain = checks.instantiate(Chain, *layers)
        except Incorrect as error:
            raise Incorrect(f"{error} `Chain(layer_a, layer_b, ...)` receives the layers as separate "
                            "arguments, like `nn.Sequential`: `def __init__(self, *layers):`.") from None
        expected_count = sum(parameter_count(m) for m in layers)
        if parameter_count(chain) == 0:
            raise Incorrect("`Chain(...).parameters()` is empty, so an optimizer would never train it: "
                            "layers kept in a plain Python list are not registered. Use "
                            "`self.add_module(name, layer)` or `nn.ModuleList`.")
        if parameter_count(chain) != expected_count:
            raise Incorrect(f"`Chain(...)` registers {parameter_count(chain)} parameters; its layers "
                            f"hold {expected_count}. Register each layer exactly once.")
        x = torch.randn(5, 4)
        reference = self._reference(layers, x)
        with torch.no_grad():
            got = chain(x)
        self._compare(got, reference, len(layers))
        # and a chain whose sizes change, as a real network's do
        layers = [nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2)]
        x = torch.randn(2, 3)
        with torch.no_grad():
            got = Chain(*layers)(x)
        self._compare(got, self._reference(layers, x), len(layers))
        for i, item in enumerate(Chain(*layers)(x)):
            checks.expect_connected_to_graph(item, f"item {i} of your list")

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
            raise Incorrect(f"`forward` returned {type(got).__name__}; return a list of tensors, one per layer.")
        got = list(got)
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

class LambdaModule(Exercise):
    id = "lesson03.q3"
    points = 1
    title = "Write Lambda: a module that wraps a plain function"
    why = ("nn.Sequential accepts only modules. A three-line wrapper lets any tensor function "
           "sit in the chain — and PyTorch's own nn.Flatten, nn.ReLU, ... are exactly such wrappers.")
    hints = [
        "`Lambda(fn)` must be an `nn.Module`: call `super().__init__()`, then keep `fn` in an attribute.",
        "`forward(self, x)` returns `self.fn(x)` — the function called on the input, once.",
    ]
    solution = '''
class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)
'''

    def check_answer(self, Lambda):
        expect_class(Lambda, "Lambda")
        calls = []

        def doubled(t):
            calls.append(1)
            return 2 * t

        wrapped = Lambda(doubled)
        if calls:
            raise Incorrect("`Lambda(fn)` called `fn` while being built; keep the function and call "
                            "it in `forward`, on the input.")
        if parameter_count(wrapped) != 0:
            raise Incorrect("`Lambda` has parameters; a wrapped function has nothing to learn.")
        x = torch.randn(3, 2, 4, requires_grad=True)
        got = wrapped(x)
        if callable(got) and not isinstance(got, torch.Tensor):
            raise Incorrect("`forward` returned the function itself; call it: `return self.fn(x)`.")
        if len(calls) > 1:
            raise Incorrect(f"One forward pass called the function {len(calls)} times; call it once.")
        if isinstance(got, torch.Tensor) and torch.equal(got, x):
            raise Incorrect("`Lambda(fn)(x)` returned `x` unchanged: `forward` must return `self.fn(x)`.")
        if not calls or not close(got, 2 * x):
            shown = f" (for an input of shape {tuple(x.shape)} it returned shape {tuple(got.shape)})" \
                if isinstance(got, torch.Tensor) and got.shape != x.shape else ""
            raise Incorrect(f"`Lambda(fn)(x)` is not `fn(x)`{shown}: `forward` must call the function it "
                            "was given on its input, unchanged, and return the result as it is.")
        checks.expect_connected_to_graph(got, "`Lambda(fn)(x)`")
        net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), Lambda(lambda t: t.flatten(1)), nn.Linear(8, 3))
        out = net(torch.randn(5, 1, 4, 4))
        if tuple(out.shape) != (5, 3):
            raise Incorrect(f"Inside nn.Sequential your Lambda gave an output of shape {tuple(out.shape)}, not (5, 3).")


# --- q4 ---------------------------------------------------------------------------------

class TinyImageClassifier(Exercise):
    id = "lesson03.q4"
    points = 2
    title = "Build an nn.Sequential that maps 8×8 images to 10 scores"
    why = ("Flatten is the joint between the convolutional part and the linear part of a network; "
           "getting its size right means knowing the shape after every layer.")
    hints = [
        "A 3×3 convolution without padding shrinks 8×8 to 6×6, so 4 channels give 4·6·6 = 144 "
        "numbers per image. `trace_shapes` shows it.",
        "`nn.Flatten()` keeps the batch dimension (it starts at dim 1). The chain: "
        "`nn.Conv2d(1, 4, 3)`, `nn.ReLU()`, `nn.Flatten()`, `nn.Linear(144, 10)`.",
    ]
    solution = '''
def make_classifier():
    return nn.Sequential(
        nn.Conv2d(1, 4, kernel_size=3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 6 * 6, 10),
    )
'''

    def check_answer(self, make_classifier):
        expect_function(make_classifier, "make_classifier")
        model = make_classifier()
        if model is None:
            raise Incorrect("`make_classifier` returned None: end it with `return nn.Sequential(...)`.")
        if not isinstance(model, nn.Sequential):
            raise Incorrect(f"`make_classifier` returned a {type(model).__name__}; return an `nn.Sequential`.")
        if make_classifier() is model:
            raise Incorrect("`make_classifier()` returns the same model on every call; build a new "
                            "`nn.Sequential` inside the function, so each call gives fresh layers.")
        kinds = type_names(model)
        convs = [m for m in model if isinstance(m, nn.Conv2d)]
        if len(convs) != 1 or (convs[0].in_channels, convs[0].out_channels, convs[0].kernel_size) != (1, 4, (3, 3)):
            raise Incorrect(f"Your Sequential holds {kinds}; it should start with one `nn.Conv2d(1, 4, 3)`.")
        conv = convs[0]
        if (conv.padding, conv.stride, conv.dilation) != ((0, 0), (1, 1), (1, 1)):
            raise Incorrect(f"Your convolution has padding={conv.padding[0]}, stride={conv.stride[0]}, "
                            f"dilation={conv.dilation[0]}; the exercise asks for `nn.Conv2d(1, 4, kernel_size=3)` "
                            "with the defaults (no padding), so the images shrink to 6×6.")
        if "ReLU" not in kinds or kinds.index("ReLU") < kinds.index("Conv2d"):
            raise Incorrect(f"Your Sequential holds {kinds}: put an `nn.ReLU()` after the convolution.")
        core = [kind for kind in kinds if kind not in ("Identity", "Dropout")]
        if core[core.index("Conv2d") + 1] != "ReLU":
            raise Incorrect(f"Your Sequential holds {kinds}: the ReLU comes right after the convolution, "
                            "before the flatten (conv → ReLU → flatten → linear).")
        if any(isinstance(m, nn.LazyLinear) for m in model):
            raise Incorrect("`nn.LazyLinear` guesses the input size for you; the exercise is to work it out: "
                            "use `nn.Linear(in_features, 10)` with the right number.")
        if core[-1] != "Linear":
            raise Incorrect(f"Your Sequential ends with {core[-1]}, after the linear layer: the linear layer's "
                            "10 outputs are the scores, so it must be the last layer (a loss such as "
                            "`nn.CrossEntropyLoss` applies the softmax itself).")
        for batch in (1, 3):
            x = torch.randn(batch, 1, 8, 8)
            try:
                with torch.no_grad():
                    out = model(x)
            except RuntimeError as error:
                raise Incorrect(self._explain(error, model, batch)) from None
            if out.dim() == 1:
                raise Incorrect(f"For {batch} image(s) your model returns shape {tuple(out.shape)}: your "
                                "flatten also merged the batch dimension. `nn.Flatten()` (or "
                                "`torch.flatten(x, 1)`) keeps one row per image.")
            if tuple(out.shape) != (batch, 10):
                raise Incorrect(f"For {batch} image(s) of shape (1, 8, 8) your model returns shape "
                                f"{tuple(out.shape)}; expected ({batch}, 10): one row of 10 scores per image.")

    @staticmethod
    def _explain(error, model, batch):
        text = str(error).splitlines()[0]
        shapes = re.search(r"\((\d+)x(\d+) and (\d+)x(\d+)\)", text)
        if shapes:
            rows, features, expected, _ = (int(n) for n in shapes.groups())
            if rows != batch:
                return (f"The Linear layer received {rows} rows for {batch} image(s): the convolution "
                        "output was not flattened to one row per image. Put `nn.Flatten()` before the "
                        f"Linear layer. (PyTorch said: {text})")
            return (f"Your Linear expects {expected} features but each image gives {features}: "
                    "a 3×3 convolution without padding shrinks 8×8 to 6×6, and 4·6·6 = 144. "
                    f"(PyTorch said: {text})")
        return f"Your model fails on a batch of {batch} image(s) of shape (1, 8, 8): {text}"


q1 = SequentialTwin()
q2 = EveryOutputContainer()
q3 = LambdaModule()
q4 = TinyImageClassifier()
