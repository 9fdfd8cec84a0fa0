"""Modules that return their input (`nn.Identity`, `Dropout` in eval, a `Lambda` returning `x`)
are drawn where the code puts them: a shortcut in parallel, a no-op layer in series.

Issue 22: lesson 08's `DigitNet` drew `res1`'s `Identity` shortcut in series before `conv1`,
because the module hands back the very tensor object it received and the tracer linked every
later user of `x` to it. Checked on the plain-data graph (edges), not on the picture's text.
"""

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lesson_models import LESSON_MODELS  # noqa: E402

from course_utils.pictures import draw_graph, explain_shape_error, trace_shapes
from course_utils.pictures.tracing import trace_forward


def titled(picture, start):
    return [n for n in picture.graph.nodes if n.lines[0].startswith(start)]


def edges_between(picture, source_start, target_start):
    sources = {n.id for n in titled(picture, source_start)}
    targets = {n.id for n in titled(picture, target_start)}
    return [(s, t) for s, t, _ in picture.graph.edges if s in sources and t in targets]


def incoming(picture, node_id):
    return [s for s, t, _ in picture.graph.edges if t == node_id]


def outgoing(picture, node_id):
    return [t for s, t, _ in picture.graph.edges if s == node_id]


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class ShortcutFirst(nn.Module):
    """Lesson 06's order: the shortcut is taken before the main path runs."""

    def __init__(self, shortcut):
        super().__init__()
        self.shortcut = shortcut
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        residual = self.shortcut(x)
        return self.conv1(x) + residual


class ShortcutLast(ShortcutFirst):
    """Lesson 08's order: the main path runs first, the shortcut is read at the join."""

    def forward(self, x):
        return self.conv1(x) + self.shortcut(x)


IMAGE = torch.randn(1, 4, 5, 5)


@pytest.mark.parametrize("block", [ShortcutFirst, ShortcutLast])
@pytest.mark.parametrize("shortcut", [nn.Identity, lambda: Lambda(lambda x: x),
                                      lambda: nn.Dropout(0.5).eval()],
                         ids=["Identity", "Lambda", "Dropout-eval"])
def test_a_pass_through_shortcut_is_drawn_in_parallel(block, shortcut):
    picture = draw_graph(block(shortcut()), IMAGE)
    assert edges_between(picture, "input", "conv1"), "conv1 must read the block's input"
    assert edges_between(picture, "input", "shortcut")
    assert edges_between(picture, "shortcut", "add")
    assert edges_between(picture, "conv1", "add")
    assert not edges_between(picture, "shortcut", "conv1"), "the shortcut was drawn in series"


def test_lesson08_digit_net_draws_res1_identity_shortcut_beside_conv1():
    model, inputs, _ = LESSON_MODELS["lesson08_digit_net"]()
    picture = draw_graph(model, *inputs)
    assert edges_between(picture, "branch.relu", "res1.conv1")
    assert edges_between(picture, "branch.relu", "res1.shortcut: Identity")
    assert not edges_between(picture, "res1.shortcut", "res1.conv1")
    (shortcut,) = titled(picture, "res1.shortcut")
    (add,) = [picture.graph.node(t) for t in outgoing(picture, shortcut.id)]
    assert add.kind == "merge" and add.lines[0] == "add"
    assert edges_between(picture, "res1.conv2", "add")


def test_lesson06_projected_block_with_identity_takes_both_paths_from_its_input():
    model, inputs, _ = LESSON_MODELS["lesson06_projected_identity"]()
    picture = draw_graph(model, *inputs)
    assert edges_between(picture, "input", "conv1") and edges_between(picture, "input", "shortcut")
    assert not edges_between(picture, "shortcut", "conv1")
    assert edges_between(picture, "shortcut", "add") and edges_between(picture, "conv2", "add")


@pytest.mark.parametrize("name", sorted(LESSON_MODELS))
def test_every_identity_in_the_lessons_feeds_only_a_join(name):
    model, inputs, _ = LESSON_MODELS[name]()
    picture = draw_graph(model, *inputs)
    for node in titled(picture, ""):
        if not node.lines[0].endswith(": Identity"):
            continue
        (source,) = incoming(picture, node.id)
        targets = [picture.graph.node(t) for t in outgoing(picture, node.id)]
        assert [t.kind for t in targets] == ["merge"], node.lines[0]
        siblings = [picture.graph.node(t).lines[0] for t in outgoing(picture, source)]
        block = node.lines[0].split(": ")[0].rsplit("shortcut", 1)[0]
        assert f"{block}conv1" in {s.split(": ")[0] for s in siblings}, siblings


def test_dropout_in_eval_stays_in_series():
    model, inputs, _ = LESSON_MODELS["dropout_in_eval_in_series"]()
    picture = draw_graph(model, *inputs)
    assert edges_between(picture, "0: Linear", "1: Dropout")
    assert edges_between(picture, "1: Dropout", "2: ReLU")
    assert not edges_between(picture, "0: Linear", "2: ReLU")


def test_a_no_op_layer_on_the_main_path_of_a_residual_block():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.3)
            self.fc = nn.Linear(5, 5)

        def forward(self, x):
            return self.fc(self.drop(x)) + x

    picture = draw_graph(Block().eval(), torch.randn(2, 5))
    assert edges_between(picture, "input", "drop") and edges_between(picture, "drop", "fc")
    assert edges_between(picture, "fc", "add") and edges_between(picture, "input", "add")
    assert not edges_between(picture, "drop", "add") and not edges_between(picture, "input", "fc")


def test_relu_inplace_changes_x_itself_so_later_users_of_x_read_it():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.relu, self.fc2 = nn.Linear(3, 4), nn.ReLU(inplace=True), nn.Linear(4, 2)

        def forward(self, x):
            x = self.fc1(x)
            self.relu(x)  # result not assigned: x itself was changed
            return self.fc2(x)

    picture = draw_graph(Net(), torch.randn(2, 3))
    assert not [c for c in picture.trace.calls if c.passes_through]  # it changed the values
    assert edges_between(picture, "fc1", "relu") and edges_between(picture, "relu", "fc2")
    assert not edges_between(picture, "fc1", "fc2")
    chain = draw_graph(nn.Sequential(nn.Linear(3, 4), nn.ReLU(inplace=True), nn.Linear(4, 2)),
                       torch.randn(2, 3))
    assert edges_between(chain, "0:", "1:") and edges_between(chain, "1:", "2:")
    assert not edges_between(chain, "0:", "2:")


def test_an_in_place_operation_is_not_the_source_of_calls_that_ran_before_it():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(3, 3), nn.Linear(3, 3)

        def forward(self, x):
            x = x.clone()
            y = self.fc1(x)
            x.mul_(2)
            return y + self.fc2(x)

    picture = draw_graph(Net(), torch.randn(2, 3))
    assert edges_between(picture, "clone", "fc1") and edges_between(picture, "clone", "mul")
    assert edges_between(picture, "mul", "fc2")
    assert not edges_between(picture, "mul", "fc1")


def test_the_alias_changes_no_value_no_table_and_not_the_model_input():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.same, self.fc = nn.Identity(), nn.Linear(3, 3)

        def forward(self, x):
            pair = Lambda(lambda t: (t, t.sum()))(x)
            return self.fc(self.same(x)) + pair[0]

    torch.manual_seed(0)
    model, x = Net(), torch.randn(2, 3)
    before = x.clone()
    trace = trace_forward(model, (x,))
    assert torch.equal(trace.output, model(x)) and torch.equal(x, before)
    assert [c.name for c in trace.calls if c.passes_through] == ["same"]
    table = str(trace_shapes(model, x))
    assert "view" not in table and table.count("Identity") == 1
    assert edges_between(draw_graph(model, x), "input", "add")


def test_a_model_that_returns_its_input_is_drawn_input_to_output():
    picture = draw_graph(nn.Identity(), torch.randn(2, 3))
    assert [(picture.graph.node(s).kind, picture.graph.node(t).kind)
            for s, t, _ in picture.graph.edges] == [("input", "output")]


def test_explainer_names_the_identity_shortcut_that_kept_the_wrong_channels():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.shortcut = nn.Conv2d(3, 8, 3, padding=1), nn.Identity()

        def forward(self, x):
            return self.conv(x) + self.shortcut(x)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem, self.block = nn.Conv2d(1, 3, 1), Block()

        def forward(self, x):
            return self.block(self.stem(x))

    explanation = explain_shape_error(Net(), torch.randn(1, 1, 4, 4))
    assert explanation.kind == "residual_channels"
    assert ("with (1, 3, 4, 4) from `block.shortcut` (Identity), which passed on the input of "
            "`block` itself (the shortcut) unchanged.") in str(explanation)
    assert "`nn.Conv2d(3, 8, kernel_size=1)`" in str(explanation)
