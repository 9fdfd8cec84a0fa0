"""Exercises of lesson 07 (networks that change): a condition in forward, growing a model the
optimizer knows about, a growth step that keeps the function, heads chosen by name, and
debugging a growing network whose new blocks are lost, disruptive and never trained.

q1 and q4 are ``ModuleOnChoices`` (a forward whose second argument chooses what runs), q2 and q5
``GrowingModel`` (a model that grows while it trains, and its optimizer); q3, a block that must be
exactly the identity and still learn, is its own check, its mistakes declared as data. Layers are
found by their weight shapes, never by attribute name, so any correct spelling passes; the checks
compute what the answer should give from weights they chose themselves.
"""

from dataclasses import dataclass
from functools import cached_property

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.exercises.kinds import Case, GrowingModel, LinearLayer, Mistake, ModuleOnChoices, Seen
from course_utils.exercises.kinds.parts import first_fitting
from course_utils.probes.client import Answer


# --- q1 ---------------------------------------------------------------------------------

class ConditionalForward(ModuleOnChoices):
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
    sizes = [(4, 8, 3)]
    takes_choice = ("`forward` must take the switch as a second argument, like `def forward(self, x, use_extra):`; "
                    "yours is `forward{signature}`.")
    output_named = "the output with use_extra={choice}"
    mistakes = [
        Mistake("Your model gives the same output whether the switch is True or False: `forward` must use its "
                "second argument (`if use_extra: ...`).", when=lambda s: checks.close(*s.outputs.values())),
        Mistake("The switch works the wrong way round: the extra layer runs when the argument is False. Use "
                "`if use_extra:`, not `if not use_extra:`.",
                when=lambda s: checks.close(s.outputs[True], s.wanted[False])
                and checks.close(s.outputs[False], s.wanted[True])),
        Mistake("Your output goes through a ReLU at the end, so it can never be negative. Return the output "
                "layer's result as it is.",
                when=lambda s: any(checks.close(s.outputs[c], torch.relu(s.wanted[c])) for c in (True, False))),
        Mistake("With use_extra=True, put a ReLU after the extra layer too: `h = torch.relu(self.extra(h))`.",
                when=lambda s: checks.close(s.outputs[True], _last_after_extra_without_relu(s.layers, s.x))),
        Mistake("With use_extra=False the output is not `last(relu(first(x)))`: check the order of the layers and "
                "the ReLU after the first one.", when=lambda s: not checks.close(s.outputs[False], s.wanted[False])),
    ]
    otherwise = ("With use_extra=True the output is not `last(relu(extra(relu(first(x)))))`: check the order of "
                 "the layers.")

    def choices(self, *sizes):
        return [True, False]

    def inputs(self, in_features, *_):
        return checks.hidden_input(5, in_features)

    def parameter_count(self, i, h, o):
        return (i * h + h) + (h * h + h) + (h * o + o)

    def layers(self, seen):
        i, h, o = seen.sizes
        return {"first": LinearLayer(i, h, f"the first layer ({i} → {h})"),
                "extra": LinearLayer(h, h, f"the extra layer ({h} → {h})"),
                "last": LinearLayer(h, o, f"the output layer ({h} → {o})")}

    def expected(self, layers, x, use_extra):
        h = torch.relu(layers["first"](x))
        return layers["last"](torch.relu(layers["extra"](h)) if use_extra else h)


def _last_after_extra_without_relu(layers, x):
    return layers["last"](layers["extra"](torch.relu(layers["first"](x))))


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


class RegisterWithOptimizer(GrowingModel):
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
    what, group = "`add_layer`", "the new layer's parameters"
    batch = (5, 6)
    notes, container = ("layers",), "layers"
    mistakes = [
        Mistake("`model.layers` did not grow: append the new layer to `model.layers`.", when=lambda g: g.grown == 0),
        Mistake("`model.layers` grew by {grown} layers; add exactly one.", when=lambda g: g.grown != 1),
        Mistake(lambda g: f"The new layer must be `nn.Linear(model.width, model.width)` (here Linear(6, 6)) so the "
                          f"stack still fits together; yours is {_layer(g.new_layer)}.",
                when=lambda g: not (g.new_layer.is_a("Linear") and checks.weight_shape(g.new_layer) == (6, 6))),
        Mistake(lambda g: checks.not_in_optimizer(g.missing), when=lambda g: g.missing),
        Mistake("The optimizer forgot what it had learned about the old layers (Adam's running averages are gone): "
                "keep the optimizer and call `optimizer.add_param_group`.", when=lambda g: g.forgotten),
        Mistake("The new layer's parameters have requires_grad=False, so they get no gradient and never move: "
                "leave requires_grad at its default (True).", when=lambda g: not g.moved_weights and g.frozen),
        Mistake(lambda g: f"The new layer's weights did not change after a training step: its parameter group has "
                          f"lr={g.lr_of(g.new_layer.name + '.weight')}. Leave out 'lr' to use the optimizer's.",
                when=lambda g: not g.moved_weights),
    ]

    def model(self, answer):
        return answer.session.build(GrowingStack, 6)


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

@dataclass
class BlockSeen(Seen):
    """The block (``model``, built with ``sizes``) on one hidden input ``x`` (``args[0]``), its output ``got``."""

    model: Answer | None = None
    sizes: tuple = ()

    @property
    def x(self) -> torch.Tensor:
        return self.args[0]

    @cached_property
    def convs(self) -> list:
        """The block's registered convolutions (tree entries, each once)."""
        return [e for e in checks.unique(self.model.tree()) if e.is_a("Conv2d")]

    @property
    def convolutions(self) -> str:
        """The registered convolutions as a message lists them: 'Conv2d(4, 6, 3×3), ...' or 'none'."""
        return ", ".join(f"Conv2d({c.settings.get('in_channels')}, {c.settings.get('out_channels')}, "
                         f"{'×'.join(map(str, c.settings.get('kernel_size') or ('?', '?')))})"
                         for c in self.convs) or "none"

    @cached_property
    def branch_fault(self) -> tuple | None:
        """The first of the branch's two 3×3 convolutions that is missing ("missing", its role) or pads
        wrongly ("padding", its padding), in the branch's order; None: both are there."""
        channels, hidden = self.sizes
        found = {checks.weight_shape(c): c for c in self.convs if c.settings.get("kernel_size") == (3, 3)}
        for n_in, n_out, role in [(channels, hidden, "channels → hidden"), (hidden, channels, "hidden → channels")]:
            shape, role = (n_out, n_in, 3, 3), f"a 3×3 `nn.Conv2d({n_in}, {n_out})` ({role})"
            if shape not in found:
                return "missing", role
            padding = found[shape].settings.get("padding")
            if padding != "same" and padding != (1, 1):
                return "padding", padding[0] if isinstance(padding, tuple) else padding
        return None

    @property
    def worst(self) -> float:
        """The largest difference between the block's output and its input."""
        return (self.got - self.x).abs().max().item()

    @property
    def same_per_channel(self) -> bool:
        """The output differs from the input by one value per channel (up to float rounding, relative to it)."""
        difference = self.got - self.x
        per_channel = difference.mean(dim=(2, 3), keepdim=True).expand_as(difference)
        return (difference - per_channel).abs().max().item() <= 1e-3 * self.worst

    @cached_property
    def connected(self) -> bool:
        return checks.run_model(self.model, self.x, what="your block").connected

    @cached_property
    def learns(self) -> str:
        return _what_learns(self.model, self.x)


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
    structure = [
        Mistake("Your block has no registered parameters, so it could never learn anything.",
                when=lambda s: checks.parameter_count(s.model) == 0),
        Mistake("With IdentityAtStart{sizes} the branch needs {branch_fault[1]}; your registered convolutions: "
                "{convolutions}.", when=lambda s: s.branch_fault and s.branch_fault[0] == "missing"),
        Mistake("A 3×3 convolution with padding={branch_fault[1]} changes the height and width, so branch(x) and x "
                "no longer fit: use padding=1.", when=lambda s: s.branch_fault),
    ]
    # the output on an input (negative values show a ReLU after the sum; a second size shows the padding)
    # is not exactly the input
    not_identity = [
        Mistake("Your block returns zeros: add the input back, `return x + branch(x)`.",
                when=lambda s: torch.count_nonzero(s.got) == 0),
        Mistake("Negative inputs come out as 0: a ReLU after the addition changes the function. Return "
                "`x + branch(x)` with no activation after the `+`.",
                when=lambda s: checks.exactly_equal(s.got, torch.relu(s.x))),
        Mistake("Your block adds the same value at every pixel of a channel: that is the last convolution's bias. "
                "Zero the bias as well as the weight.", when=lambda s: s.same_per_channel),
        Mistake(lambda s: f"Almost, but not exactly: the output differs from the input by up to {s.worst:.2g}. "
                          "`torch.equal(block(x), x)` needs the branch to be exactly zero: a tiny random "
                          "initialization is not zero; `nn.init.zeros_` is.", when=lambda s: s.worst < 1e-3),
        Mistake(lambda s: f"When it is created, the block must return its input unchanged (largest difference "
                          f"here {s.worst:.4f}): zero-initialise the last convolution of the branch, weight and bias."),
    ]
    # it is the identity: can it learn?
    learning = [
        Mistake("No gradient can flow into your block: its output does not depend on any trainable parameter. Use "
                "the block's layers in forward, and do not detach them or set requires_grad=False.",
                when=lambda s: not s.connected),
        Mistake("Your block starts as the identity but can never learn: only biases get a gradient, no weight ever "
                "does. Zero only the LAST convolution; if the first one is zero too, ReLU(0) = 0 and the last one's "
                "weight gradient stays zero forever.", when=lambda s: s.learns == "biases"),
        Mistake("Your block starts as the identity but can never learn: no parameter gets a gradient, not even the "
                "last convolution's bias. Something after the last convolution stops the gradient where the branch "
                "gives 0: a ReLU there passes no gradient at 0 (and the branch starts at exactly 0). End the branch "
                "with the convolution: `x + conv2(relu(conv1(x)))`.", when=lambda s: s.learns == "nothing"),
    ]

    def check_answer(self, answer):
        block = checks.instantiate(answer, *self.sizes)
        first = checks.hidden_input(2, self.sizes[0], 5, 5)
        seen = BlockSeen(self, answer, Case((first,)), (first,), model=block, sizes=self.sizes)
        first_fitting(self.structure, seen, prefix="")
        for x in (first, checks.hidden_input(1, self.sizes[0], 7, 3, seed=7)):
            y = checks.call_model(block, x, what="your block")
            checks.expect_shape(y, tuple(x.shape), "the block's output")
            if not checks.exactly_equal(y, x):
                first_fitting(self.not_identity, BlockSeen(self, answer, Case((x,)), (x,), got=checks.plain(y)),
                              prefix="")
        first_fitting(self.learning, seen, prefix="")


def _what_learns(block, x) -> str:
    """"weights" when some weight gets a gradient now or after one step (a gate that starts at 0),
    "biases" when only biases ever do, "nothing" when no parameter does.

    Two steps of SGD (lr 0.1) on the mean squared error to a hidden target, taken through probes: the
    check computes the loss's gradient with respect to the block's output, the answer's side
    backpropagates it, and the check applies the step to the values it read."""
    target = checks.hidden_input(*x.shape, seed=99)
    weights = {p.name for p in block.parameters() if p.value.dim() >= 2}
    anything = False
    for _ in range(2):
        y = checks.expect_shape(checks.call_model(block, x, what="your block"), tuple(x.shape), "the block's output")
        gradient = 2 * (y.detach() - target.to(y.dtype)) / y.numel()   # of mse_loss(y, target), by y
        grads = checks.run_model(block, x, what="your block", backward=gradient).grads
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

class HeadsByName(ModuleOnChoices):
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
    sizes = [(4, 8, {"digit": 10, "parity": 2}), (4, 8, {"colour": 3})]
    refuse = [
        Mistake(lambda s: f"Your heads sit in a plain Python dict or list (`self.{s.hidden[0]}`), so PyTorch does "
                          "not register them: wrap them in `nn.ModuleDict`.", when=lambda s: s.hidden),
        Mistake(lambda s: f"Your model has {s.count} parameters; expected {s.exercise.parameter_count(*s.sizes)}. "
                          "Share ONE trunk between all heads instead of giving each head its own.",
                when=lambda s: len(s.sizes[2]) > 1 and s.count == s.exercise.parameter_count(*s.sizes)
                + (s.sizes[0] * s.sizes[1] + s.sizes[1]) * (len(s.sizes[2]) - 1)),   # a trunk per head
        Mistake("Keep the heads in an `nn.ModuleDict` (the exercise asks for one), keyed by the head names.",
                when=lambda s: not s.modules(nn.ModuleDict)),
        Mistake(lambda s: f"The ModuleDict's keys should be the head names {sorted(s.sizes[2])}; yours are "
                          f"{_keys(s)}. Build it from `heads.items()`.", when=lambda s: _keys(s) != sorted(s.sizes[2])),
    ]
    wrong_shape = [
        Mistake(lambda s: f"`model(x, {s.choice!r})` has shape {tuple(s.got.shape)}; expected {s.expected_shape}. "
                          "forward must use the head named by its second argument.",
                when=lambda s: isinstance(s.got, torch.Tensor) and s.got.shape != s.expected.shape),
    ]
    output_named = "the output of head {choice!r}"
    mistakes = [
        Mistake("The trunk needs a ReLU after its Linear layer: `self.heads[head](torch.relu(self.trunk(x)))`.",
                when=lambda s: checks.close(s.got, s.layers[s.choice](s.layers["trunk"](s.x)))),
    ]
    otherwise = "`model(x, {choice!r})` is not `heads[{choice!r}](relu(trunk(x)))`."

    def choices(self, i, h, heads):
        return list(heads)

    def inputs(self, in_features, *_):
        return checks.hidden_input(5, in_features)

    def parameter_count(self, i, h, heads):
        return (i * h + h) + sum((h + 1) * n for n in heads.values())

    def layers(self, seen):
        i, h, heads = seen.sizes
        where = seen.modules(nn.ModuleDict)[0][0]
        return {"trunk": LinearLayer(i, h, f"the shared trunk ({i} → {h})"),
                **{name: LinearLayer(h, n, f"the head {name!r} ({h} → {n})", under=f"{where}.{name}")
                   for name, n in heads.items()}}

    def expected(self, layers, x, head):
        return layers[head](torch.relu(layers["trunk"](x)))


def _keys(seen) -> list:
    """The keys of the answer's (first) ModuleDict, sorted."""
    where = seen.modules(nn.ModuleDict)[0][0]
    return sorted(entry.name[len(where) + 1:] for entry in checks.children_of(seen.model.tree(), where))


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


class GrowingNetDebug(GrowingModel):
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
    batch, growths, steps = (16, 1), 2, 2
    notes = ("count", "output")
    block_size = 2 * (width * width + width)      # one Block(width): expand and project
    mistakes = [
        Mistake(lambda g: f"After `grow` the new block is missing from `parameters()` and `state_dict()`: PyTorch "
                          f"does not see what `self.{g.hidden[0]}` holds, so saving the network loses the block, and "
                          "`.to(device)` or an optimizer built from `parameters()` never reach it.",
                when=lambda g: g.hidden),
        Mistake("The second call of `grow` added no parameters: the new block took the first one's place. A name "
                "used twice (`add_module('new', ...)`, `setattr`) replaces the layer silently; appending to a "
                "container adds one each time.", when=lambda g: g.added == 0 and g.growth > 1),
        Mistake("After `grow` the network has no more parameters than before: the new block is not part of it.",
                when=lambda g: g.added == 0),
        Mistake(lambda g: f"`grow` added {g.added} parameters; one `Block({g.exercise.width})` has "
                          f"{g.exercise.block_size}. Add exactly one block per call.",
                when=lambda g: g.added != g.exercise.block_size),
        Mistake(lambda g: f"Growing changed the network's output (largest difference {g.change:.4g}): right after "
                          "`grow` the network no longer computes what it had learned.",
                when=lambda g: g.change is not None),
        Mistake(lambda g: f"The new block's parameters have requires_grad=False ({', '.join(g.frozen)}): they get no "
                          "gradient, so training never changes them. Leave requires_grad at its default (True).",
                when=lambda g: g.frozen),
        Mistake("The new block never takes part in forward: after a backward pass its parameters have no gradient "
                "at all (`.grad` is None), so nothing could ever train it.", when=lambda g: g.untouched),
        Mistake(lambda g: f"The optimizer passed to `grow` does not hold {len(g.missing)} of the network's "
                          f"parameters ({', '.join(g.missing)}): `optimizer.step()` leaves them exactly as they were "
                          "created, however long the network trains.", when=lambda g: g.missing),
        Mistake(lambda g: f"The optimizer forgot what it had learned about '{g.forgotten[0]}' (Adam's running "
                          "averages are gone): keep the optimizer and call `optimizer.add_param_group`.",
                when=lambda g: g.forgotten),
        Mistake("The new block did not change in two training steps: the optimizer holds its parameters but leaves "
                "them as they are. Give them the optimizer's own learning rate, and keep requires_grad=True.",
                when=lambda g: not g.moved),
        Mistake("After two training steps the new block's weights are still exactly as they were created; only its "
                "biases moved. Its weights get no gradient, so the block can never learn anything but a constant.",
                when=lambda g: not g.moved_weights),
    ]

    def reference_answer(self):
        namespace = {"torch": torch, "nn": nn, "Block": Block}
        exec(compile(self.solution_code, f"<solution of {self.id}>", "exec"), namespace)
        return namespace["GrowingNet"]

    def model(self, answer):
        return checks.instantiate(answer, self.width)

    def grower(self, answer, model):
        try:
            grow = model.attribute("grow")
        except AttributeError:
            grow = None
        if not (isinstance(grow, Answer) and grow.info.get("callable")):
            raise Incorrect("Your GrowingNet has no `grow` method: keep `def grow(self, optimizer):` from the "
                            "broken version and fix what it does.")
        return grow, ()


q5 = GrowingNetDebug()
