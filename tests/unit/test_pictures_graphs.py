"""Drawings checked structurally (node kinds and edges), with and without Graphviz's dot."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seed_models import SEED_MODELS  # noqa: E402

from course_utils.pictures import draw_autograd, draw_graph, picture as picture_module


def build(name):
    return SEED_MODELS[name]()


def titled(picture, start):
    return [n for n in picture.graph.nodes if n.lines[0].startswith(start)]


def edges_between(picture, source_start, target_start):
    sources = {n.id for n in titled(picture, source_start)}
    targets = {n.id for n in titled(picture, target_start)}
    return [(s, t) for s, t, _ in picture.graph.edges if s in sources and t in targets]


@pytest.fixture
def no_dot(monkeypatch):
    """Graphviz missing: `dot` not on PATH, and the hint not yet shown this session."""
    monkeypatch.setattr(picture_module.shutil, "which", lambda *args, **kwargs: None)
    monkeypatch.setattr(picture_module, "_message_shown", False)


def test_branches_join_in_a_cat_node_that_feeds_the_final_layer():
    model, inputs, _ = build("002_my_complex_stack")
    picture = draw_graph(model, *inputs)
    (cat,) = titled(picture, "cat dim=1")
    assert cat.kind == "merge"
    assert edges_between(picture, "branch1.1: ReLU", "cat")
    assert edges_between(picture, "branch2.1: ReLU", "cat")
    assert edges_between(picture, "cat", "final_linear: Linear(35 → 5)")
    assert edges_between(picture, "input", "branch1.0") and edges_between(picture, "input", "branch2.0")
    assert {label for label, _ in picture.graph.clusters.values()} == {
        "branch1: Sequential", "branch2: Sequential"}


def test_depth_one_folds_each_branch_into_one_box():
    model, inputs, _ = build("002_my_complex_stack")
    picture = draw_graph(model, *inputs, depth=1)
    assert [n.lines[0] for n in picture.graph.nodes if n.kind == "module"] == [
        "branch1: Sequential", "branch2: Sequential", "final_linear: Linear(35 → 5)"]
    assert edges_between(picture, "branch1: Sequential", "cat")
    assert picture.graph.clusters == {}


def test_residual_add_takes_the_shortcut_from_the_block_input():
    model, inputs, _ = build("000_residual_block")
    picture = draw_graph(model, *inputs)
    (add,) = titled(picture, "add")
    assert add.kind == "merge"
    assert edges_between(picture, "input", "add"), "the shortcut arrow is missing"
    assert edges_between(picture, "conv2", "add")
    assert edges_between(picture, "add", "output")


def test_conditional_layer_appears_only_when_it_runs():
    for name, expected in (("000_dynamic_layer_net_on", True), ("000_dynamic_layer_net_off", False)):
        model, inputs, _ = build(name)
        picture = draw_graph(model, *inputs)
        assert bool(titled(picture, "linear2")) is expected
        assert bool(titled(picture, "relu (call 2): ReLU")) is expected  # relu is used twice


def test_failing_model_is_drawn_up_to_a_red_node_and_raises_nothing():
    model, inputs, _ = build("000_resnet_like")
    picture = draw_graph(model, *inputs)
    errors = [n for n in picture.graph.nodes if n.kind == "error"]
    assert [n.lines[0] for n in errors] == ["add"]
    assert not titled(picture, "output")
    assert "failed in operation add" in repr(picture)
    autograd = draw_autograd(model, *inputs)
    assert "not drawn — the forward pass failed" in repr(autograd)
    assert "<svg" in autograd.svg


def test_autograd_graph_names_parameters_and_marks_joins():
    model, inputs, _ = build("003_skip_model")
    picture = draw_autograd(model, *inputs)
    params = sorted(n.lines[0] for n in picture.graph.nodes if n.kind == "parameter")
    assert params == ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]
    (add,) = titled(picture, "AddBackward0")
    assert add.kind == "merge"
    into_add = [s for s, t, _ in picture.graph.edges if t == add.id]
    assert len(into_add) == 2  # fc2's output and the skip from fc1
    assert edges_between(picture, "AddBackward0", "output")


def test_autograd_of_a_tensor_with_params_dict():
    model, inputs, _ = build("002_my_complex_stack")
    out = model(*inputs)
    named = draw_autograd(out, params=dict(model.named_parameters()))
    anonymous = draw_autograd(out)
    assert "CatBackward0 ×1" in repr(named) and "final_linear.weight" in repr(named)
    assert "leaf tensor" in {n.lines[0] for n in anonymous.graph.nodes}
    assert draw_autograd(torch.ones(2)).graph.edges == []


def test_dot_source_is_deterministic_and_free_of_addresses():
    sources = set()
    for _ in range(2):
        model, inputs, _ = build("004_weighted_addition")
        sources.add(draw_autograd(model, *inputs).source + draw_graph(model, *inputs).source)
    (source,) = sources
    assert "0x" not in source and "alpha" in source


@pytest.mark.skipif(picture_module.dot_program() is None, reason="Graphviz dot not installed")
def test_with_dot_the_svg_comes_from_graphviz(capsys):
    model, inputs, _ = build("002_my_complex_stack")
    picture = draw_graph(model, *inputs)
    assert picture.renderer == "dot"
    svg = picture._repr_svg_()
    assert svg.startswith("<svg") and svg.count('class="node"') == len(picture.graph.nodes)
    assert capsys.readouterr().out == ""


def test_without_dot_every_drawing_renders_with_the_fallback(no_dot, capsys, tmp_path):
    summaries = []
    for name in sorted(SEED_MODELS):
        model, inputs, kwargs = build(name)
        for picture in (draw_graph(model, *inputs, **kwargs), draw_autograd(model, *inputs, **kwargs)):
            assert picture.renderer == "fallback"
            svg = picture._repr_svg_()
            assert svg.startswith("<svg") and svg.count('class="node"') == len(picture.graph.nodes)
            assert svg.count('class="edge"') == len(picture.graph.edges)
            summaries.append(repr(picture))
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.count("apt-get install graphviz") == 1  # once per session
    assert "conda install graphviz" in captured.out
    path = picture.save(tmp_path / "g.svg")
    assert Path(path).read_text().startswith("<svg")


def test_summary_is_the_same_with_and_without_dot(monkeypatch):
    model, inputs, _ = build("000_branching_conv_net")
    with_dot = repr(draw_graph(model, *inputs)), repr(draw_autograd(model, *inputs))
    monkeypatch.setattr(picture_module.shutil, "which", lambda *a, **k: None)
    monkeypatch.setattr(picture_module, "_message_shown", True)
    without = repr(draw_graph(model, *inputs)), repr(draw_autograd(model, *inputs))
    assert with_dot == without


def test_a_failing_dot_program_falls_back(monkeypatch, capsys):
    monkeypatch.setattr(picture_module, "_message_shown", False)
    monkeypatch.setattr(picture_module, "dot_program", lambda: "/nonexistent/dot")
    model, inputs, _ = build("003_simple_model")
    picture = draw_graph(model, *inputs)
    assert picture.svg.startswith("<svg") and picture.renderer == "fallback"
    assert "apt-get install graphviz" in capsys.readouterr().out
