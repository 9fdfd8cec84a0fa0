"""The widgets' callbacks, driven without a browser: set a value, read what was redrawn."""

import os
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from widget_models import AdaptiveLayer, ConditionalNet, build_stack  # noqa: E402

import course_utils  # noqa: E402
from course_utils import widgets  # noqa: E402
from course_utils.widgets._output import ERROR_TITLE, shown_text  # noqa: E402


def n_params(*modules):
    return sum(p.numel() for m in modules for p in m.parameters())


def shown_data(out):
    """The mime bundles shown in an Output, comparable across redraws."""
    return [item.get("data", item.get("text")) for item in out.outputs]


# --- predict -------------------------------------------------------------------------------

@pytest.fixture
def question():
    return widgets.predict(
        "What is `nn.Linear(10, 5)(torch.randn(3, 10)).shape`?",
        ["(3, 5)", "(5, 3)", "(10, 5)"],
        "(3, 5)",
        "The batch dimension 3 is kept; 10 features become 5.",
    )


def test_reveal_is_disabled_until_an_option_is_chosen(question):
    assert question.choice.value is None
    assert question.reveal_button.disabled
    assert question.feedback.value == ""
    question.choice.value = "(5, 3)"
    assert not question.reveal_button.disabled


def test_revealing_the_right_answer_says_so_and_explains(question):
    question.choice.value = "(3, 5)"
    question.reveal_button.click()
    assert question.revealed and question.correct
    assert question.feedback_text.startswith("✔ Right: (3, 5).")
    assert "The batch dimension 3 is kept" in question.feedback_text
    assert question.choice.disabled and question.reveal_button.disabled


def test_revealing_a_wrong_prediction_names_both_answers(question):
    question.choice.value = "(10, 5)"
    question.reveal_button.click()
    assert question.correct is False
    assert "Not quite: you chose (10, 5); the answer is (3, 5)." in question.feedback_text
    assert "10 features become 5" in question.feedback_text


def test_question_text_is_escaped_and_backticks_become_code():
    widget = widgets.predict("Is `a<b` shown?", ["yes", "no"], "yes", "<script>")
    assert "<code>a&lt;b</code>" in widget.question_label.value
    widget.choice.value = "no"
    widget.reveal()
    assert "<script>" not in widget.feedback.value and "&lt;script&gt;" in widget.feedback.value


def test_answer_must_be_one_of_the_options():
    with pytest.raises(ValueError, match="answer '4' is not one of the options"):
        widgets.predict("2 + 2?", ["3", "5"], "4", "")


def test_text_fallback_lists_the_question_and_options(question):
    text = question._repr_mimebundle_()["text/plain"]
    assert text.splitlines() == [
        "Predict: What is `nn.Linear(10, 5)(torch.randn(3, 10)).shape`?",
        "  ( ) (3, 5)", "  ( ) (5, 3)", "  ( ) (10, 5)",
    ]


def test_an_error_in_the_reveal_callback_is_shown_not_swallowed(question):
    question.reveal_button.click()  # forced click with no choice: reveal() raises
    assert isinstance(question.last_error, RuntimeError)
    assert f"{ERROR_TITLE}: RuntimeError: choose an option" in shown_text(question.output)
    assert "Traceback" in shown_text(question.output)


# --- layer_toggles -------------------------------------------------------------------------

@pytest.fixture
def toggles():
    torch.manual_seed(0)
    model = ConditionalNet(10, 20, 5)
    widget = widgets.layer_toggles(
        model, torch.randn(2, 10),
        switches={"adaptive layer": "adaptive_layer.add_condition", "head": "arg:condition"},
        initial={"head": False},
    )
    return model, widget


def test_initial_draw_shows_shape_and_parameters_used(toggles):
    model, widget = toggles
    assert widget.last_error is None
    assert widget.shape_label.value == "output shape: (2, 20)"
    used, total = n_params(model.initial_layer), n_params(model)
    assert widget.params_label.value == f"parameters used: {used:,} of {total:,} registered"
    assert widget.graph_output.outputs, "nothing was drawn"


def test_last_redraw_ms_is_the_wall_time_of_the_latest_redraw():
    """Bracketed by the test's own clock: not a stale, summed or mis-scaled figure."""
    torch.manual_seed(0)
    start = time.perf_counter()
    widget = widgets.layer_toggles(
        ConditionalNet(10, 20, 5), torch.randn(2, 10),
        switches={"adaptive layer": "adaptive_layer.add_condition"})
    built_ms = (time.perf_counter() - start) * 1000
    first = widget.last_redraw_ms
    assert 0 < first <= built_ms
    start = time.perf_counter()
    widget.checkboxes["adaptive layer"].value = True
    toggled_ms = (time.perf_counter() - start) * 1000
    assert widget.redraws == 2
    assert 0 < widget.last_redraw_ms <= toggled_ms
    assert widget.last_redraw_ms != first, "last_redraw_ms was not updated by the redraw"


def test_toggling_a_flag_layer_redraws_and_toggling_back_restores(toggles):
    model, widget = toggles
    before = (widget.shape_label.value, widget.params_label.value, shown_data(widget.graph_output))
    widget.checkboxes["adaptive layer"].value = True
    assert model.adaptive_layer.add_condition is True
    assert widget.shape_label.value == "output shape: (2, 40)"
    used = n_params(model.initial_layer, model.adaptive_layer)
    assert widget.used_parameters == used
    assert f"parameters used: {used:,} of" in widget.params_label.value
    assert shown_data(widget.graph_output) != before[2], "the graph was not redrawn"
    assert "adaptive_layer.linear" in widget.modules_ran
    widget.checkboxes["adaptive layer"].value = False
    after = (widget.shape_label.value, widget.params_label.value, shown_data(widget.graph_output))
    assert after == before
    assert widget.redraws == 3


def test_each_area_is_replaced_in_one_step_so_the_browser_never_sees_it_empty(toggles):
    _, widget = toggles
    seen = []
    widget.graph_output.observe(lambda change: seen.append(len(change["new"])), names="outputs")
    widget.shape_label.observe(lambda change: seen.append(change["new"]), names="value")
    widget.checkboxes["adaptive layer"].value = True
    assert len(seen) == 2 and seen[0] == "output shape: (2, 40)" and seen[1] >= 1


def test_an_argument_switch_is_passed_to_forward(toggles):
    model, widget = toggles
    widget.checkboxes["adaptive layer"].value = True
    widget.checkboxes["head"].value = True
    assert widget.forward_kwargs() == {"condition": True}
    assert widget.shape_label.value == "output shape: (2, 5)"
    assert widget.used_parameters == widget.total_parameters == n_params(model)


def test_a_failing_forward_is_shown_in_the_output_area(toggles):
    _, widget = toggles
    widget.checkboxes["head"].value = True  # head expects 40 features, gets 20
    assert isinstance(widget.last_error, RuntimeError)
    text = shown_text(widget.graph_output)
    assert f"{ERROR_TITLE}: RuntimeError: mat1 and mat2 shapes cannot be multiplied" in text
    assert widget.shape_label.value == "output shape: (forward failed, see below)"
    widget.checkboxes["adaptive layer"].value = True  # now consistent again
    assert widget.last_error is None
    assert ERROR_TITLE not in shown_text(widget.graph_output)
    assert widget.shape_label.value == "output shape: (2, 5)"


def test_initial_values_come_from_the_model_and_forward_defaults():
    model = ConditionalNet()
    model.adaptive_layer.add_condition = True
    widget = widgets.layer_toggles(model, torch.randn(1, 10), graph=False, switches={
        "adaptive": "adaptive_layer.add_condition", "head": "arg:condition"})
    assert widget.checkboxes["adaptive"].value is True
    assert widget.checkboxes["head"].value is False  # forward(x, condition=False)
    assert widget.shape_label.value == "output shape: (1, 40)"


def test_shared_parameters_are_counted_once():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 4)
            self.twice = False

        def forward(self, x):
            x = self.layer(x)
            return self.layer(x) if self.twice else x

    model = Twice()
    widget = widgets.layer_toggles(model, torch.randn(1, 4), graph=False,
                                   switches={"twice": "twice"})
    widget.checkboxes["twice"].value = True
    assert widget.used_parameters == widget.total_parameters == 20


def test_bad_switches_are_reported_when_the_widget_is_built():
    with pytest.raises(AttributeError, match="AdaptiveLayer has no attribute 'enabled'"):
        widgets.layer_toggles(ConditionalNet(), torch.randn(1, 10),
                              switches={"x": "adaptive_layer.enabled"})
    with pytest.raises(TypeError, match="forward has no parameter 'flag'"):
        widgets.layer_toggles(ConditionalNet(), torch.randn(1, 10), switches={"x": "arg:flag"})
    with pytest.raises(ValueError, match="at least one switch"):
        widgets.layer_toggles(ConditionalNet(), torch.randn(1, 10), switches={})


def test_graph_falls_back_to_text_when_drawing_fails(monkeypatch):
    def broken_draw_graph(*args, **kwargs):
        raise RuntimeError("dot not found")

    monkeypatch.setattr(course_utils, "draw_graph", broken_draw_graph, raising=False)
    monkeypatch.setattr(course_utils, "trace_shapes", broken_draw_graph, raising=False)
    monkeypatch.setattr(course_utils, "show_modules", broken_draw_graph, raising=False)
    model = AdaptiveLayer(3, 6, add_condition=True)
    widget = widgets.layer_toggles(model, torch.randn(1, 3), switches={"on": "add_condition"})
    assert widget.last_error is None and widget.graph_note == "text"
    text = shown_text(widget.graph_output)
    assert "graph unavailable: RuntimeError: dot not found" in text
    assert "modules that ran: (AdaptiveLayer) -> linear -> relu" in text


def test_graph_is_drawn_with_the_switches_applied(monkeypatch):
    calls = []

    class Picture:
        def __init__(self, text):
            self.text = text

        def _repr_mimebundle_(self, **kwargs):
            return {"text/plain": self.text}

    def fake_draw_graph(model, *inputs, **kwargs):
        calls.append(kwargs)
        return Picture(f"graph of {tuple(model(*inputs, **kwargs).shape)}")

    monkeypatch.setattr(course_utils, "draw_graph", fake_draw_graph, raising=False)
    widget = widgets.layer_toggles(ConditionalNet(), torch.randn(1, 10),
                                   switches={"a": "adaptive_layer.add_condition",
                                             "head": "arg:condition"})
    assert shown_text(widget.graph_output) == "graph of (1, 20)"
    widget.checkboxes["a"].value = True
    widget.checkboxes["head"].value = True
    assert widget.graph_note == "graph"
    assert shown_text(widget.graph_output) == "graph of (1, 5)"
    assert calls == [{"condition": False}, {"condition": False}, {"condition": True}]


# --- gradient_flow -------------------------------------------------------------------------

def test_gradient_norms_match_autograd_and_follow_layer_order():
    torch.manual_seed(0)
    model = build_stack(3, skip=False, width=4)
    x = torch.randn(5, 4)
    norms = widgets.gradient_norms(model, x)
    assert [name for name, _ in norms] == ["0.linear.weight", "1.linear.weight",
                                           "2.linear.weight", "3.weight"]
    loss = model(x).pow(2).mean()
    expected = torch.autograd.grad(loss, [model[0].linear.weight, model[3].weight])
    assert norms[0][1] == pytest.approx(float(expected[0].norm()))
    assert norms[3][1] == pytest.approx(float(expected[1].norm()))


def test_gradient_norms_use_the_given_loss_and_report_unused_layers_as_zero():
    model = ConditionalNet(3, 4, 2)  # adaptive layer off, head off: only initial_layer runs
    x = torch.randn(2, 3)
    norms = dict(widgets.gradient_norms(model, x, loss_fn=lambda out: out.sum()))
    expected = torch.autograd.grad(model(x).sum(), model.initial_layer.weight)[0].norm()
    assert norms["initial_layer.weight"] == pytest.approx(float(expected))
    assert norms["adaptive_layer.linear.weight"] == 0.0 and norms["head.weight"] == 0.0


def test_skips_keep_the_first_layers_gradient_from_vanishing():
    x = torch.randn(32, 16)
    plain = widgets.gradient_norms(build_stack(16, skip=False), x)
    residual = widgets.gradient_norms(build_stack(16, skip=True), x)
    assert plain[0][1] < 1e-2 * plain[-1][1]
    assert residual[0][1] > 1e-1 * residual[-1][1]


@pytest.fixture
def flow():
    return widgets.gradient_flow(build_stack, torch.randn(32, 16), depths=(2, 4, 8), depth=4)


def png_of(out):
    (item,) = out.outputs
    return item["data"]["image/png"]


def test_gradient_flow_draws_a_plot_at_once(flow):
    assert flow.last_error is None
    assert len(flow.norms) == 5  # four blocks and the head
    assert png_of(flow.plot_output)
    assert flow.summary_label.value.startswith("depth 4, plain: first layer")


def test_switching_skips_redraws_the_plot_and_switching_back_restores_it(flow):
    first_png, first_norms = png_of(flow.plot_output), flow.norms
    first_summary = flow.summary_label.value
    flow.skip_checkbox.value = True
    skip_png = png_of(flow.plot_output)
    assert skip_png != first_png
    assert flow.norms != first_norms and flow.comparison == first_norms
    assert flow.summary_label.value.startswith("depth 4, with skips")
    assert flow.plot_output.outputs[0]["data"]["text/plain"] == flow.summary_label.value
    flow.skip_checkbox.value = False
    assert flow.norms == first_norms  # rebuilt from the same seed
    assert flow.summary_label.value == first_summary
    assert png_of(flow.plot_output) != skip_png


def test_the_plot_is_replaced_in_one_step(flow):
    seen = []
    flow.plot_output.observe(lambda change: seen.append(len(change["new"])), names="outputs")
    flow.skip_checkbox.value = True
    assert seen == [1]


def test_the_depth_slider_rebuilds_the_model(flow):
    flow.depth_slider.value = 8
    assert len(flow.norms) == 9
    assert flow.summary_label.value.startswith("depth 8")
    assert flow.redraws == 2


def test_redraws_leave_the_global_random_stream_alone(flow):
    torch.manual_seed(1)
    expected = torch.rand(3)
    torch.manual_seed(1)
    flow.skip_checkbox.value = True
    assert torch.equal(torch.rand(3), expected)


def test_an_error_while_building_is_shown_in_the_plot_area():
    def build(depth, skip):
        if depth > 4:
            raise ValueError("depth too large for this demo")
        return build_stack(depth, skip)

    widget = widgets.gradient_flow(build, torch.randn(4, 16), depths=(2, 4, 8), depth=2)
    widget.depth_slider.value = 8
    assert isinstance(widget.last_error, ValueError)
    assert f"{ERROR_TITLE}: ValueError: depth too large" in shown_text(widget.plot_output)
    assert widget.summary_label.value == "(the update failed, see below)"
    with pytest.raises(ValueError, match="depth=3 is not one of"):
        widgets.gradient_flow(build, torch.randn(4, 16), depths=(2, 4), depth=3)


# --- benchmark -----------------------------------------------------------------------------

def test_the_benchmark_measures_every_widget():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "widgets.py"
    spec = importlib.util.spec_from_file_location("benchmark_widgets", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    widget_redraw_ms = benchmark.widget_redraw_ms

    threads = torch.get_num_threads()
    before, start = os.times(), time.perf_counter()
    try:
        results = widget_redraw_ms(repeats=1)
    finally:
        torch.set_num_threads(threads)
    wall_ms = (time.perf_counter() - start) * 1000
    after = os.times()
    cpu_ms = 1000 * sum(getattr(after, f) - getattr(before, f) for f in
                        ("user", "system", "children_user", "children_system"))
    assert [name.split(" ")[0] for name in results] == ["layer_toggles", "gradient_flow", "predict"]
    assert all(set(r) == {"wall_ms", "cpu_ms"} for r in results.values())
    # each figure is one timed toggle inside this call: positive, and together no more than
    # the whole call took by the test's own clocks (not a sum over repeats, not mis-scaled)
    assert all(r["wall_ms"] > 0 for r in results.values())
    assert sum(r["wall_ms"] for r in results.values()) <= wall_ms
    assert sum(r["cpu_ms"] for r in results.values()) <= cpu_ms + 1e-6
