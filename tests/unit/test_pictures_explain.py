"""The shape-error explainer on the mistakes students make, each with the words it must say."""

import re
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seed_models import SEED_MODELS, MyComplexStack, ResidualBlock  # noqa: E402

from course_utils.pictures import explain_shape_error


class WrongInFeatures(MyComplexStack):
    def __init__(self):
        super().__init__(10, 15, 20, 5)
        self.final_linear = nn.Linear(20, 5)  # forgot that cat adds 15 + 20


class WrongCatDim(MyComplexStack):
    def __init__(self):
        super().__init__(10, 15, 20, 5)

    def forward(self, x):
        return self.final_linear(torch.cat((self.branch1(x), self.branch2(x)), dim=0))


class MissingFlatten(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(16 * 16 * 16, 10)

    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.conv(x))))


def wrong_conv_channels():
    return nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Conv2d(8, 32, 3))


IMAGE = torch.zeros(1, 3, 32, 32)
VECTOR = torch.zeros(1, 10)

CASES = {
    "wrong in_features": (WrongInFeatures(), (VECTOR,), "in_features", [
        "layer `final_linear` (Linear 20 → 5) received 35 features (shape (1, 35)) but expects 20.",
        "They were produced by `torch.cat` (dim=1) of `branch1` (1, 15) and `branch2` (1, 20).",
        "make the layer `nn.Linear(35, 5)`"]),
    "wrong cat dim": (WrongCatDim(), (VECTOR,), "cat_dim", [
        "`torch.cat` along dim 0 needs every other dimension to be equal",
        "(1, 15) from `branch1` (Sequential) and (1, 20) from `branch2` (Sequential)",
        "they differ in dim 1.", "Did you mean `dim=1`? Joining along dim 1 gives (1, 35)."]),
    "channel mismatch in a residual add": (SEED_MODELS["000_resnet_like"]()[0], (IMAGE,),
                                           "residual_channels", [
        "`+` in `res_block1` combines (1, 64, 32, 32) from `res_block1.conv2` (Conv2d 64 → 64, 3×3)",
        "with (1, 3, 32, 32) from the input of `res_block1` itself (the shortcut).",
        "differ in dim 1 (64 vs 3)", "`nn.Conv2d(3, 64, kernel_size=1)`"]),
    "missing flatten": (MissingFlatten(), (IMAGE,), "missing_flatten", [
        "layer `fc` (Linear 4096 → 10) received a tensor of shape (1, 16, 16, 16) from `pool` (MaxPool2d).",
        "that is 16 features, not the 4096 it expects.",
        "`torch.flatten(x, 1)` or `nn.Flatten()` gives (1, 4096), since 16 × 16 × 16 = 4096."]),
    "wrong conv channels": (wrong_conv_channels(), (IMAGE,), "conv_channels", [
        "layer `2` (Conv2d 8 → 32, 3×3) expects 8 input channels but received 16",
        "produced by `1` (ReLU), which kept the shape it got from `0` (Conv2d 3 → 16, 3×3).",
        "`nn.Conv2d(16, 32, kernel_size=3)`"]),
    "residual add with a different image size": (ResidualBlock(3, 3), (IMAGE,), "ok", []),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_mistake_is_explained_in_plain_words(case, capsys):
    model, inputs, kind, phrases = CASES[case]
    explanation = explain_shape_error(model, *inputs)
    assert explanation.kind == kind
    for phrase in phrases:
        assert phrase in explanation.text
    assert "Traceback" not in explanation.text
    assert not re.search(r"0x[0-9a-f]{6,}", explanation.text)  # no memory addresses
    assert phrase_in_html(explanation, phrases)
    assert capsys.readouterr().err == ""


def phrase_in_html(explanation, phrases):
    """Each phrase is in the HTML, its `backticked` parts as <code>, no backtick left over."""
    import html
    page = explanation._repr_html_()
    as_html = [re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(p)) for p in phrases]
    return "`" not in page and all(p in page for p in as_html)


def test_backticks_become_code_in_html():
    explanation = explain_shape_error(SEED_MODELS["000_resnet_like"]()[0], IMAGE)
    page = explanation._repr_html_()
    assert "<code>+</code> in <code>res_block1</code> combines (1, 64, 32, 32)" in page
    assert "`" not in page
    assert "`+` in `res_block1` combines" in explanation.text  # the text keeps markdown


def test_the_pytorch_message_is_kept_for_reference():
    explanation = explain_shape_error(WrongInFeatures(), VECTOR)
    assert "(PyTorch said: RuntimeError: mat1 and mat2 shapes cannot be multiplied (1x35 and 20x5))" \
        in explanation.text
    assert not explanation.ok


def test_a_working_model_is_reported_with_its_shape_table():
    model, inputs, _ = SEED_MODELS["000_dynamic_layer_net_on"]()
    explanation = explain_shape_error(model, *inputs)
    assert explanation.ok and explanation.kind == "ok"
    assert explanation.text.startswith(
        "The forward pass of DynamicLayerNet ran without a shape error: input (1, 10), True → output (1, 5).")
    assert "relu (call 2)" in explanation.text
    assert "<table>" in explanation._repr_html_()


def test_an_error_that_is_not_about_shapes_is_named_as_such():
    model, inputs, _ = SEED_MODELS["000_dynamic_layer_net_on"]()
    explanation = explain_shape_error(model, inputs[0])  # forgot `condition`
    assert "This is a TypeError, not a shape mismatch." in explanation.text
    assert "missing 1 required positional argument: 'condition'" in explanation.text


def test_the_explainer_never_raises_even_when_its_analysis_breaks(monkeypatch):
    from course_utils.pictures import explain as explain_module

    def broken(*args):
        raise ValueError("analysis bug")

    monkeypatch.setattr(explain_module, "_explain_linear", broken)
    explanation = explain_shape_error(WrongInFeatures(), VECTOR)
    assert "no further explanation is available (ValueError)" in explanation.text
