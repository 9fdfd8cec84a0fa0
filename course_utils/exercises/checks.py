"""Shared checks that exercise classes call; each raises ``Incorrect`` in the student's terms.

Why here and not in each exercise: the same mistakes recur across lessons (a class passed as
an instance, a forgotten ``super().__init__()``, layers kept in a plain list, a wrong output
shape), and each deserves one well-worded message. Checks are behavioural (outputs on hidden
inputs against a reference, after copying weights) and structural (parameters, module types,
autograd ops); none requires an attribute name unless the exercise asks for it.

Every comparison goes through ``plain()`` and through torch functions this module holds
itself, so an answer cannot pass by lying: a tensor subclass whose ``__torch_function__``
makes ``allclose`` say True, an ``int`` whose ``__eq__`` is always True, or a notebook that
replaced ``torch.allclose`` after importing the course.
"""

from __future__ import annotations

import inspect
import itertools
import re
from pathlib import Path

import torch
from torch import nn

from course_utils.exercises.engine import Incorrect, StudentLine, fresh_inputs, probe_seed, student_line  # noqa: F401
from course_utils.probes.client import Answer, BindError

ATOL, RTOL = 1e-5, 1e-4       # one tolerance for every "same values" in the course
_MODULE_INTERNALS = frozenset(vars(nn.Module()))  # _modules, _parameters, hooks...
FORGOT_SUPER = "before Module.__init__() call"     # torch's words when super().__init__() is missing

# Held at import: a later ``torch.allclose = lambda *a, **k: True`` in a notebook changes nothing here.
_Tensor = torch.Tensor
_allclose, _equal, _no_subclass = torch.allclose, torch.equal, torch._C.DisableTorchFunctionSubclass
_int_of, _float_of = int.__int__, float.__float__


# --- plain values -------------------------------------------------------------------------

def plain(value):
    """The value as a plain ``torch.Tensor``, ``int``, ``float`` or ``bool`` (lists and tuples item by item).

    Why: a subclass decides what comparing it does. ``plain`` keeps the data (and the tensor's
    autograd link) and drops the behaviour, so checks compare what the answer *is*. Anything
    else is returned as it is, for the check to refuse by type.
    """
    kind = type(value)
    if kind is _Tensor or kind in (int, float, bool):
        return value
    if issubclass(kind, _Tensor):
        with _no_subclass():
            return _Tensor.as_subclass(value, _Tensor)
    if issubclass(kind, int):
        return _int_of(value)
    if issubclass(kind, float):
        return _float_of(value)
    if issubclass(kind, list):
        return [plain(item) for item in list.__iter__(value)]
    if issubclass(kind, tuple):
        return tuple(plain(item) for item in tuple.__iter__(value))
    return value


def close(actual, expected, atol: float = ATOL, rtol: float = RTOL) -> bool:
    """True when ``actual`` is a tensor of ``expected``'s shape with values close to it."""
    actual, expected = plain(actual), plain(expected)
    return (type(actual) is _Tensor and actual.shape == expected.shape and actual.dtype == expected.dtype
            and _allclose(actual.detach(), expected.detach(), atol=atol, rtol=rtol))


def equal(actual, expected) -> bool:
    """True when ``actual`` is a tensor equal to ``expected`` element for element (no tolerance)."""
    actual, expected = plain(actual), plain(expected)
    return type(actual) is _Tensor and _equal(actual.detach(), expected.detach())


same, exactly_equal = close, equal  # the names lessons 04-07 use


def mistake_in_your_code(error: BaseException, message: str) -> Incorrect:
    """The course's message for an exception a known mistake raises, ending with the student's line.

    Why: a raw ``RuntimeError: mat1 and mat2 shapes cannot be multiplied`` says what PyTorch
    saw; the student needs to hear which of their choices caused it, and where they made it.
    """
    location = student_line(error)
    if location is not None:
        message += f" ({location.caption()} `{location.source}`)"
    return Incorrect(message)


# --- building and calling the answer ------------------------------------------------------

def instantiate(answer, *args, **kwargs) -> nn.Module:
    """Build the student's module class with ``args``; errors in their ``__init__`` surface."""
    expect_class(answer)
    if isinstance(answer, Answer):
        return _instantiate_probed(answer, args, kwargs)
    _expect_accepts(answer, args, kwargs, f"`{answer.__name__}(...)`")
    try:
        model = answer(*args, **kwargs)
    except AttributeError as error:
        if FORGOT_SUPER not in str(error):
            raise
        raise mistake_in_your_code(error, f"`{answer.__name__}.__init__` must call `super().__init__()` before it "
                                          "assigns a layer: that call creates the registries `self.name = ...` "
                                          "writes into.") from None
    if "_parameters" not in vars(model):
        raise Incorrect(f"`{answer.__name__}.__init__` must call `super().__init__()` before anything else"
                        f"{_where_init(answer)}: without it the module has no registries and cannot run.")
    return model


def _instantiate_probed(answer: Answer, args, kwargs) -> Answer:
    name = answer.name
    try:
        model = answer.run(*args, **kwargs).value
    except BindError as error:
        raise Incorrect(_cannot_call(f"`{name}(...)`", args, kwargs, error, error.signature)) from None
    except AttributeError as error:
        if FORGOT_SUPER not in str(error):
            raise
        raise mistake_in_your_code(error, f"`{name}.__init__` must call `super().__init__()` before it "
                                          "assigns a layer: that call creates the registries `self.name = ...` "
                                          "writes into.") from None
    if not isinstance(model, Answer) or not model.is_module() or model.info.get("registries") is not True:
        raise Incorrect(f"`{name}.__init__` must call `super().__init__()` before anything else"
                        f"{_where(answer.info.get('init'))}: without it the module has no registries and cannot run.")
    return model


def _where(line) -> str:
    if not isinstance(line, dict):
        return ""
    source = str(line.get("source", ""))
    return f" ({StudentLine(str(line.get('place')), int(line.get('lineno') or 0), '', source).caption()} `{source}`)"


def expect_class(answer, name: str | None = None) -> None:
    """The answer must be an ``nn.Module`` subclass (the class itself, not an instance)."""
    if isinstance(answer, Answer):
        if answer.kind == "module":
            name = name or answer.type_name
            raise Incorrect(f"Pass the class itself, not an instance: `check({name})`, not `check({name}(...))`.")
        if answer.kind != "class":
            raise Incorrect(f"Expected a class (an `nn.Module` subclass), got {_kind(answer)}.")
        if not answer.is_module_class():
            raise Incorrect(f"`{answer.name}` does not subclass `nn.Module`: write "
                            f"`class {answer.name}(nn.Module):` so PyTorch can register and find its layers.")
        return
    if isinstance(answer, nn.Module):
        name = name or type(answer).__name__
        raise Incorrect(f"Pass the class itself, not an instance: `check({name})`, not `check({name}(...))`.")
    if not inspect.isclass(answer):
        raise Incorrect(f"Expected a class (an `nn.Module` subclass), got {_kind(answer)}.")
    if not issubclass(answer, nn.Module):
        raise Incorrect(f"`{answer.__name__}` does not subclass `nn.Module`: write "
                        f"`class {answer.__name__}(nn.Module):` so PyTorch can register and find its layers.")


def expect_function(answer, name: str) -> None:
    """The answer must be a plain function (not a module, not a class)."""
    if isinstance(answer, Answer):
        if answer.kind == "module":
            raise Incorrect(f"You passed a module (a {answer.type_name}); pass your function `{name}` itself.")
        if answer.kind == "class" or not answer.info.get("callable"):
            raise Incorrect(f"Pass the function `{name}` (defined with `def`), not {_kind(answer)}.")
        return
    if isinstance(answer, nn.Module):
        raise Incorrect(f"You passed a module (a {type(answer).__name__}); pass your function `{name}` itself.")
    if inspect.isclass(answer) or not callable(answer):
        raise Incorrect(f"Pass the function `{name}` (defined with `def`), not {_kind(answer)}.")


def _where_init(cls) -> str:
    """' (At your cell, line 3: `def __init__(self, fn):`)': where the student's ``__init__`` starts."""
    try:
        lines, lineno = inspect.getsourcelines(cls.__init__)
        filename = inspect.getsourcefile(cls.__init__) or ""
    except (OSError, TypeError):
        return ""
    place = "your cell" if re.search(r"ipykernel_\d+|<ipython-input-", filename) else Path(filename).name
    source = lines[0].strip()
    return f" ({StudentLine(place, lineno, '', source).caption()} `{source}`)"


def call(function, *inputs, what: str = "your answer", **kwargs):
    """Call a student's function or module; a call with the wrong arguments is 'incorrect'."""
    if isinstance(function, Answer):
        if not function.info.get("callable"):
            raise Incorrect(f"Expected {what} to be callable (a function or a module), got {_kind(function)}.")
        try:
            return function(*inputs, **kwargs)
        except BindError as error:
            raise Incorrect(_cannot_call(what, inputs, kwargs, error, error.signature)) from None
    if not callable(function):
        raise Incorrect(f"Expected {what} to be callable (a function or a module), got {_kind(function)}.")
    target = function.forward if isinstance(function, nn.Module) else function
    _expect_accepts(target, inputs, kwargs, what)
    return function(*inputs, **kwargs)


def _expect_accepts(function, args, kwargs, what: str) -> None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as error:
        raise Incorrect(_cannot_call(what, args, kwargs, error, signature)) from None


def cannot_call(what, args, kwargs, error, signature) -> str:
    """'`name` cannot be called with (5): <why>. Its signature is (a, b).'"""
    shown = ", ".join([_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()])
    return f"{what} cannot be called with ({shown}): {error}. Its signature is {signature}."


_cannot_call = cannot_call


def first_line(error: BaseException) -> str:
    """The first line of an error's message (PyTorch's can run to many), or its type's name."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def generator(seed: int) -> torch.Generator:
    """The generator a check draws hidden inputs from: ``seed`` in notebooks, the same on every
    machine and run; under grading mixed with the grader's secret, so inputs are new each run."""
    return torch.Generator().manual_seed(probe_seed(seed))


def hidden_input(*shape: int, seed: int = 1234) -> torch.Tensor:
    """A hidden test input: standard normal values from ``generator(seed)``."""
    return torch.randn(*shape, generator=generator(seed))


# --- values and shapes --------------------------------------------------------------------

def expect_tensor(value, what: str = "your answer") -> torch.Tensor:
    """The value as a plain tensor; anything else (a list, None, a NumPy array) is refused."""
    value = plain(value)
    if type(value) is not _Tensor:
        raise Incorrect(f"Expected {what} to be a tensor, got {_kind(value)}.")
    return value


def expect_int(value, what: str = "your answer") -> int:
    """The value as a Python int; a tensor, a float or a NumPy integer is refused with advice."""
    value = plain(value)
    if type(value) is _Tensor:
        raise Incorrect(f"{_capital(what)} returned a tensor; return a Python int (call `.item()`, or add up ints).")
    if type(value) is not int:
        raise Incorrect(f"{_capital(what)} returned {_kind(value)}; return a Python int.")
    return value


def expect_shape(tensor, shape, what: str = "the output") -> torch.Tensor:
    tensor = expect_tensor(tensor, what)
    if tuple(tensor.shape) != tuple(shape):
        raise Incorrect(f"{_capital(what)} has shape {_shape(tensor.shape)}; expected {_shape(shape)}.")
    return tensor


def expect_close(actual, expected, what: str = "the output", atol: float = ATOL, rtol: float = RTOL) -> None:
    actual = expect_shape(actual, expected.shape, what)
    if actual.dtype != expected.dtype:
        raise Incorrect(f"{_capital(what)} has dtype {actual.dtype}; expected {expected.dtype}.")
    if not close(actual, expected, atol=atol, rtol=rtol):
        worst = (actual.detach() - plain(expected).detach()).abs().max().item()
        raise Incorrect(f"{_capital(what)} differs from the expected values (largest difference {worst:.4g}).")


# --- parameters ---------------------------------------------------------------------------

def parameter_count(model: nn.Module) -> int:
    if isinstance(model, Answer):
        return sum(p.value.numel() for p in unique(model.parameters()) if p.value is not None)
    return sum(p.numel() for p in model.parameters())


def unique(items) -> list:
    """Entries of a probed tree or parameter list, each object once (as PyTorch iterates)."""
    seen, found = set(), []
    for item in items:
        if item.identity not in seen:
            seen.add(item.identity)
            found.append(item)
    return found


def parameter_breakdown(model: nn.Module) -> str:
    """'fc1 (Linear): 220, fc2 (Linear): 105' — which registered modules hold the parameters."""
    if isinstance(model, Answer):
        parts = [f"{e.name or 'the model itself'} ({e.type}): {e.parameter_count():,}"
                 for e in unique(model.tree()) if e.parameter_count()]
        return ", ".join(parts) if parts else "none"
    parts = []
    for name, module in model.named_modules():
        own = sum(p.numel() for p in module.parameters(recurse=False))
        if own:
            parts.append(f"{name or 'the model itself'} ({type(module).__name__}): {own:,}")
    return ", ".join(parts) if parts else "none"


def unregistered_modules(model: nn.Module) -> list[str]:
    """Attributes that hide layers from PyTorch: plain lists, tuples or dicts of modules.

    A plain list that only *aliases* registered layers (``self.steps = [self.fc, self.fc]``)
    is harmless, PyTorch already sees those layers, so it is not reported.
    """
    if isinstance(model, Answer):
        return [f"{e.name}.{attr}" if e.name else attr for e in unique(model.tree()) for attr in e.hidden]
    registered = {id(m) for m in model.modules()}
    hidden = []
    for name, module in model.named_modules():
        for attr, value in vars(module).items():
            if attr in _MODULE_INTERNALS or isinstance(value, nn.Module):
                continue
            items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
            if any(isinstance(item, nn.Module) and id(item) not in registered for item in items):
                hidden.append(f"{name}.{attr}" if name else attr)
    return hidden


def unregistered_tensors(model: nn.Module) -> list[str]:
    """Plain tensor attributes (not ``nn.Parameter``, not buffers): values no optimizer will train."""
    if isinstance(model, Answer):
        return [f"{e.name}.{attr}" if e.name else attr for e in unique(model.tree()) for attr in e.loose_tensors]
    return [f"{name}.{attr}" if name else attr for name, module in model.named_modules()
            for attr, value in vars(module).items()
            if attr not in _MODULE_INTERNALS and isinstance(value, torch.Tensor)]


def expect_parameter_count(model: nn.Module, expected: int) -> None:
    """Total registered parameters; on mismatch say where the student's parameters are."""
    hidden = unregistered_modules(model)
    if hidden:
        names = ", ".join(f"`self.{n}`" for n in hidden)
        raise Incorrect(f"Layers stored in a plain Python list or dict ({names}) are not registered, so PyTorch "
                        f"does not see their parameters: use `nn.ModuleList` / `nn.ModuleDict`, or assign each "
                        f"layer to its own attribute.")
    total = parameter_count(model)
    if total != expected:
        raise Incorrect(f"Your model has {total:,} registered parameters; expected {expected:,}. "
                        f"Where yours are: {parameter_breakdown(model)}.")


def copy_weights(source: nn.Module, target: nn.Module) -> None:
    """Copy every parameter of ``source`` into the free parameter of ``target`` with the same shape.

    The one way the course copies weights. Parameters pair up by shape, in registration order
    among equal shapes, so a student may name or order layers differently; a scalar stored as
    shape () or (1,) matches either way. Buffers (BatchNorm statistics) follow where a buffer
    of that shape exists. Raises ``Incorrect`` naming the first shape ``target`` lacks.
    """
    if isinstance(target, Answer):
        return _copy_weights_probed(source, target)
    with torch.no_grad():
        free = list(target.parameters())
        for param in source.parameters():
            match = _take(free, param)
            if match is None:
                raise Incorrect(f"No parameter of shape {_shape(param.shape)} in your module, so it cannot hold "
                                f"the reference weights. Where yours are: {parameter_breakdown(target)}.")
            match.copy_(param.reshape(match.shape))
        free = list(target.buffers())
        for buffer in source.buffers():
            match = _take(free, buffer)
            if match is not None:
                match.copy_(buffer.reshape(match.shape))


def _copy_weights_probed(source: nn.Module, target: Answer) -> None:
    free = [_Slot(p.name, p.value) for p in unique(target.parameters())]
    values = {}
    for param in source.parameters():
        match = _take(free, param)
        if match is None:
            raise Incorrect(f"No parameter of shape {_shape(param.shape)} in your module, so it cannot hold "
                            f"the reference weights. Where yours are: {parameter_breakdown(target)}.")
        values[match.name] = param.detach()
    free = [_Slot(name, value) for name, value in target.buffers().items()]
    for buffer in source.buffers():
        match = _take(free, buffer)
        if match is not None:
            values[match.name] = buffer.detach()
    target.assign(values)


class _Slot:
    """A tensor of the answer's side, by name and shape, to pair with a reference tensor."""

    def __init__(self, name, value):
        self.name, self.shape = name, value.shape
        self._numel = value.numel()

    def numel(self):
        return self._numel


def _take(free: list, tensor):
    """Remove from ``free`` and return the first tensor of ``tensor``'s shape (or a matching scalar)."""
    match = next((p for p in free if p.shape == tensor.shape), None)
    if match is None:
        match = next((p for p in free if p.numel() == tensor.numel() == 1), None)
    if match is not None:
        free[:] = [p for p in free if p is not match]
    return match


copy_weights_by_shape = copy_weights  # the name lessons 04-07 use


def expect_connected_to_graph(output, what: str = "your output") -> None:
    """An output cut from autograd (``.detach()``, ``torch.no_grad()``) cannot be trained through."""
    if hasattr(output, "connected") and hasattr(output, "changed"):   # a probed Run
        if not output.connected:
            raise Incorrect(f"{_capital(what)} is cut off from autograd (no `grad_fn`): no gradient could reach "
                            "the layers. Don't `.detach()` it or compute it under `torch.no_grad()`.")
        return
    output = plain(output)
    if type(output) is _Tensor and output.grad_fn is None and not output.requires_grad:
        raise Incorrect(f"{_capital(what)} is cut off from autograd (no `grad_fn`): no gradient could reach "
                        "the layers. Don't `.detach()` it or compute it under `torch.no_grad()`.")


def copy_weights_until(source: nn.Module, target: nn.Module, agrees, limit: int = 24) -> bool:
    """Copy ``source``'s layers into ``target``, trying each pairing of same-shaped layers.

    Why: two layers with identical weight shapes (conv1 and conv2 of a block with equal
    channels, fc1 and fc2 of a square MLP) cannot be told apart by shape, and students
    register them in either order. A layer moves as a whole (weight with its bias), and the
    answer is accepted when ``agrees()`` holds for some pairing. Returns False when none
    does, leaving the first pairing in place for later "which mistake is it?" tests.
    """
    if isinstance(target, Answer):
        return _copy_weights_until_probed(source, target, agrees, limit)
    return _first_agreeing_pairing(source, target, _layers_with_parameters(target),
                                   lambda sources, order: _copy_layers(sources, order), agrees, limit)


def _first_agreeing_pairing(source, target, dst, copy, agrees, limit: int) -> bool:
    """Try pairings of ``source``'s layers with the layers ``dst`` of ``target`` (same-shaped
    layers in every order, up to ``limit``), ``copy(sources, order)`` each, until ``agrees()``."""
    src = _layers_with_parameters(source)
    if sorted(map(_layer_signature, src)) != sorted(map(_layer_signature, dst)):
        copy_weights(source, target)
        return bool(agrees())
    groups: dict[tuple, list] = {}
    for layer in dst:
        groups.setdefault(_layer_signature(layer), []).append(layer)
    sources = [[s for s in src if _layer_signature(s) == signature] for signature in groups]
    orders = itertools.islice(itertools.product(*(itertools.permutations(g) for g in groups.values())), limit)
    first = None
    for order in orders:
        first = first or order
        copy(sources, order)
        if agrees():
            return True
    copy(sources, first)
    return False


def _copy_weights_until_probed(source: nn.Module, target: Answer, agrees, limit: int) -> bool:
    values = {p.name: p.value for p in unique(target.parameters())}
    dst = [[_Slot(f"{e.name}.{n}" if e.name else n, values[f"{e.name}.{n}" if e.name else n])
            for n, _, _ in e.parameters if (f"{e.name}.{n}" if e.name else n) in values]
           for e in unique(target.tree()) if e.parameters]
    return _first_agreeing_pairing(source, target, [layer for layer in dst if layer],
                                   lambda sources, order: target.assign(_pairing(sources, order)),
                                   agrees, limit)


def _pairing(sources, order) -> dict:
    return {d.name: s.detach() for group_src, group_dst in zip(sources, order)
            for s_layer, d_layer in zip(group_src, group_dst) for s, d in zip(s_layer, d_layer)}


def _layers_with_parameters(model: nn.Module) -> list[list[nn.Parameter]]:
    return [list(m.parameters(recurse=False)) for m in model.modules() if list(m.parameters(recurse=False))]


def _layer_signature(params) -> tuple:
    return tuple("scalar" if p.numel() == 1 else str(tuple(p.shape)) for p in params)


def _copy_layers(sources, order) -> None:
    with torch.no_grad():
        for group_src, group_dst in zip(sources, order):
            for s_layer, d_layer in zip(group_src, group_dst):
                for s, d in zip(s_layer, d_layer):
                    d.copy_(s.reshape(d.shape))


# --- wording ------------------------------------------------------------------------------

def _shape(shape) -> str:
    dims = tuple(shape)
    return f"({dims[0]},)" if len(dims) == 1 else str(dims)


def _kind(value) -> str:
    if isinstance(value, Answer):
        if value.kind == "class":
            return f"the class {value.name}"
        if value.kind == "none":
            return "None"
        name = value.type_name
        return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
    if value is None:
        return "None"
    if inspect.isclass(value):
        return f"the class {value.__name__}"
    name = type(value).__name__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


def _short(value) -> str:
    if isinstance(value, Answer):
        return _kind(value)
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {_shape(value.shape)}"
    if inspect.isroutine(value) or inspect.isclass(value):
        return f"the function {value.__name__}" if not inspect.isclass(value) else f"the class {value.__name__}"
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))  # no memory addresses: outputs are compared


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


kind_of = _kind  # for lesson modules that word their own messages


def is_library_module(value, type_name: str) -> bool:
    """Exactly a ``torch.nn`` module of that class (not a subclass a notebook defined)."""
    if isinstance(value, Answer):
        return value.kind == "module" and value.type_name == type_name and value.info.get("library") is True
    return type(value) is getattr(nn, type_name, None)


def type_module(value) -> str:
    """The module that defines a value's type (``numpy`` for an array), probed or not."""
    return str(value.info.get("type_module", "")) if isinstance(value, Answer) else type(value).__module__


def type_name(value) -> str:
    """The type's name of a value, or of the object a probed handle stands for."""
    return value.type_name if isinstance(value, Answer) else type(value).__name__


class Differentiated:
    """Built on the answer's side (``session.build``): calls a function on copies of its tensor
    arguments that require grad, and reports the autograd operations behind the result and the
    gradient of the result's sum with respect to each argument (None where none arrives).

    Why: a probe's tensors arrive without autograd, so "which operation made this" and "does the
    gradient reach the weight I gave you" need the arguments made differentiable on that side."""

    def __init__(self, function):
        self.function = function

    def __call__(self, *tensors):
        leaves = [t.detach().clone().requires_grad_() if isinstance(t, torch.Tensor) else t for t in tensors]
        result = self.function(*leaves)
        if not isinstance(result, torch.Tensor) or result.grad_fn is None:
            return {"ops": [], "grads": [None] * len(leaves)}
        ops = sorted(autograd_ops(result))
        result.sum().backward()
        return {"ops": ops, "grads": [leaf.grad if isinstance(leaf, torch.Tensor) else None for leaf in leaves]}


def differentiated(function: Answer, *tensors) -> dict:
    """``Differentiated(function)(*tensors)`` on the answer's side: {"ops": [...], "grads": [...]}."""
    from course_utils.probes.client import ProbeFault

    reply = function.session.build(Differentiated, function)(*tensors)
    if type(reply) is not dict or type(reply.get("ops")) is not list or type(reply.get("grads")) is not list \
            or len(reply["grads"]) != len(tensors):
        raise ProbeFault("malformed reply when following the gradient")
    return reply


# Structural checks live next door (module types, autograd ops, optimizer, calls); one vocabulary.
from course_utils.exercises.structure import (  # noqa: E402,F401
    autograd_ops, calls_per_module, expect_autograd_op, expect_optimizer_covers, expect_submodules,
    modules_of_type)

# PyTorch's errors in the course's words (``torch_errors``), part of the same vocabulary.
from course_utils.exercises.torch_errors import dims_of, explain, worded  # noqa: E402,F401
