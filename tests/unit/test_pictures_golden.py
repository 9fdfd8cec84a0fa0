"""Golden files: the exact text of the shape table, module tree and picture summaries of every
seed model, and the forward graph (summary and every edge) of the lessons' residual blocks and
networks. Regenerate with ``pytest tests/unit/test_pictures_golden.py --update-golden`` and
read the diff before committing: a change here changes what every lesson prints.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lesson_models import LESSON_MODELS  # noqa: E402
from seed_models import FAILING, SEED_MODELS  # noqa: E402

from course_utils.pictures import draw_autograd, draw_graph, show_modules, trace_shapes

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "pictures"


def update_golden(request) -> bool:
    try:
        return bool(request.config.getoption("--update-golden"))
    except ValueError:  # option not registered (tests/conftest.py without it)
        return False


def compare(request, name: str, text: str):
    path = GOLDEN / name
    if update_golden(request):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
        return
    assert path.exists(), f"{path} missing: run pytest with --update-golden"
    assert text + "\n" == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("seed_name", sorted(SEED_MODELS))
def test_shape_table_matches_golden(request, seed_name):
    model, inputs, kwargs = SEED_MODELS[seed_name]()
    compare(request, f"{seed_name}.shapes.txt", str(trace_shapes(model, *inputs, **kwargs)))


@pytest.mark.parametrize("seed_name", sorted(SEED_MODELS))
def test_module_tree_matches_golden(request, seed_name):
    model, _, _ = SEED_MODELS[seed_name]()
    compare(request, f"{seed_name}.modules.txt", str(show_modules(model)))


@pytest.mark.parametrize("seed_name", sorted(SEED_MODELS))
def test_picture_summaries_match_golden(request, seed_name):
    model, inputs, kwargs = SEED_MODELS[seed_name]()
    text = "\n".join([repr(draw_graph(model, *inputs, **kwargs)),
                      repr(draw_graph(model, *inputs, depth=1, **kwargs)),
                      repr(draw_autograd(model, *inputs, **kwargs))])
    compare(request, f"{seed_name}.pictures.txt", text)


def edge_list(picture) -> str:
    """The plain-data graph as text, one edge a line: a shortcut in series shows up here."""
    titles = {node.id: node.lines[0] for node in picture.graph.nodes}
    lines = [repr(picture)]
    lines += [f"  {s} {titles[s]} -> {t} {titles[t]}" + (f"  [{label}]" if label else "")
              for s, t, label in picture.graph.edges]
    return "\n".join(lines)


@pytest.mark.parametrize("lesson_name", sorted(LESSON_MODELS))
def test_lesson_forward_graphs_match_golden(request, lesson_name):
    model, inputs, kwargs = LESSON_MODELS[lesson_name]()
    text = "\n".join([edge_list(draw_graph(model, *inputs, **kwargs)),
                      edge_list(draw_graph(model, *inputs, depth=1, **kwargs))])
    compare(request, f"{lesson_name}.graph.txt", text)


def test_every_failing_seed_says_so_in_its_table():
    for name in FAILING:
        model, inputs, kwargs = SEED_MODELS[name]()
        assert "the forward pass failed in" in str(trace_shapes(model, *inputs, **kwargs))
    for name in set(SEED_MODELS) - FAILING:
        model, inputs, kwargs = SEED_MODELS[name]()
        assert "failed" not in str(trace_shapes(model, *inputs, **kwargs))
