"""Exercises of lesson 07 (networks that change): a condition in forward, growing a model the
optimizer knows about, a growth step that keeps the function, heads chosen by name, and
debugging a growing network whose new blocks are lost, disruptive and never trained.

Layers are found by their weight shapes (the sizes make each shape unique), never by attribute
name, so any correct spelling passes; the reference output is computed from the student's own
weights, so nothing has to be copied.
"""

import copy
import inspect

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect


def linear_with_shape(model: nn.Module, out_features: int, in_features: int, role: str) -> nn.Linear:
    """The registered ``nn.Linear(in_features, out_features)`` of ``model`` (its ``role`` for messages)."""
    for module in model.modules():
        if isinstance(module, nn.Linear) and module.weight.shape == (out_features, in_features):
            return module
    shapes = ", ".join(f"Linear({m.in_features}, {m.out_features})"
                       for m in model.modules() if isinstance(m, nn.Linear)) or "none"
    raise Incorrect(f"No registered `nn.Linear({in_features}, {out_features})` for {role}; "
                    f"your registered Linear layers: {shapes}.")


def close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, atol=1e-5, rtol=1e-4)


def positional_parameters(function) -> int:
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
               for p in inspect.signature(function).parameters.values())


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
    solution = '''
class ConditionalNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.first = nn.Linear(in_features, hidden_features)
        self.extra = nn.Linear(hidden_features, hidden_features)
        self.last = nn.Linear(hidden_features, out_features)

    def forward(self, x, use_extra):
        h = torch.relu(self.first(x))
        if use_extra:
            h = torch.relu(self.extra(h))
        return self.last(h)
'''

    def check_answer(self, answer):
        model = checks.instantiate(answer, 4, 8, 3)
        if positional_parameters(model.forward) < 2:
            raise Incorrect(f"`forward` must take the switch as a second argument, like "
                            f"`def forward(self, x, use_extra):`; yours is `forward{inspect.signature(model.forward)}`.")
        checks.expect_parameter_count(model, 40 + 72 + 27)
        first = linear_with_shape(model, 8, 4, "the first layer (4 → 8)")
        extra = linear_with_shape(model, 8, 8, "the extra layer (8 → 8)")
        last = linear_with_shape(model, 3, 8, "the output layer (8 → 3)")
        x = checks.hidden_input(5, 4)
        with torch.no_grad():
            on, off = model(x, True), model(x, False)
            checks.expect_shape(on, (5, 3), "the output with use_extra=True")
            checks.expect_shape(off, (5, 3), "the output with use_extra=False")
            h = torch.relu(first(x))
            expected_on, expected_off = last(torch.relu(extra(h))), last(h)
            if close(on, off):
                raise Incorrect("Your model gives the same output whether the switch is True or False: "
                                "`forward` must use its second argument (`if use_extra: ...`).")
            if close(on, expected_off) and close(off, expected_on):
                raise Incorrect("The switch works the wrong way round: the extra layer runs when the "
                                "argument is False. Use `if use_extra:`, not `if not use_extra:`.")
            if close(on, torch.relu(expected_on)) or close(off, torch.relu(expected_off)):
                raise Incorrect("Your output goes through a ReLU at the end, so it can never be negative. "
                                "Return the output layer's result as it is.")
            if close(on, last(extra(h))):
                raise Incorrect("With use_extra=True, put a ReLU after the extra layer too: "
                                "`h = torch.relu(self.extra(h))`.")
            if not close(off, expected_off):
                raise Incorrect("With use_extra=False the output is not `last(relu(first(x)))`: "
                                "check the order of the layers and the ReLU after the first one.")
            if not close(on, expected_on):
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
    solution = '''
def add_layer(model, optimizer):
    new_layer = nn.Linear(model.width, model.width)
    model.layers.append(new_layer)
    optimizer.add_param_group({"params": new_layer.parameters()})
    return new_layer
'''

    def check_answer(self, answer):
        model = GrowingStack(6)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        x, target = checks.hidden_input(5, 6), checks.hidden_input(5, 6, seed=99)
        self._train_step(model, optimizer, x, target)
        depth = len(model.layers)
        try:
            checks.call(answer, model, optimizer, what="`add_layer`")
        except ValueError as error:
            if "more than one parameter group" not in str(error):
                raise
            raise Incorrect("You gave the optimizer parameters it already had (PyTorch refuses a parameter "
                            "in two groups): pass only the new layer's parameters.") from None
        grown = len(model.layers) - depth
        if grown == 0:
            raise Incorrect("`model.layers` did not grow: append the new layer to `model.layers`.")
        if grown != 1:
            raise Incorrect(f"`model.layers` grew by {grown} layers; add exactly one.")
        new_layer = model.layers[-1]
        if not (isinstance(new_layer, nn.Linear) and new_layer.weight.shape == (6, 6)):
            raise Incorrect(f"The new layer must be `nn.Linear(model.width, model.width)` "
                            f"(here Linear(6, 6)) so the stack still fits together; yours is {new_layer}.")
        checks.expect_optimizer_covers(optimizer, model)
        if any(not optimizer.state.get(p) for p in model.layers[0].parameters()):
            raise Incorrect("The optimizer forgot what it had learned about the old layers (Adam's running "
                            "averages are gone): keep the optimizer and call `optimizer.add_param_group`.")
        before = new_layer.weight.detach().clone()
        self._train_step(model, optimizer, x, target)
        if torch.equal(new_layer.weight, before):
            if not all(p.requires_grad for p in new_layer.parameters()):
                raise Incorrect("The new layer's parameters have requires_grad=False, so they get no "
                                "gradient and never move: leave requires_grad at its default (True).")
            lrs = [g["lr"] for g in optimizer.param_groups if any(p is new_layer.weight for p in g["params"])]
            raise Incorrect(f"The new layer's weights did not change after a training step: its parameter "
                            f"group has lr={lrs[0] if lrs else '?'}. Leave out 'lr' to use the optimizer's.")

    @staticmethod
    def _train_step(model, optimizer, x, target):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), target).backward()
        optimizer.step()


q2 = RegisterWithOptimizer()


# --- q3 ---------------------------------------------------------------------------------

def convs_3x3(model: nn.Module) -> list:
    return [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]


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
    solution = '''
class IdentityAtStart(nn.Module):
    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, hidden_channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(hidden_channels, channels, kernel_size=3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x):
        return x + self.conv2(torch.relu(self.conv1(x)))
'''
    sizes = (4, 6)

    def check_answer(self, answer):
        channels, hidden = self.sizes
        block = checks.instantiate(answer, channels, hidden)
        if checks.parameter_count(block) == 0:
            raise Incorrect("Your block has no registered parameters, so it could never learn anything.")
        self._expect_branch(block, channels, hidden)
        # negative values (a ReLU after the sum shows), and a second size (padding shows)
        for x in (checks.hidden_input(2, channels, 5, 5), checks.hidden_input(1, channels, 7, 3, seed=7)):
            with torch.no_grad():
                y = checks.call(block, x, what="your block")
            checks.expect_shape(y, tuple(x.shape), "the block's output")
            if not checks.exactly_equal(y, x):
                self._explain_difference(checks.plain(y), x)
        x = checks.hidden_input(2, channels, 5, 5)
        if not block(x).requires_grad:
            raise Incorrect("No gradient can flow into your block: its output does not depend on any "
                            "trainable parameter. Use the block's layers in forward, and do not detach "
                            "them or set requires_grad=False.")
        if not self._weights_learn(block, x):
            raise Incorrect("Your block starts as the identity but can never learn: no weight gets a "
                            "gradient. Zero only the LAST convolution; if the first one is zero too, "
                            "ReLU(0) = 0 and the last one's gradient stays zero forever.")

    @staticmethod
    def _expect_branch(block, channels, hidden):
        found = {tuple(c.weight.shape): c for c in convs_3x3(block)}
        for shape, role in [((hidden, channels, 3, 3), f"a 3×3 `nn.Conv2d({channels}, {hidden})` (channels → hidden)"),
                            ((channels, hidden, 3, 3), f"a 3×3 `nn.Conv2d({hidden}, {channels})` (hidden → channels)")]:
            if shape not in found:
                yours = ", ".join(f"Conv2d({c.in_channels}, {c.out_channels}, {c.kernel_size[0]}×{c.kernel_size[1]})"
                                  for c in block.modules() if isinstance(c, nn.Conv2d)) or "none"
                raise Incorrect(f"With IdentityAtStart({channels}, {hidden}) the branch needs {role}; your "
                                f"registered convolutions: {yours}.")
            padding = found[shape].padding
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
        per_channel = difference.mean(dim=(2, 3), keepdim=True).expand_as(difference)
        if torch.allclose(difference, per_channel, atol=1e-6) and difference.abs().max() > 0:
            raise Incorrect("Your block adds the same value at every pixel of a channel: that is the last "
                            "convolution's bias. Zero the bias as well as the weight.")
        worst = difference.abs().max().item()
        if worst < 1e-3:
            raise Incorrect(f"Almost, but not exactly: the output differs from the input by up to {worst:.2g}. "
                            "`torch.equal(block(x), x)` needs the branch to be exactly zero: a tiny random "
                            "initialization is not zero; `nn.init.zeros_` is.")
        raise Incorrect(f"When it is created, the block must return its input unchanged "
                        f"(largest difference here {worst:.4f}): zero-initialise the last convolution "
                        f"of the branch, weight and bias.")

    @staticmethod
    def _weights_learn(block, x) -> bool:
        """Some weight gets a gradient now, or after one step (a gate that starts at 0)."""
        block = copy.deepcopy(block)
        target = checks.hidden_input(*x.shape, seed=99)
        optimizer = torch.optim.SGD(block.parameters(), lr=0.1)
        weights = [p for p in block.parameters() if p.dim() >= 2]
        for _ in range(2):
            optimizer.zero_grad()
            nn.functional.mse_loss(block(x), target).backward()
            if any(p.grad is not None and p.grad.abs().sum() > 0 for p in weights):
                return True
            optimizer.step()
        return False


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
    solution = '''
class MultiHeadNet(nn.Module):
    def __init__(self, in_features, hidden_features, heads):
        super().__init__()
        self.trunk = nn.Linear(in_features, hidden_features)
        self.heads = nn.ModuleDict(
            {name: nn.Linear(hidden_features, n) for name, n in heads.items()})

    def forward(self, x, head):
        return self.heads[head](torch.relu(self.trunk(x)))
'''

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
        keys = sorted(dicts[0][1].keys())
        if keys != sorted(heads):
            raise Incorrect(f"The ModuleDict's keys should be the head names {sorted(heads)}; yours are {keys}. "
                            f"Build it from `heads.items()`.")
        checks.expect_parameter_count(model, expected)
        trunk = linear_with_shape(model, 8, 4, "the shared trunk (4 → 8)")
        with torch.no_grad():
            features = torch.relu(trunk(x))
            for name, size in heads.items():
                out = checks.call(model, x, name, what="your model")
                if isinstance(out, torch.Tensor) and out.shape != (5, size):
                    raise Incorrect(f"`model(x, {name!r})` has shape {tuple(out.shape)}; expected (5, {size}). "
                                    f"forward must use the head named by its second argument.")
                checks.expect_shape(out, (5, size), f"the output of head {name!r}")
                head = dicts[0][1][name]
                if close(out, head(trunk(x))) and not close(out, head(features)):
                    raise Incorrect("The trunk needs a ReLU after its Linear layer: "
                                    "`self.heads[head](torch.relu(self.trunk(x)))`.")
                if not close(out, head(features)):
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
    title = "Debug: a growing network whose new blocks are lost, disruptive and never trained"
    why = ("Three quiet failures of growth, each without an error: a plain list hides the block from "
           "PyTorch, a random block changes what the network learned, and an optimizer never told "
           "about the block leaves it as it was born.")
    hints = [
        "After `net.grow(optimizer)`, look at `net.state_dict().keys()`, compare `net(x)` before and "
        "after growing, and ask the optimizer which parameters it has (`optimizer.param_groups`).",
        "Keep the blocks in an `nn.ModuleList`; zero the new block's `project` weight and bias before "
        "appending it; then `optimizer.add_param_group({'params': block.parameters()})`.",
    ]
    solution = '''
class GrowingNet(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.width = width
        self.stem = nn.Linear(1, width)
        self.blocks = nn.ModuleList()
        self.head = nn.Linear(width, 1)

    def grow(self, optimizer):
        block = Block(self.width)
        nn.init.zeros_(block.project.weight)
        nn.init.zeros_(block.project.bias)
        self.blocks.append(block)
        optimizer.add_param_group({"params": block.parameters()})

    def forward(self, x):
        h = torch.relu(self.stem(x))
        for block in self.blocks:
            h = block(h)
        return self.head(h)
'''
    width = 6

    def reference_answer(self):
        namespace = {"torch": torch, "nn": nn, "Block": Block}
        exec(compile(self.solution_code, f"<solution of {self.id}>", "exec"), namespace)
        return namespace["GrowingNet"]

    def check_answer(self, answer):
        model = checks.instantiate(answer, self.width)
        if not callable(getattr(model, "grow", None)):
            raise Incorrect("Your GrowingNet has no `grow` method: keep `def grow(self, optimizer):` from the "
                            "broken version and fix what it does.")
        x, target = checks.hidden_input(16, 1), checks.hidden_input(16, 1, seed=99)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        for growth in (1, 2):
            self._train_step(model, optimizer, x, target)
            self._check_growth(model, optimizer, x, target, growth)

    def _check_growth(self, model, optimizer, x, target, growth):
        known = {id(p) for p in model.parameters()}
        count = checks.parameter_count(model)
        with torch.no_grad():
            before = checks.plain(checks.call(model, x, what="your model"))
        try:
            checks.call(model.grow, optimizer, what="`grow`")
        except ValueError as error:
            if "more than one parameter group" not in str(error):
                raise
            raise checks.mistake_in_your_code(
                error, "You gave the optimizer parameters it already had (PyTorch refuses a parameter in two "
                       "groups): add a group with the new block's parameters only.") from None
        hidden = checks.unregistered_modules(model)
        if hidden:
            raise Incorrect(f"`self.{hidden[0]}` is a plain Python list: the blocks in it are not registered, so "
                            "`model.parameters()`, `state_dict()` and `.to(device)` never see them. Use "
                            "`nn.ModuleList()`.")
        added = checks.parameter_count(model) - count
        block_size = 2 * (self.width * self.width + self.width)
        if added == 0 and growth > 1:
            raise Incorrect("The second call of `grow` added no parameters: it replaced the first block. A name "
                            "used twice (`add_module('new', ...)`, `setattr`) replaces the layer silently; "
                            "`self.blocks.append(block)` adds one each time.")
        if added == 0:
            raise Incorrect("`grow` added no registered parameters: append the new block to a registered "
                            "container such as an `nn.ModuleList`.")
        if added != block_size:
            raise Incorrect(f"`grow` added {added} parameters; one `Block({self.width})` has {block_size}. Add "
                            "exactly one block per call.")
        new = [p for p in model.parameters() if id(p) not in known]
        with torch.no_grad():
            after = checks.plain(checks.call(model, x, what="your model"))
        checks.expect_shape(after, tuple(before.shape), "the output after growing")
        if not checks.exactly_equal(after, before):
            worst = (after - before).abs().max().item()
            raise Incorrect(f"Growing changed the network's output (largest difference {worst:.4g}): a randomly "
                            "initialized block disturbs what the network has learned. Zero the new block's "
                            "`project` layer (weight and bias) before adding it, so it starts as the identity.")
        checks.expect_optimizer_covers(optimizer, model)
        old_state_lost = [name for name, p in model.named_parameters() if id(p) in known and not optimizer.state.get(p)]
        if old_state_lost:
            raise Incorrect(f"The optimizer forgot what it had learned about '{old_state_lost[0]}' (Adam's running "
                            "averages are gone): keep the optimizer and call `optimizer.add_param_group`.")
        values = [p.detach().clone() for p in new]
        self._train_step(model, optimizer, x, target)
        if all(checks.exactly_equal(p, v) for p, v in zip(new, values)):
            raise Incorrect("The new block did not change in a training step: give its parameters to the "
                            "optimizer with the optimizer's own learning rate, and keep requires_grad=True.")

    @staticmethod
    def _train_step(model, optimizer, x, target):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), target).backward()
        optimizer.step()


q5 = GrowingNetDebug()
