"""``GrowingModel`` (``course_utils.exercises.kinds.growing``) on a small exercise declared here: right
growths in other styles pass; each declared mistake is named, in order, on the growth where it shows
(the second one for a block that replaces the first); the optimizer's refusals are said in the course's
words with the student's line; and the facts a mistake does not read are never fetched (no training
step is taken for a growth refused earlier). Lesson 07's q2 and q5 are tested by their bank."""

import copy

import pytest
import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.kinds import GrowingModel, Mistake
from course_utils.exercises.testing import assert_check_errored, assert_check_failed, assert_check_passed
from course_utils.probes import client

HINTS = ["Look at the statement.", "Read the solution."]
WIDTH = 3
LAYER = WIDTH * WIDTH + WIDTH


class GrowByOne(GrowingModel):
    id, title, why, hints = "lesson90.q7", "Grow by one residual layer", "Told, kept, trained.", HINTS
    what, group = "`grow`", "the new layer's parameters"
    batch, growths, steps = (8, 2), 2, 1
    notes, container = ("layers", "count", "output"), "layers"
    mistakes = [
        Mistake("Hidden in `self.{hidden[0]}`.", when=lambda g: g.hidden),
        Mistake("Growth {growth}: `layers` grew by {grown}.", when=lambda g: g.grown != 1),
        Mistake("Growth {growth} added {added} parameters.", when=lambda g: g.added != LAYER),
        Mistake("The output changed by {change:.2g}.", when=lambda g: g.change is not None),
        Mistake(lambda g: f"Frozen: {', '.join(g.frozen)}.", when=lambda g: g.frozen),
        Mistake("Never used in forward.", when=lambda g: g.untouched),
        Mistake(lambda g: checks.not_in_optimizer(g.missing), when=lambda g: g.missing),
        Mistake("Forgot '{forgotten[0]}'.", when=lambda g: g.forgotten),
        Mistake(lambda g: f"Did not move (lr={g.lr_of(g.new[0])}).", when=lambda g: not g.moved),
        Mistake("Only biases moved.", when=lambda g: not g.moved_weights),
    ]

    def model(self, answer):
        return checks.instantiate(answer, WIDTH)

    def grower(self, answer, model):
        return model.attribute("grow"), ()


grow_by_one = GrowByOne()


class Net(nn.Module):
    """h + layer(h) for each grown layer; the right growth: zeroed, appended, handed to the optimizer."""

    def __init__(self, width):
        super().__init__()
        self.width = width
        self.stem, self.head = nn.Linear(2, width), nn.Linear(width, 2)
        self.layers = nn.ModuleList()

    def new_layer(self):
        layer = nn.Linear(self.width, self.width)
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)
        return layer

    def grow(self, optimizer):
        layer = self.new_layer()
        self.layers.append(layer)
        optimizer.add_param_group({"params": layer.parameters()})

    def forward(self, x):
        h = torch.relu(self.stem(x))
        for layer in self.layers:
            h = h + layer(torch.relu(h))
        return self.head(h)


class SequentialLayers(Net):
    def __init__(self, width):
        super().__init__(width)
        self.layers = nn.Sequential()

    def grow(self, optimizer):
        with torch.no_grad():
            layer = nn.Linear(self.width, self.width)
            layer.weight.zero_()
            layer.bias.zero_()
        self.layers.add_module(f"added{len(self.layers)}", layer)
        optimizer.add_param_group({"params": [layer.weight, layer.bias], "lr": 0.05})


class EveryUnknownParameter(Net):
    def grow(self, optimizer):
        self.layers.append(self.new_layer())
        known = {id(p) for group in optimizer.param_groups for p in group["params"]}
        optimizer.add_param_group({"params": [p for p in self.parameters() if id(p) not in known]})


@pytest.mark.parametrize("answer", [Net, SequentialLayers, EveryUnknownParameter])
def test_a_right_growth_in_any_style_passes(answer):
    assert_check_passed(grow_by_one, answer)


def grown(grow):
    """Net with another ``grow``: a wrong answer in one method."""
    return type(grow.__name__, (Net,), {"grow": grow})


class PlainList(Net):
    def __init__(self, width):
        super().__init__(width)
        del self.layers          # Net's ModuleList: a plain list in its place
        self.layers = []


def _twice(self, optimizer):
    Net.grow(self, optimizer)
    Net.grow(self, optimizer)


def _random(self, optimizer):
    layer = nn.Linear(self.width, self.width)
    self.layers.append(layer)
    optimizer.add_param_group({"params": layer.parameters()})


def _under_one_name(self, optimizer):
    layer = self.new_layer()
    self.layers = nn.ModuleList([layer])
    optimizer.add_param_group({"params": layer.parameters()})


def _frozen(self, optimizer):
    layer = self.new_layer().requires_grad_(False)
    self.layers.append(layer)
    optimizer.add_param_group({"params": layer.parameters()})


def _not_told(self, optimizer):
    self.layers.append(self.new_layer())


def _optimizer_rebuilt(self, optimizer):
    self.layers.append(self.new_layer())
    optimizer.__init__(self.parameters(), lr=0.01)


def _stem_copied(self, optimizer):      # a copy is a new parameter to Adam: its running averages are gone
    self.stem = copy.deepcopy(self.stem)
    optimizer.add_param_group({"params": self.stem.parameters()})
    Net.grow(self, optimizer)


def _zero_lr(self, optimizer):
    layer = self.new_layer()
    self.layers.append(layer)
    optimizer.add_param_group({"params": layer.parameters(), "lr": 0.0})


class Unused(Net):
    def forward(self, x):
        return self.head(torch.relu(self.stem(x)))


class OnlyBiasesLearn(Net):
    """The new layer multiplies a zeroed input: its weight gets a zero gradient, its bias moves."""

    def forward(self, x):
        h = torch.relu(self.stem(x))
        for layer in self.layers:
            h = h + layer(0 * h)
        return self.head(h)


@pytest.mark.parametrize("answer, message", [
    (PlainList, "Hidden in `self.layers`."),
    (grown(_twice), "Growth 1: `layers` grew by 2."),
    (grown(_under_one_name), "Growth 2: `layers` grew by 0."),
    (grown(_random), "The output changed by"),
    (grown(_frozen), "Frozen: layers.0.weight, layers.0.bias."),
    (Unused, "Never used in forward."),
    (grown(_not_told), "The optimizer does not know 2 parameters of the model (layers.0.weight, layers.0.bias)"),
    (grown(_optimizer_rebuilt), "Forgot 'stem.weight'."),
    (grown(_stem_copied), "Forgot 'stem.weight'."),
    (grown(_zero_lr), "Did not move (lr=0.0)."),
    (OnlyBiasesLearn, "Only biases moved."),
])
def test_each_mistake_is_named_on_the_growth_where_it_shows(answer, message):
    assert_check_failed(grow_by_one, answer, match=message)


def _generator(self, optimizer):
    layer = self.new_layer()
    self.layers.append(layer)
    optimizer.add_param_group(layer.parameters())


def _given_twice(self, optimizer):
    self.layers.append(self.new_layer())
    optimizer.add_param_group({"params": self.parameters()})


def _a_layer(self, optimizer):
    layer = self.new_layer()
    self.layers.append(layer)
    optimizer.add_param_group({"params": layer})


@pytest.mark.parametrize("grow, message, line", [
    (_generator, "`optimizer.add_param_group` takes one parameter group, a dict, and you gave it a generator: write "
                 "`optimizer.add_param_group({'params': ...})` with the new layer's parameters",
     "optimizer.add_param_group(layer.parameters())"),
    (_given_twice, "You gave the optimizer parameters it already had (PyTorch refuses a parameter in two groups): "
                   "the new group holds the new layer's parameters only.",
     'optimizer.add_param_group({"params": self.parameters()})'),
    (_a_layer, "a layer itself is not its parameters, `layer.parameters()` is.",
     'optimizer.add_param_group({"params": layer})'),
])
def test_what_the_optimizer_refuses_is_said_in_the_courses_words_with_the_students_line(grow, message, line):
    outcome = assert_check_failed(grow_by_one, grown(grow), match=message)
    assert f"`{line}`" in outcome.message


def test_an_error_no_wording_knows_stays_an_error_in_the_students_code():
    def _typo(self, optimizer):
        self.layers.append(self.new_layer())
        optimizer.add_param_grup({"params": self.layers[-1].parameters()})

    outcome = assert_check_errored(grow_by_one, grown(_typo), match="AttributeError")
    assert outcome.location.place == "test_kinds_growing.py"


def test_a_fact_no_mistake_reaches_is_never_fetched(monkeypatch):
    """A growth refused on its first mistake costs no training steps and no optimizer questions."""
    asked = []
    real = client.Session.requests

    def requests(self, batch):
        asked.extend(fields.get("method") or op for op, fields in batch)
        return real(self, batch)

    monkeypatch.setattr(client.Session, "requests", requests)
    grow_by_one.evaluate(grown(_twice))
    assert asked.count("step") == 1                     # the step before the first growth, none after it
    assert "optimizer_missing" not in asked and "forgotten" not in asked
    asked.clear()
    grow_by_one.evaluate(grown(_zero_lr))
    assert asked.count("step") == 1 + grow_by_one.steps      # the step before growing, then ``moved``'s
