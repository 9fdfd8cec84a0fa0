"""PyTorch's errors, said in the course's words: which of the student's layers received what.

Why: a check that runs the student's model can meet PyTorch's own messages, "mat1 and mat2
shapes cannot be multiplied (4x256 and 384x10)" or "'NoneType' object is not callable". They say
what PyTorch saw, in its terms. ``explain(error, model)`` turns the ones a wrong answer commonly
raises into a sentence about the student's module (the layer by its registered name, read from
the probed module tree) and ends it with the student's own line (``checks.mistake_in_your_code``).
An exercise adds what the mistake means for it (``advice``). An error it does not know stays as it
is: the engine then shows it as an error in the student's code, with their line.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

from course_utils.exercises.checks.answers import call, mistake_in_your_code
from course_utils.exercises.engine import Incorrect

_LINEAR = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")
_CONV = re.compile(r"weight of size \[(\d+), (\d+), (\d+), (\d+)\], expected input\[([\d, ]+)\] to have "
                   r"(\d+) channels, but got (\d+) channels instead")
_ADD = re.compile(r"The size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) "
                  r"at non-singleton dimension (\d+)")
_CAT = re.compile(r"Sizes of tensors must match except in dimension (\d+)\. Expected size (\d+) but got "
                  r"size (\d+) for tensor number (\d+)")
_STACK = re.compile(r"stack expects each tensor to be equal size, but got \[([\d, ]*)\] at entry (\d+) "
                    r"and \[([\d, ]*)\] at entry (\d+)")
_BATCH = re.compile(r"Expected input batch_size \((\d+)\) to match target batch_size \((\d+)\)")
_TOO_SMALL = re.compile(r"Given input size: \(([\dx]+)\)\. Calculated output size: \(([\dx]+)\)")
IMAGES = ("batch", "channels", "height", "width")
VECTORS = ("batch", "features")


def explain(error: BaseException, model=None, subject: str = "your model", advice: str = "",
            dims: tuple = IMAGES) -> Incorrect | None:
    """The course's message for ``error`` (raised while the check ran ``subject``), or None.

    ``model`` (a probed ``Answer`` of a module) lets the message name the layer that received the
    wrong input; ``advice`` is the exercise's own sentence, added after PyTorch's fact; ``dims``
    names the dimensions of the tensors that meet in an addition (images or feature vectors).
    """
    text = str(error)
    found = _what_happened(text, model, dims)
    if found is None:
        return None
    message = f"{_capital(subject)} raised an error: {found}"
    if advice:
        message += f" {advice}"
    return mistake_in_your_code(error, message)


@contextmanager
def worded(model=None, subject: str = "your model", advice: str = "", dims: tuple = IMAGES,
           kinds: tuple = (RuntimeError, TypeError)):
    """Run the student's code inside ``with worded(...):``; an error of ``kinds`` that ``explain``
    knows leaves as the course's ``Incorrect``, any other as it came."""
    try:
        yield
    except kinds as error:
        translated = explain(error, model, subject, advice, dims)
        if translated is None:
            raise
        raise translated from None


def call_model(model, *inputs, what: str = "your model"):
    """``checks.call`` on a model with its PyTorch errors in the course's words (the layer that received
    the wrong input, the student's line): a forward the check needs the value of."""
    with worded(model, what, dims=dims_of(inputs)):
        return call(model, *inputs, what=what)


def run_model(model, *inputs, what: str = "your model", **options):
    """``model.run`` (a probed forward, and a backward when asked: ``backward=gradient``) with PyTorch's
    errors in the course's words: a forward the check needs the record of (its gradients, its ops)."""
    with worded(model, what, dims=dims_of(inputs)):
        return model.run(*inputs, **options)


def dims_of(inputs) -> tuple:
    """The names of the dimensions of the tensors a model receives: images (4-D) or feature vectors."""
    return IMAGES if any(getattr(x, "dim", lambda: 0)() == 4 for x in inputs) else VECTORS


def _what_happened(text: str, model, dims) -> str | None:
    if (match := _LINEAR.search(text)) is not None:
        rows, got, expected, out = map(int, match.groups())
        layer = _layer(model, "Linear", lambda s: s.get("in_features") == expected and s.get("out_features") == out)
        return (f"{layer or 'a Linear layer'} (Linear, {expected} → {out} features) received {got} features "
                f"per sample: its in_features must be what the layers before it produce.")
    if (match := _CONV.search(text)) is not None:
        out, expected, kh, kw = map(int, match.groups()[:4])
        got = int(match.group(7))
        layer = _layer(model, "Conv2d", lambda s: s.get("in_channels") == expected and s.get("out_channels") == out
                       and tuple(s.get("kernel_size") or ()) == (kh, kw))
        return (f"{layer or 'a convolution'} (Conv2d, {expected} → {out} channels, {kh}×{kw}) received "
                f"{got} channels: its in_channels must be what reaches it.")
    if (match := _ADD.search(text)) is not None:
        a, b, dim = map(int, match.groups())
        name = dims[dim] if dim < len(dims) else f"dimension {dim}"
        return (f"two tensors added (or multiplied element by element) have different {name}: {a} in one, "
                f"{b} in the other. `+` needs the same shape on both sides.")
    if (match := _CAT.search(text)) is not None:
        dim, first, other, number = map(int, match.groups())
        return (f"torch.cat along dim={dim} needs every other dimension to match, but tensor number {number} of "
                f"the list has size {other} where the first has {first}.")
    if (match := _STACK.search(text)) is not None:
        return (f"torch.stack needs tensors of exactly the same shape; it got ({match.group(1)}) and "
                f"({match.group(3)}).")
    if "'NoneType' object is not callable" in text:
        return ("forward calls something that is None: an attribute set to None (a shortcut, a layer kept "
                "only in some cases) is called as if it were a layer.")
    if "a leaf Variable that requires grad is being used in an in-place operation" in text \
            or "modified by an inplace operation" in text:
        return ("an in-place operation (`inplace=True`, `+=`, a method ending in `_`) overwrote a tensor that "
                "autograd still needs.")
    if "does not require grad and does not have a grad_fn" in text:
        return ("the output is not connected to any parameter: nothing that computed it was recorded by "
                "autograd, so no gradient can go back from it.")
    if "Inference tensors cannot be saved for backward" in text:
        return ("a tensor computed under `torch.inference_mode()` took part in training: nothing computed "
                "there can be trained through.")
    if (match := _BATCH.search(text)) is not None:
        return f"the loss received {match.group(1)} rows of scores for {match.group(2)} labels."
    if (match := _TOO_SMALL.search(text)) is not None:
        return (f"a layer's window no longer fits the image: an input of {match.group(1)} (channels×height×width) "
                f"would give {match.group(2)}.")
    if "Trying to backward through the graph a second time" in text:
        return ("`backward()` ran twice through the same graph: after the first call PyTorch frees what it "
                "saved. Call it once per loss.")
    if "could not infer output dtype" in text and "Bool" in text:
        return ("`.mean()` of a tensor of True/False values: turn it into numbers first, `.float().mean()`.")
    if "expected target dtype to be Long" in text or "multi-target not supported" in text:
        return ("the loss received labels in a form it does not take: `F.cross_entropy(scores, labels)` wants the "
                "labels as they come, one class index (a long integer) per image.")
    if "object has no attribute 'grad'" in text:
        return ("something that is not a parameter was treated as one: functions such as "
                "`clip_grad_norm_` take the parameters, `model.parameters()`, not the model.")
    if "must have the same dtype" in text or "expected scalar type" in text:
        return f"tensors of two different dtypes met ({text.split(':')[-1].strip()})."
    return None


def _layer(model, kind: str, fits) -> str:
    """'the layer `head.fc`': the registered layer of ``kind`` whose settings fit ('' if none or unsure)."""
    if model is None:
        return ""
    try:
        entries = model.tree()
    except Exception:   # noqa: BLE001 - not a module (a function's answer): name no layer
        return ""
    names = []
    for entry in entries:
        if (entry.type == kind or entry.is_a(kind)) and fits(entry.settings) and entry.name not in names:
            names.append(entry.name)
    if len(names) != 1:
        return ""
    return f"the layer `{names[0]}`" if names[0] else "your module itself"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
