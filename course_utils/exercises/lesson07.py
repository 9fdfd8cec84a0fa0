"""Exercises of lesson 07 (networks that change): a condition in forward, growing a model the
optimizer knows about, a growth step that keeps the function, heads chosen by name, and
debugging a growing network whose new blocks are lost, disruptive and never trained.

Each check reaches the answer through probes (``course_utils.probes``): it reads the module
tree, calls the answer with its own inputs, and builds what the student's code receives (a
model, its optimizer, the ``Trainer`` that takes training steps) on the answer's side.
Layers are found by their weight shapes (the sizes make each shape unique), never by attribute
name, so any correct spelling passes; the check copies its own weights into the layers it found
and computes the expected output from them, never from what the answer's side reports.
"""

import ast

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.probes.client import Answer, BindError, ProbeFault


def weight_shape(entry):
    """The shape of a tree entry's own ``weight`` parameter, or None."""
    return next((tuple(shape) for name, shape, _ in entry.parameters if name == "weight"), None)


def children(entries, name: str) -> list:
    """The registered children of the module called ``name``, in order (``list(module)``)."""
    prefix = f"{name}." if name else ""
    return [e for e in entries if e.name.startswith(prefix) and e.name != name
            and "." not in e.name[len(prefix):]]


def linear_with_shape(model, out_features: int, in_features: int, role: str, under: str = "") -> nn.Linear:
    """The registered ``nn.Linear(in_features, out_features)`` of the answer ``model`` (inside the
    module called ``under``, if given; its ``role`` for messages), as a local layer with the
    check's own weights, which are copied into the answer's layer: the check computes what the
    answer's layer should give from weights it chose itself."""
    entries = [e for e in checks.unique(model.tree()) if e.is_a("Linear")]
    inside = [e for e in entries if not under or e.name == under or e.name.startswith(under + ".")]
    for entry in inside:
        if weight_shape(entry) == (out_features, in_features):
            has_bias = any(name == "bias" for name, _, _ in entry.parameters)
            local = nn.Linear(in_features, out_features, bias=has_bias)
            prefix = f"{entry.name}." if entry.name else ""
            model.assign({prefix + name: value for name, value in local.named_parameters()})
            return local
    shapes = ", ".join(f"Linear({e.settings.get('in_features')}, {e.settings.get('out_features')})"
                       for e in entries) or "none"
    raise Incorrect(f"No registered `nn.Linear({in_features}, {out_features})` for {role}; "
                    f"your registered Linear layers: {shapes}.")


def positional_parameters(signature) -> int | None:
    """How many positional arguments a signature such as ``(x, use_extra=False)`` takes
    (None when the text cannot be read: the call then decides)."""
    try:
        definition = ast.parse(f"def _f{signature}: pass").body[0]
    except (SyntaxError, TypeError, ValueError):
        return None
    arguments = definition.args
    return len(arguments.posonlyargs) + len(arguments.args) + (arguments.vararg is not None)


def names(reply) -> list:
    """A reply that must be a list of names (of parameters); anything else is malformed."""
    if type(reply) is not list or not all(type(name) is str for name in reply):
        raise ProbeFault("the answer's side sent a malformed list of names")
    return reply


def call_growing(function, arguments, what: str, group: str):
    """Call the student's ``add_layer`` / ``grow``; what PyTorch's optimizer refuses becomes the
    course's words (``group`` says which parameters belong in the new group), with their line."""
    with checks.worded(None, what):
        try:
            return checks.call(function, *arguments, what=what)
        except ValueError as error:
            if "more than one parameter group" not in str(error):
                raise
            raise checks.mistake_in_your_code(
                error, f"You gave the optimizer parameters it already had (PyTorch refuses a parameter in two "
                       f"groups): the new group holds {group} only.") from None
        except TypeError as error:
            text = str(error)
            if "param_group must be a dict" in text:
                given = text.rpartition("but got ")[2].strip("<>. ").replace("class ", "").strip("'")
                raise checks.mistake_in_your_code(
                    error, f"`optimizer.add_param_group` takes one parameter group, a dict, and you gave it a "
                           f"{given.rpartition('.')[2]}: write `optimizer.add_param_group({{'params': ...}})` with "
                           f"{group} as the value of 'params'.") from None
            if "object is not iterable" in text:
                raise checks.mistake_in_your_code(
                    error, f"The 'params' of a parameter group must be parameters ({group}), and PyTorch could not "
                           "iterate over what you gave it: a layer itself is not its parameters, "
                           "`layer.parameters()` is.") from None
            raise


def run_model(model, *inputs, what: str = "your model", **options):
    """``model.run`` (a forward, and a backward when asked), with PyTorch's errors in the course's words."""
    with checks.worded(model, what, dims=checks.dims_of(inputs)):
        return model.run(*inputs, **options)


def call_model(model, *inputs, what: str = "your model"):
    """``checks.call``, where PyTorch's shape errors become the course's words with the student's line."""
    with checks.worded(model, what, dims=checks.dims_of(inputs)):
        return checks.call(model, *inputs, what=what)


def calls_together(model, cases: list, what: str = "your model") -> list:
    """``call_model`` on every case (a tuple of inputs) in one round trip (``Answer.runs``): none
    decides the next one's inputs. Read each with ``value_of``, in order: a call that failed raises
    there, as ``call_model`` would have said it."""
    return [(case, result) for case, result in zip(cases, model.runs(cases))]


def value_of(model, called, what: str = "your model"):
    """The value of one of ``calls_together``'s calls, or what it raised in the course's words."""
    case, result = called
    if isinstance(result, BindError):
        return call_model(model, *case, what=what)   # says why this signature cannot take the case
    if isinstance(result, Exception):
        with checks.worded(model, what, dims=checks.dims_of(case)):
            raise result
    return result.value


# --- on the answer's side: what the student's code receives and what trains it -----------

def adam(model: nn.Module, lr: float) -> torch.optim.Adam:
    """The optimizer the student's code receives (built next to the model)."""
    return torch.optim.Adam(model.parameters(), lr=lr)


class Trainer:
    """Built next to the answer's model and optimizer: takes one training step (mean squared
    error on a batch the check chose) and reports what the optimizer holds, as plain data.
    It decides nothing: the check reads its replies as the answer's behaviour."""

    def __init__(self, model, optimizer, x, target):
        self.model, self.optimizer, self.x, self.target = model, optimizer, x, target
        self.known = set()

    def step(self) -> None:
        self.optimizer.zero_grad()
        nn.functional.mse_loss(self.model(self.x), self.target).backward()
        self.optimizer.step()

    def remember(self) -> None:
        """Note which parameter objects the model has now."""
        self.known = {id(p) for p in self.model.parameters()}

    def new_parameters(self) -> list:
        """Names of the model's parameters that were not there at ``remember``."""
        return [name for name, p in self.model.named_parameters() if id(p) not in self.known]

    def forgotten(self) -> list:
        """Names of the parameters known at ``remember`` that the optimizer has no state for."""
        return [name for name, p in self.model.named_parameters()
                if id(p) in self.known and not self.optimizer.state.get(p)]

    def without_state(self, names: list) -> list:
        """Those of ``names`` (the model's parameters) the optimizer has no state for."""
        parameters = dict(self.model.named_parameters(remove_duplicate=False))
        return [name for name in names if name in parameters and not self.optimizer.state.get(parameters[name])]

    def learning_rates(self, name: str) -> list:
        """The lr of every parameter group that holds the model's parameter ``name``."""
        parameter = dict(self.model.named_parameters(remove_duplicate=False)).get(name)
        return [float(group["lr"]) for group in self.optimizer.param_groups
                if any(p is parameter for p in group["params"])]


# --- q1 ---------------------------------------------------------------------------------

class ConditionalForward(Exercise):
    id = "lesson07.q1"
    points = 2
    title = "A layer switched on and off by an argument of forward"
    why = ("forward is ordinary Python: an `if` decides which registered layers run, and the "
           "output shape stays the same in both modes because the extra layer maps hidden→hidden.")
    hints = [
        "Create all three `nn.Linear` layers in `__init__` (the extra one too, even if it is not "
        "always used), and give `forward` a second argument: `def forward(self, x, use_extra):`.",
        "In forward: `h = torch.relu(self.first(x))`, then `if use_extra: h = torch.relu(self.extra(h))`, "
        "then `return self.last(h)` — no ReLU on the output.",
    ]

    def check_answer(self, answer):
        model = checks.instantiate(answer, 4, 8, 3)
        signature = model.info.get("signature")
        positional = positional_parameters(signature)
        if positional is not None and positional < 2:
            raise Incorrect(f"`forward` must take the switch as a second argument, like "
                            f"`def forward(self, x, use_extra):`; yours is `forward{signature}`.")
        checks.expect_parameter_count(model, 40 + 72 + 27)
        first = linear_with_shape(model, 8, 4, "the first layer (4 → 8)")
        extra = linear_with_shape(model, 8, 8, "the extra layer (8 → 8)")
        last = linear_with_shape(model, 3, 8, "the output layer (8 → 3)")
        x = checks.hidden_input(5, 4)
        on, off = (value_of(model, called) for called in calls_together(model, [(x, True), (x, False)]))
        checks.expect_shape(on, (5, 3), "the output with use_extra=True")
        checks.expect_shape(off, (5, 3), "the output with use_extra=False")
        with torch.no_grad():
            h = torch.relu(first(x))
            expected_on, expected_off = last(torch.relu(extra(h))), last(h)
            if checks.close(on, off):
                raise Incorrect("Your model gives the same output whether the switch is True or False: "
                                "`forward` must use its second argument (`if use_extra: ...`).")
            if checks.close(on, expected_off) and checks.close(off, expected_on):
                raise Incorrect("The switch works the wrong way round: the extra layer runs when the "
                                "argument is False. Use `if use_extra:`, not `if not use_extra:`.")
            if checks.close(on, expected_on) and checks.close(off, expected_off):
                return   # correct (checked first: on some inputs the right output has no negative value)
            if checks.close(on, torch.relu(expected_on)) or checks.close(off, torch.relu(expected_off)):
                raise Incorrect("Your output goes through a ReLU at the end, so it can never be negative. "
                                "Return the output layer's result as it is.")
            if checks.close(on, last(extra(h))):
                raise Incorrect("With use_extra=True, put a ReLU after the extra layer too: "
                                "`h = torch.relu(self.extra(h))`.")
            if not checks.close(off, expected_off):
                raise Incorrect("With use_extra=False the output is not `last(relu(first(x)))`: "
                                "check the order of the layers and the ReLU after the first one.")
            if not checks.close(on, expected_on):
                raise Incorrect("With use_extra=True the output is not "
                                "`last(relu(extra(relu(first(x)))))`: check the order of the layers.")


q1 = ConditionalForward()


# --- q2 ---------------------------------------------------------------------------------

class GrowingStack(nn.Module):
    """The model of q2: ``depth`` layers ``Linear(width, width)`` + ReLU kept in ``self.layers``."""

    def __init__(self, width, depth=2):
        super().__init__()
        self.width = width
        self.layers = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x


class RegisterWithOptimizer(Exercise):
    id = "lesson07.q2"
    points = 3
    title = "Add a layer and tell the optimizer about it"
    why = ("An optimizer only updates the parameters it was given; add_param_group hands it the new "
           "ones and keeps what it learned about the old ones (Adam's running averages).")
    hints = [
        "Two steps: `model.layers.append(nn.Linear(model.width, model.width))`, then give the new "
        "layer's parameters to the optimizer.",
        "`optimizer.add_param_group({'params': new_layer.parameters()})` adds only the new parameters; "
        "the learning rate and other settings default to the optimizer's own.",
    ]

    def check_answer(self, answer):
        session = answer.session
        model = session.build(GrowingStack, 6)
        optimizer = session.build(adam, model, 0.01)
        x, target = checks.hidden_input(5, 6), checks.hidden_input(5, 6, seed=99)
        trainer = session.build(Trainer, model, optimizer, x, target)
        trainer.method("step")
        depth = len(children(model.tree(), "layers"))
        call_growing(answer, (model, optimizer), "`add_layer`", "the new layer's parameters")
        layers = children(model.tree(), "layers")
        grown = len(layers) - depth
        if grown == 0:
            raise Incorrect("`model.layers` did not grow: append the new layer to `model.layers`.")
        if grown != 1:
            raise Incorrect(f"`model.layers` grew by {grown} layers; add exactly one.")
        new_layer = layers[-1]
        if not (new_layer.is_a("Linear") and weight_shape(new_layer) == (6, 6)):
            raise Incorrect(f"The new layer must be `nn.Linear(model.width, model.width)` "
                            f"(here Linear(6, 6)) so the stack still fits together; yours is {_layer(new_layer)}.")
        checks.expect_optimizer_covers(optimizer, model)
        parameters = {p.name: p for p in model.parameters()}
        first = [name for name in parameters if name.startswith(layers[0].name + ".")]
        if names(trainer.method("without_state", first)):
            raise Incorrect("The optimizer forgot what it had learned about the old layers (Adam's running "
                            "averages are gone): keep the optimizer and call `optimizer.add_param_group`.")
        weight = f"{new_layer.name}.weight"
        before = parameters[weight].value
        trainer.method("step")
        if checks.exactly_equal({p.name: p.value for p in model.parameters()}.get(weight), before):
            if not all(p.requires_grad for name, p in parameters.items() if name.startswith(new_layer.name + ".")):
                raise Incorrect("The new layer's parameters have requires_grad=False, so they get no "
                                "gradient and never move: leave requires_grad at its default (True).")
            lrs = trainer.method("learning_rates", weight)
            lr = lrs[0] if type(lrs) is list and lrs and type(lrs[0]) in (int, float) else "?"
            raise Incorrect(f"The new layer's weights did not change after a training step: its parameter "
                            f"group has lr={lr}. Leave out 'lr' to use the optimizer's.")


def _layer(entry) -> str:
    """A registered layer as PyTorch prints it, e.g. ``Linear(in_features=6, out_features=3, bias=True)``."""
    if entry.is_a("Linear"):
        has_bias = any(name == "bias" for name, _, _ in entry.parameters)
        return (f"{entry.type}(in_features={entry.settings.get('in_features')}, "
                f"out_features={entry.settings.get('out_features')}, bias={has_bias})")
    settings = ", ".join(f"{key}={value}" for key, value in entry.settings.items() if key != "training")
    return f"{entry.type}({settings})"


q2 = RegisterWithOptimizer()


# --- q3 ---------------------------------------------------------------------------------

def convs_3x3(model) -> list:
    """The registered 3×3 ``nn.Conv2d`` layers of the answer ``model`` (tree entries, each once)."""
    return [e for e in checks.unique(model.tree()) if e.is_a("Conv2d") and e.settings.get("kernel_size") == (3, 3)]


class FunctionPreservingBlock(Exercise):
    id = "lesson07.q3"
    points = 3
    title = "A conv block that leaves the network's output exactly unchanged when it is added"
    why = ("Growing with a block that starts as the identity keeps everything the network has "
           "learned; training then moves the block away from the identity only where that helps.")
    hints = [
        "The lesson's `ZeroInitBlock` was made of `Linear` layers; the idea carries over. A residual "
        "block returns `x + branch(x)`: which layer of the branch has to output exactly zero, and which "
        "must stay random so that a gradient can reach the branch?",
        "`conv1 = nn.Conv2d(channels, hidden_channels, 3, padding=1)`, `conv2 = nn.Conv2d(hidden_channels, "
        "channels, 3, padding=1)`; in `__init__`, `nn.init.zeros_` on conv2's weight AND bias (nothing "
        "near zero: `torch.equal` wants exactly zero); forward returns `x + conv2(relu(conv1(x)))`.",
    ]
    sizes = (4, 6)

    def check_answer(self, answer):
        channels, hidden = self.sizes
        block = checks.instantiate(answer, channels, hidden)
        if checks.parameter_count(block) == 0:
            raise Incorrect("Your block has no registered parameters, so it could never learn anything.")
        self._expect_branch(block, channels, hidden)
        # negative values (a ReLU after the sum shows), and a second size (padding shows)
        for x in (checks.hidden_input(2, channels, 5, 5), checks.hidden_input(1, channels, 7, 3, seed=7)):
            y = call_model(block, x, what="your block")
            checks.expect_shape(y, tuple(x.shape), "the block's output")
            if not checks.exactly_equal(y, x):
                self._explain_difference(checks.plain(y), x)
        x = checks.hidden_input(2, channels, 5, 5)
        if not run_model(block, x, what="your block").connected:
            raise Incorrect("No gradient can flow into your block: its output does not depend on any "
                            "trainable parameter. Use the block's layers in forward, and do not detach "
                            "them or set requires_grad=False.")
        learned = self._what_learns(block, x)
        if learned == "biases":
            raise Incorrect("Your block starts as the identity but can never learn: only biases get a gradient, "
                            "no weight ever does. Zero only the LAST convolution; if the first one is zero too, "
                            "ReLU(0) = 0 and the last one's weight gradient stays zero forever.")
        if learned == "nothing":
            raise Incorrect("Your block starts as the identity but can never learn: no parameter gets a gradient, "
                            "not even the last convolution's bias. Something after the last convolution stops "
                            "the gradient where the branch gives 0: a ReLU there passes no gradient at 0 (and the "
                            "branch starts at exactly 0). End the branch with the convolution: "
                            "`x + conv2(relu(conv1(x)))`.")

    @staticmethod
    def _expect_branch(block, channels, hidden):
        found = {weight_shape(c): c for c in convs_3x3(block)}
        for shape, role in [((hidden, channels, 3, 3), f"a 3×3 `nn.Conv2d({channels}, {hidden})` (channels → hidden)"),
                            ((channels, hidden, 3, 3), f"a 3×3 `nn.Conv2d({hidden}, {channels})` (hidden → channels)")]:
            if shape not in found:
                yours = ", ".join(
                    f"Conv2d({c.settings.get('in_channels')}, {c.settings.get('out_channels')}, "
                    f"{'×'.join(map(str, c.settings.get('kernel_size') or ('?', '?')))})"
                    for c in checks.unique(block.tree()) if c.is_a("Conv2d")) or "none"
                raise Incorrect(f"With IdentityAtStart({channels}, {hidden}) the branch needs {role}; your "
                                f"registered convolutions: {yours}.")
            padding = found[shape].settings.get("padding")
            if padding != "same" and padding != (1, 1):
                raise Incorrect(f"A 3×3 convolution with padding={padding[0] if isinstance(padding, tuple) else padding} "
                                "changes the height and width, so branch(x) and x no longer fit: use padding=1.")

    @staticmethod
    def _explain_difference(y, x):
        difference = y - x
        if torch.count_nonzero(y) == 0:
            raise Incorrect("Your block returns zeros: add the input back, `return x + branch(x)`.")
        if checks.exactly_equal(y, torch.relu(x)):
            raise Incorrect("Negative inputs come out as 0: a ReLU after the addition changes the "
                            "function. Return `x + branch(x)` with no activation after the `+`.")
        worst = difference.abs().max().item()
        # the same value at every pixel of a channel, up to float rounding (relative to the value itself)
        per_channel = difference.mean(dim=(2, 3), keepdim=True).expand_as(difference)
        if (difference - per_channel).abs().max().item() <= 1e-3 * worst:
            raise Incorrect("Your block adds the same value at every pixel of a channel: that is the last "
                            "convolution's bias. Zero the bias as well as the weight.")
        if worst < 1e-3:
            raise Incorrect(f"Almost, but not exactly: the output differs from the input by up to {worst:.2g}. "
                            "`torch.equal(block(x), x)` needs the branch to be exactly zero: a tiny random "
                            "initialization is not zero; `nn.init.zeros_` is.")
        raise Incorrect(f"When it is created, the block must return its input unchanged "
                        f"(largest difference here {worst:.4f}): zero-initialise the last convolution "
                        f"of the branch, weight and bias.")

    @staticmethod
    def _what_learns(block, x) -> str:
        """"weights" when some weight gets a gradient now or after one step (a gate that starts at
        0), "biases" when only biases ever do, "nothing" when no parameter does.

        Two steps of SGD (lr 0.1) on the mean squared error to a hidden target, taken through
        probes: the check computes the loss's gradient with respect to the block's output, the
        answer's side backpropagates it, and the check applies the step to the values it read."""
        target = checks.hidden_input(*x.shape, seed=99)
        weights = {p.name for p in block.parameters() if p.value.dim() >= 2}
        anything = False
        for _ in range(2):
            y = checks.expect_shape(call_model(block, x, what="your block"), tuple(x.shape), "the block's output")
            gradient = 2 * (y.detach() - target.to(y.dtype)) / y.numel()   # of mse_loss(y, target), by y
            grads = run_model(block, x, what="your block", backward=gradient).grads
            moving = {name for name, grad in grads.items() if type(grad) is torch.Tensor and grad.abs().sum() > 0}
            if moving & weights:
                return "weights"
            anything = anything or bool(moving)
            values = {p.name: p.value for p in block.parameters()}
            block.assign({name: values[name] - 0.1 * grad for name, grad in grads.items()
                          if type(grad) is torch.Tensor and name in values and grad.shape == values[name].shape})
        return "biases" if anything else "nothing"


q3 = FunctionPreservingBlock()


# --- q4 ---------------------------------------------------------------------------------

class HeadsByName(Exercise):
    id = "lesson07.q4"
    points = 2
    title = "One shared trunk, heads chosen by name from an nn.ModuleDict"
    why = ("nn.ModuleDict registers every head under its name, so all of them are trained and saved, "
           "and forward can pick one with an ordinary string.")
    hints = [
        "`__init__(self, in_features, hidden_features, heads)`: one trunk `nn.Linear(in_features, "
        "hidden_features)`, and `nn.ModuleDict({name: nn.Linear(hidden_features, n) for name, n in heads.items()})`.",
        "`forward(self, x, head)`: `return self.heads[head](torch.relu(self.trunk(x)))`.",
    ]

    def check_answer(self, answer):
        x = checks.hidden_input(5, 4)
        for heads in ({"digit": 10, "parity": 2}, {"colour": 3}):
            model = checks.instantiate(answer, 4, 8, dict(heads))
            self._check_one(model, heads, x)

    def _check_one(self, model, heads, x):
        expected = 40 + sum(9 * n for n in heads.values())
        hidden = checks.unregistered_modules(model)
        if hidden:
            raise Incorrect(f"Your heads sit in a plain Python dict or list (`self.{hidden[0]}`), so PyTorch "
                            f"does not register them: wrap them in `nn.ModuleDict`.")
        total = checks.parameter_count(model)
        if len(heads) > 1 and total == expected + 40 * (len(heads) - 1):
            raise Incorrect(f"Your model has {total} parameters; expected {expected}. Share ONE trunk "
                            f"between all heads instead of giving each head its own.")
        dicts = checks.modules_of_type(model, nn.ModuleDict)
        if not dicts:
            raise Incorrect("Keep the heads in an `nn.ModuleDict` (the exercise asks for one), "
                            "keyed by the head names.")
        where = dicts[0][0]
        keys = sorted(entry.name[len(where) + 1:] for entry in children(model.tree(), where))
        if keys != sorted(heads):
            raise Incorrect(f"The ModuleDict's keys should be the head names {sorted(heads)}; yours are {keys}. "
                            f"Build it from `heads.items()`.")
        checks.expect_parameter_count(model, expected)
        trunk = linear_with_shape(model, 8, 4, "the shared trunk (4 → 8)")
        layers = {name: linear_with_shape(model, size, 8, f"the head {name!r} (8 → {size})", under=f"{where}.{name}")
                  for name, size in heads.items()}
        with torch.no_grad():
            features = torch.relu(trunk(x))
            for (name, size), called in zip(heads.items(), calls_together(model, [(x, name) for name in heads])):
                out = value_of(model, called)
                if isinstance(out, torch.Tensor) and out.shape != (5, size):
                    raise Incorrect(f"`model(x, {name!r})` has shape {tuple(out.shape)}; expected (5, {size}). "
                                    f"forward must use the head named by its second argument.")
                checks.expect_shape(out, (5, size), f"the output of head {name!r}")
                head = layers[name]
                if checks.close(out, head(trunk(x))) and not checks.close(out, head(features)):
                    raise Incorrect("The trunk needs a ReLU after its Linear layer: "
                                    "`self.heads[head](torch.relu(self.trunk(x)))`.")
                if not checks.close(out, head(features)):
                    raise Incorrect(f"`model(x, {name!r})` is not `heads[{name!r}](relu(trunk(x)))`.")


q4 = HeadsByName()


# --- q5 (debugging) ------------------------------------------------------------------------

class Block(nn.Module):
    """The lesson's residual block: h + project(relu(expand(h))), default initialization."""

    def __init__(self, width):
        super().__init__()
        self.expand = nn.Linear(width, width)
        self.project = nn.Linear(width, width)

    def forward(self, h):
        return h + self.project(torch.relu(self.expand(h)))


class GrowingNetDebug(Exercise):
    id = "lesson07.q5"
    points = 3
    title = "Debug: a growing network whose new blocks are not saved, change its output and never learn"
    why = ("Three quiet failures of growth, each without an error: a plain list hides the block from "
           "PyTorch, a random block changes what the network learned, and an optimizer never told "
           "about the block leaves it as it was born.")
    hints = [
        "Three symptoms, three places to look, each right after `net.grow(optimizer)`: what "
        "`net.state_dict()` lists, `net(x)` just before and just after growing, and which parameters the "
        "optimizer holds (`optimizer.param_groups`).",
        "A plain Python list hides the modules in it from PyTorch; a block with PyTorch's default "
        "initialisation is not the identity, so adding it changes the function; and an optimizer updates only "
        "the parameters it was given.",
        "Keep the blocks in an `nn.ModuleList`; start each new block as the identity by zeroing its `project` "
        "layer, weight and bias (only that one: `expand` must stay random, or the block can never learn); then "
        "hand the block's parameters to the same optimizer with `add_param_group`.",
    ]
    width = 6

    def reference_answer(self):
        namespace = {"torch": torch, "nn": nn, "Block": Block}
        exec(compile(self.solution_code, f"<solution of {self.id}>", "exec"), namespace)
        return namespace["GrowingNet"]

    def check_answer(self, answer):
        model = checks.instantiate(answer, self.width)
        try:
            grow = model.attribute("grow")
        except AttributeError:
            grow = None
        if not (isinstance(grow, Answer) and grow.info.get("callable")):
            raise Incorrect("Your GrowingNet has no `grow` method: keep `def grow(self, optimizer):` from the "
                            "broken version and fix what it does.")
        x, target = checks.hidden_input(16, 1), checks.hidden_input(16, 1, seed=99)
        optimizer = model.session.build(adam, model, 0.01)
        trainer = model.session.build(Trainer, model, optimizer, x, target)
        for growth in (1, 2):
            trainer.method("step")
            self._check_growth(model, grow, optimizer, trainer, x, growth)

    def _check_growth(self, model, grow, optimizer, trainer, x, growth):
        trainer.method("remember")
        count = checks.parameter_count(model)
        before = checks.plain(call_model(model, x))
        call_growing(grow, (optimizer,), "`grow`", "the new block's parameters")
        hidden = checks.unregistered_modules(model)
        if hidden:
            raise Incorrect(f"After `grow` the new block is missing from `parameters()` and `state_dict()`: "
                            f"PyTorch does not see what `self.{hidden[0]}` holds, so saving the network loses the "
                            "block, and `.to(device)` or an optimizer built from `parameters()` never reach it.")
        added = checks.parameter_count(model) - count
        block_size = 2 * (self.width * self.width + self.width)
        if added == 0 and growth > 1:
            raise Incorrect("The second call of `grow` added no parameters: the new block took the first one's "
                            "place. A name used twice (`add_module('new', ...)`, `setattr`) replaces the layer "
                            "silently; appending to a container adds one each time.")
        if added == 0:
            raise Incorrect("After `grow` the network has no more parameters than before: the new block is not "
                            "part of it.")
        if added != block_size:
            raise Incorrect(f"`grow` added {added} parameters; one `Block({self.width})` has {block_size}. Add "
                            "exactly one block per call.")
        new = names(trainer.method("new_parameters"))
        after = checks.plain(call_model(model, x))
        before = checks.expect_tensor(before, "your model's output")
        checks.expect_shape(after, tuple(before.shape), "the output after growing")
        if not checks.exactly_equal(after, before):
            worst = (after - before).abs().max().item()
            raise Incorrect(f"Growing changed the network's output (largest difference {worst:.4g}): right after "
                            "`grow` the network no longer computes what it had learned.")
        self._expect_new_block_runs(model, x, new)
        missing = checks.optimizer_missing(optimizer, model)
        if missing:
            raise Incorrect(f"The optimizer passed to `grow` does not hold {len(missing)} of the network's "
                            f"parameters ({', '.join(missing)}): `optimizer.step()` leaves them exactly as they "
                            "were created, however long the network trains.")
        old_state_lost = names(trainer.method("forgotten"))
        if old_state_lost:
            raise Incorrect(f"The optimizer forgot what it had learned about '{old_state_lost[0]}' (Adam's running "
                            "averages are gone): keep the optimizer and call `optimizer.add_param_group`.")
        values = {p.name: p.value for p in model.parameters()}
        for _ in range(2):
            trainer.method("step")
        trained = {p.name: p.value for p in model.parameters()}
        moved = [name for name in new if name in values and not checks.exactly_equal(trained.get(name), values[name])]
        if not moved:
            raise Incorrect("The new block did not change in two training steps: the optimizer holds its "
                            "parameters but leaves them as they are. Give them the optimizer's own learning rate, "
                            "and keep requires_grad=True.")
        if not any(values[name].dim() >= 2 for name in moved):
            raise Incorrect("After two training steps the new block's weights are still exactly as they were "
                            "created; only its biases moved. Its weights get no gradient, so the block can never "
                            "learn anything but a constant.")

    @staticmethod
    def _expect_new_block_runs(model, x, new):
        """The new block takes part in forward: one backward pass gives its parameters a gradient (a
        zero one counts: the zeroed `project` passes none back to `expand`)."""
        frozen = [p.name for p in model.parameters() if p.name in new and not p.requires_grad]
        if frozen:
            raise Incorrect(f"The new block's parameters have requires_grad=False ({', '.join(frozen)}): they get no "
                            "gradient, so training never changes them. Leave requires_grad at its default (True).")
        output = checks.expect_tensor(checks.plain(call_model(model, x)), "your model's output")
        grads = run_model(model, x, backward=checks.hidden_input(*output.shape, seed=5)).grads
        if new and all(grads.get(name) is None for name in new):
            raise Incorrect("The new block never takes part in forward: after a backward pass its parameters have "
                            "no gradient at all (`.grad` is None), so nothing could ever train it.")


q5 = GrowingNetDebug()
