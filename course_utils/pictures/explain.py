"""``explain_shape_error``: turn a shape-mismatch error into plain words.

Why: PyTorch says ``mat1 and mat2 shapes cannot be multiplied (1x15 and 20x30)`` from deep
inside ``F.linear``; a student needs to hear *which* layer failed, what it wanted, what it got,
and *where that tensor came from*. The trace (tracing.py) knows all of it: the failing call,
its inputs, and the module or operation that produced each of them.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field

from torch import nn

from .modules import layer_text
from .shapes import ShapeTable
from .tracing import Call, Trace, first_error_line, shape_text, trace_forward

OPERATOR_SIGNS = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
CODE_SPAN = re.compile(r"`([^`]+)`")


def line_html(line: str) -> str:
    """One explanation line as HTML: escaped, and `backticked` words shown as code."""
    return CODE_SPAN.sub(r"<code>\1</code>", html.escape(line))


def layer_words(module: nn.Module) -> str:
    """`Linear 20 → 30`, `Conv2d 16 → 32, 3×3`, `ReLU`."""
    text = layer_text(module)
    return text.replace("(", " ", 1)[:-1] if text.endswith(")") else text


def module_words(call: Call) -> str:
    return f"`{call.label}` ({layer_words(call.module)})"


def origin(trace: Trace, tensor, failed: Call, follow: int = 2) -> str:
    """Where a tensor came from, in words: a module, an operation, the block's own input."""
    block = failed.parent
    if block is not None and block.parent is not None and any(
            t is tensor for t in block.input_tensors):
        return f"the input of `{block.label}` itself (the shortcut)"
    producer = trace.producer_of(tensor, before=failed)
    if producer is None:
        name = trace.parameter_names.get(id(tensor))
        return f"the parameter `{name}`" if name else "a tensor created inside forward"
    if producer.kind == "input":
        return "the model's input"
    if producer.kind == "module":
        words = module_words(producer)
        module = producer.module
        same_shape = (len(producer.input_tensors) == 1 and
                      producer.input_tensors[0].shape == tensor.shape)
        if follow and producer.passes_through and len(producer.input_tensors) == 1:
            before = origin(trace, producer.input_tensors[0], producer, follow - 1)
            return f"{words}, which passed on {before} unchanged"
        if follow and same_shape and not any(True for _ in module.parameters()):
            before = origin(trace, producer.input_tensors[0], producer, follow - 1)
            return f"{words}, which kept the shape it got from {before}"
        return words
    parts = [f"`{p.label}`" if (p := trace.producer_of(t, before=producer)) is not None and p.kind == "module"
             else "the model's input" if p is not None and p.kind == "input" else "a tensor"
             for t in producer.input_tensors]
    joined = " and ".join(f"{who} {shape_text(t.shape)}"
                          for who, t in zip(parts, producer.input_tensors))
    return f"`torch.{producer.name}` ({producer.detail or 'operation'}) of {joined}".replace(
        " (operation)", "")


def _explain_linear(trace, call) -> tuple[str, list]:
    module, x = call.module, call.input_tensors[0]
    want, got = module.in_features, x.shape[-1] if x.dim() else 0
    where = origin(trace, x, call)
    if x.dim() > 2 and math.prod(x.shape[1:]) == want:
        dims = " × ".join(str(s) for s in x.shape[1:])
        return "missing_flatten", [
            f"layer {module_words(call)} received a tensor of shape {shape_text(x.shape)} "
            f"from {where}.",
            f"A Linear layer works on the last dimension only: that is {got} features, "
            f"not the {want} it expects.",
            f"The tensor still has its image layout (batch, channels, height, width). Flatten "
            f"it first: `torch.flatten(x, 1)` or `nn.Flatten()` gives "
            f"({x.shape[0]}, {want}), since {dims} = {want}."]
    return "in_features", [
        f"layer {module_words(call)} received {got} features (shape {shape_text(x.shape)}) "
        f"but expects {want}.",
        f"They were produced by {where}.",
        f"Fix one side: make the layer `nn.Linear({got}, {module.out_features})`, or make "
        f"what feeds it produce {want} features."]


def _explain_conv(trace, call) -> tuple[str, list]:
    module, x = call.module, call.input_tensors[0]
    channel_dim = 1 if x.dim() == len(module.kernel_size) + 2 else 0
    got, want = x.shape[channel_dim], module.in_channels
    if got == want:
        return "other", [f"layer {module_words(call)} could not use its input of shape "
                         f"{shape_text(x.shape)} (from {origin(trace, x, call)})."]
    kernel = ", ".join(str(k) for k in module.kernel_size) if len(set(module.kernel_size)) > 1 \
        else str(module.kernel_size[0])
    return "conv_channels", [
        f"layer {module_words(call)} expects {want} input channels but received {got} "
        f"(shape {shape_text(x.shape)}, channels are dim {channel_dim}).",
        f"They were produced by {origin(trace, x, call)}.",
        f"Fix one side: make the layer `nn.{type(module).__name__}({got}, "
        f"{module.out_channels}, kernel_size={kernel})`, or make what feeds it produce "
        f"{want} channels."]


def _explain_join(trace, call) -> tuple[str, list]:
    tensors = call.input_tensors
    dim = int(call.detail.split("=")[1]) if "=" in call.detail else 0
    ranks = {t.dim() for t in tensors}
    described = " and ".join(f"{shape_text(t.shape)} from {origin(trace, t, call)}"
                             for t in tensors)
    if len(ranks) > 1:
        return "cat_dim", [f"`torch.{call.name}` got tensors with different numbers of "
                           f"dimensions: {described}."]
    ndim = ranks.pop()
    dim = dim % ndim if ndim else 0
    if call.name == "stack":
        return "cat_dim", [f"`torch.stack` needs tensors of exactly the same shape, but got "
                           f"{described}. To join along an existing dimension use `torch.cat`."]
    differing = [d for d in range(ndim) if d != dim and len({t.shape[d] for t in tensors}) > 1]
    lines = [f"`torch.cat` along dim {dim} needs every other dimension to be equal, but it got "
             f"{described}: they differ in dim {', '.join(map(str, differing))}."]
    if len(differing) == 1:
        d = differing[0]
        joined = list(tensors[0].shape)
        joined[d] = sum(t.shape[d] for t in tensors)
        lines.append(f"Did you mean `dim={d}`? Joining along dim {d} gives "
                     f"{shape_text(joined)}.")
    return "cat_dim", lines


def _explain_arithmetic(trace, call) -> tuple[str, list]:
    tensors = call.input_tensors
    if len(tensors) < 2:
        return "other", []
    a, b = tensors[0], tensors[1]
    sign = OPERATOR_SIGNS.get(call.name, call.name)
    width = max(a.dim(), b.dim())
    pa, pb = [1] * (width - a.dim()) + list(a.shape), [1] * (width - b.dim()) + list(b.shape)
    differing = [d for d in range(width) if pa[d] != pb[d] and 1 not in (pa[d], pb[d])]
    where = f" in `{call.parent.label}`" if call.parent is not None and call.parent.parent else ""
    lines = [f"`{sign}`{where} combines {shape_text(a.shape)} from {origin(trace, a, call)} "
             f"with {shape_text(b.shape)} from {origin(trace, b, call)}.",
             "Element-wise operations need equal shapes (or sizes of 1 that broadcast); these "
             "differ in dim " + ", ".join(f"{d} ({pa[d]} vs {pb[d]})" for d in differing) + "."]
    if width == 4 and differing == [1]:
        lines.append(f"That is the channel dimension. In a residual block whose channels change "
                     f"({pb[1]} → {pa[1]}), pass the shortcut through a 1×1 convolution "
                     f"(a projection shortcut): `nn.Conv2d({pb[1]}, {pa[1]}, kernel_size=1)`.")
        return "residual_channels", lines
    return "elementwise", lines


@dataclass
class Explanation:
    """What ``explain_shape_error`` returns; shows as text or HTML, never raises."""

    ok: bool
    kind: str  # "ok", "in_features", "missing_flatten", "conv_channels", "cat_dim", ...
    lines: list
    table: ShapeTable | None = None
    error: str = ""
    extra: list = field(default_factory=list)

    @property
    def text(self) -> str:
        parts = list(self.lines)
        if self.error:
            parts.append(f"(PyTorch said: {self.error})")
        if self.table is not None:
            parts += ["", self.table.text()]
        return "\n".join(parts)

    def __repr__(self):
        return self.text

    __str__ = __repr__

    def _repr_html_(self):
        colour = "#1b5e20" if self.ok else "#b00020"
        body = "".join(f"<p style=\"margin:0.2em 0\">{line_html(line)}</p>"
                       for line in self.lines)
        said = f"<p style=\"color:#666\">(PyTorch said: <code>{html.escape(self.error)}</code>)" \
               f"</p>" if self.error else ""
        table = self.table._repr_html_() if self.table is not None else ""
        return f"<div style=\"border-left:4px solid {colour};padding-left:8px\">{body}{said}" \
               f"</div>{table}"


def explain(trace: Trace) -> Explanation:
    model_name = type(trace.model).__name__
    if trace.error is None:
        outs = ", ".join(trace.root.outputs) if trace.root is not None else "nothing"
        ins = ", ".join(trace.root.inputs) if trace.root is not None else ""
        return Explanation(True, "ok", [f"The forward pass of {model_name} ran without a "
                                        f"shape error: input {ins} → output {outs}."],
                           table=ShapeTable(trace))
    call = trace.failed_call
    message = first_error_line(trace.error)
    kind, lines = "other", []
    if call is not None and call.kind == "module" and call.input_tensors:
        if isinstance(call.module, nn.Linear):
            kind, lines = _explain_linear(trace, call)
        elif isinstance(call.module, nn.modules.conv._ConvNd):
            kind, lines = _explain_conv(trace, call)
    elif call is not None and call.kind == "operation":
        if call.name in ("cat", "concat", "concatenate", "stack"):
            kind, lines = _explain_join(trace, call)
        elif call.name in OPERATOR_SIGNS:
            kind, lines = _explain_arithmetic(trace, call)
    if not lines:
        where = "the model" if call is None or call.parent is None else (
            f"layer {module_words(call)}" if call.kind == "module" else f"`{call.name}`")
        shapes = ", ".join(shape_text(t.shape) for t in call.input_tensors) if call else ""
        lines = [f"The forward pass of {model_name} failed in {where}"
                 + (f", which received {shapes}." if shapes else ".")]
        if not isinstance(trace.error, RuntimeError):
            lines.append(f"This is a {type(trace.error).__name__}, not a shape mismatch.")
    return Explanation(False, kind, lines, error=message)


def explain_shape_error(model: nn.Module, *inputs, **kwargs) -> Explanation:
    """Run ``model(*inputs, **kwargs)``; say in plain words what failed, or show the shapes."""
    trace = trace_forward(model, inputs, kwargs)
    try:
        return explain(trace)
    except Exception as problem:  # the explainer itself must never break a lesson
        return Explanation(False, "other", [
            f"The forward pass of {type(model).__name__} failed "
            f"({first_error_line(trace.error) if trace.error else 'no error'}); no further "
            f"explanation is available ({type(problem).__name__})."])
