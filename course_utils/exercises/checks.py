"""Shared checks that exercise classes call; each raises ``Incorrect`` in the student's terms.

Why here and not in each exercise: the same mistakes recur across lessons (a class passed as
an instance, layers kept in a plain list, a wrong output shape, a forgotten add), and each
deserves one well-worded message. Checks are behavioural (outputs on hidden inputs against a
reference, after copying weights) and structural (parameters, module types, autograd ops);
none requires a particular attribute name unless the exercise asks for it.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from course_utils.exercises.engine import Incorrect

ATOL, RTOL = 1e-5, 1e-4
_MODULE_INTERNALS = frozenset(vars(nn.Module()))  # _modules, _parameters, hooks...


# --- building and calling the answer ------------------------------------------------------

def instantiate(answer, *args, **kwargs) -> nn.Module:
    """Build the student's module class with ``args``; errors in their ``__init__`` surface."""
    if isinstance(answer, nn.Module):
        name = type(answer).__name__
        raise Incorrect(f"Pass the class itself, not an instance: `check({name})`, not `check({name}(...))`.")
    if not inspect.isclass(answer):
        raise Incorrect(f"Expected a class (an `nn.Module` subclass), got {_kind(answer)}.")
    if not issubclass(answer, nn.Module):
        raise Incorrect(f"`{answer.__name__}` does not subclass `nn.Module`: write `class {answer.__name__}(nn.Module):`.")
    _expect_accepts(answer, args, kwargs, f"`{answer.__name__}(...)`")
    model = answer(*args, **kwargs)
    if "_parameters" not in vars(model):
        raise Incorrect(f"`{answer.__name__}.__init__` must call `super().__init__()` before anything else.")
    return model


def call(function, *inputs, what: str = "your answer", **kwargs):
    """Call a student's function or module; a call with the wrong arguments is 'incorrect'."""
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
        shown = ", ".join([_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()])
        raise Incorrect(f"{what} cannot be called with ({shown}): {error}. "
                        f"Its signature is {signature}.") from None


def hidden_input(*shape: int, seed: int = 1234) -> torch.Tensor:
    """A hidden test input: standard normal values, the same on every machine and run."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator)


# --- values and shapes --------------------------------------------------------------------

def expect_tensor(value, what: str = "your answer") -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise Incorrect(f"Expected {what} to be a tensor, got {_kind(value)}.")
    return value


def expect_shape(tensor, shape, what: str = "the output") -> torch.Tensor:
    expect_tensor(tensor, what)
    if tuple(tensor.shape) != tuple(shape):
        raise Incorrect(f"{_capital(what)} has shape {_shape(tensor.shape)}; expected {_shape(shape)}.")
    return tensor


def expect_close(actual, expected, what: str = "the output", atol: float = ATOL, rtol: float = RTOL) -> None:
    expect_shape(actual, expected.shape, what)
    if actual.dtype != expected.dtype:
        raise Incorrect(f"{_capital(what)} has dtype {actual.dtype}; expected {expected.dtype}.")
    if not torch.allclose(actual.detach(), expected.detach(), atol=atol, rtol=rtol):
        worst = (actual.detach() - expected.detach()).abs().max().item()
        raise Incorrect(f"{_capital(what)} differs from the expected values (largest difference {worst:.4g}).")


# --- parameters ---------------------------------------------------------------------------

def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def parameter_breakdown(model: nn.Module) -> str:
    """'fc1 (Linear): 220, fc2 (Linear): 105' — which registered modules hold the parameters."""
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


def copy_parameters(source: nn.Module, target: nn.Module) -> bool:
    """Copy parameters (and buffers) from ``source`` into ``target``; False if shapes don't allow it.

    Registration order first; if the order differs but every shape is distinct, match by
    shape, so a student who defined the layers in another order still passes.
    """
    for kind in ("parameters", "buffers"):
        src, dst = list(getattr(source, kind)()), list(getattr(target, kind)())
        pairs = _pair_by_shape(src, dst)
        if pairs is None:
            return False
        with torch.no_grad():
            for s, d in pairs:
                d.copy_(s)
    return True


def _pair_by_shape(src, dst):
    if len(src) != len(dst):
        return None
    if all(s.shape == d.shape for s, d in zip(src, dst)):
        return list(zip(src, dst))
    shapes = [tuple(s.shape) for s in src]
    if len(set(shapes)) != len(shapes) or sorted(shapes) != sorted(tuple(d.shape) for d in dst):
        return None
    by_shape = {tuple(d.shape): d for d in dst}
    return [(s, by_shape[tuple(s.shape)]) for s in src]


def same(a, b) -> bool:
    """True when ``a`` is a tensor of ``b``'s shape and close to it (for "is it this mistake?" tests)."""
    return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(a, b, atol=ATOL)


def copy_weights_by_shape(source: nn.Module, target: nn.Module) -> None:
    """Copy every parameter of ``source`` into the parameter of ``target`` with the same shape.

    Why by shape: a student may name or order layers differently; the exercises choose sizes so
    that each weight shape occurs once, which makes the match unambiguous. A scalar stored as
    shape () or (1,) matches either way.
    """
    free = list(target.parameters())
    with torch.no_grad():
        for param in source.parameters():
            match = next((p for p in free if p.shape == param.shape), None)
            if match is None:
                match = next((p for p in free if p.numel() == param.numel() == 1), None)
            if match is None:
                raise Incorrect(f"No parameter of shape {tuple(param.shape)} in your module, "
                                "so it cannot hold the reference weights.")
            match.copy_(param.reshape(match.shape))
            free = [p for p in free if p is not match]


def expect_same_outputs(model, reference: nn.Module, *inputs, copy_weights: bool = True,
                        what: str = "your model's output", atol: float = ATOL, rtol: float = RTOL):
    """Run both on the hidden inputs (after giving ``model`` the reference's weights) and compare."""
    if copy_weights and isinstance(model, nn.Module) and not copy_parameters(reference, model):
        yours = ", ".join(_shape(p.shape) for p in model.parameters()) or "none"
        expected = ", ".join(_shape(p.shape) for p in reference.parameters())
        raise Incorrect(f"Your model's parameter shapes are [{yours}]; expected [{expected}] "
                        f"(in the order the layers are created). Where yours are: {parameter_breakdown(model)}.")
    with torch.no_grad():
        actual = call(model, *inputs, what="your model")
        expected_output = reference(*inputs)
    expect_close(expect_tensor(actual, what), expected_output, what, atol=atol, rtol=rtol)
    return actual


# --- structure ----------------------------------------------------------------------------

def modules_of_type(model: nn.Module, *types: type) -> list[tuple[str, nn.Module]]:
    """Registered submodules (not the model itself) of the given types, as (name, module)."""
    return [(name, m) for name, m in model.named_modules() if name and isinstance(m, types)]


def expect_submodules(model: nn.Module, module_type: type, count: int | None = None,
                      at_least: int | None = None) -> list[tuple[str, nn.Module]]:
    found = modules_of_type(model, module_type)
    label = f"`nn.{module_type.__name__}`" if module_type.__module__.startswith("torch.nn") \
        else f"`{module_type.__name__}`"
    names = ", ".join(name for name, _ in found) or "none"
    if count is not None and len(found) != count:
        raise Incorrect(f"Expected {count} registered {label} layer{'s' if count != 1 else ''}; "
                        f"found {len(found)} ({names}).")
    if at_least is not None and len(found) < at_least:
        raise Incorrect(f"Expected at least {at_least} registered {label} layers; found {len(found)} ({names}).")
    return found


def autograd_ops(output: torch.Tensor) -> set[str]:
    """Names of the autograd nodes that produced ``output``, e.g. {'AddBackward0', 'CatBackward0'}."""
    seen, names, stack = set(), set(), [output.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return names


def expect_autograd_op(output: torch.Tensor, op: str, message: str) -> None:
    """Require an op (e.g. 'AddBackward0' or 'CatBackward0') in the graph; ``message`` says why."""
    expect_tensor(output, "the output")
    if output.grad_fn is None:
        raise Incorrect("The output is not connected to any parameter (no autograd graph): "
                        "was it computed under `torch.no_grad()` or detached?")
    if op not in autograd_ops(output):
        raise Incorrect(message)


def expect_optimizer_covers(optimizer: torch.optim.Optimizer, model: nn.Module) -> None:
    """Every parameter of ``model`` must be in one of the optimizer's parameter groups."""
    known = {id(p) for group in optimizer.param_groups for p in group["params"]}
    missing = [name for name, p in model.named_parameters() if id(p) not in known]
    if missing:
        raise Incorrect(f"The optimizer does not know {len(missing)} parameter{'s' if len(missing) > 1 else ''} "
                        f"of the model ({', '.join(missing)}): they will never be updated. "
                        f"Use `optimizer.add_param_group({{'params': ...}})` after adding a layer.")


def expect_output_unchanged(model: nn.Module, change, *inputs, atol: float = ATOL,
                            what: str = "your change"):
    """Call ``change(model)`` and require the same outputs as before; returns the changed model."""
    with torch.no_grad():
        before = model(*inputs)
    changed = change(model)
    changed = model if changed is None else changed
    with torch.no_grad():
        after = changed(*inputs)
    expect_tensor(after, "the output after " + what)
    if after.shape != before.shape:
        raise Incorrect(f"After {what} the output has shape {_shape(after.shape)}; before it was {_shape(before.shape)}.")
    if not torch.allclose(after, before, atol=atol, rtol=0):
        worst = (after - before).abs().max().item()
        raise Incorrect(f"After {what} the output changed (largest difference {worst:.4g}); "
                        f"it must stay the same at the moment of the change.")
    return changed


# --- wording ------------------------------------------------------------------------------

def _shape(shape) -> str:
    dims = tuple(shape)
    return f"({dims[0]},)" if len(dims) == 1 else str(dims)


def _kind(value) -> str:
    if value is None:
        return "None"
    if inspect.isclass(value):
        return f"the class {value.__name__}"
    name = type(value).__name__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


def _short(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {_shape(value.shape)}"
    return repr(value)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- pairing layers whose weights have the same shape (added for lessons 04-07) -------------

def _layers_with_parameters(model: nn.Module) -> list[list[nn.Parameter]]:
    return [list(m.parameters(recurse=False)) for m in model.modules() if list(m.parameters(recurse=False))]


def _layer_signature(params) -> tuple:
    return tuple("scalar" if p.numel() == 1 else str(tuple(p.shape)) for p in params)


def copy_weights_until(source: nn.Module, target: nn.Module, agrees, limit: int = 24) -> bool:
    """Copy ``source``'s layers into ``target``, trying each pairing of same-shaped layers.

    Why: two layers with identical weight shapes (conv1 and conv2 of a block with equal
    channels, fc1 and fc2 of a square MLP) cannot be told apart by shape, and students
    register them in either order. A layer moves as a whole (weight with its bias), and the
    answer is accepted when ``agrees()`` holds for some pairing. Returns False when none
    does, leaving the first pairing in place for later "which mistake is it?" tests.
    """
    import itertools

    src, dst = _layers_with_parameters(source), _layers_with_parameters(target)
    if sorted(map(_layer_signature, src)) != sorted(map(_layer_signature, dst)):
        copy_weights_by_shape(source, target)
        return bool(agrees())
    groups: dict[tuple, list] = {}
    for layer in dst:
        groups.setdefault(_layer_signature(layer), []).append(layer)
    sources = [[s for s in src if _layer_signature(s) == signature] for signature in groups]
    orders = itertools.islice(itertools.product(*(itertools.permutations(g) for g in groups.values())), limit)
    first = None
    for order in orders:
        first = first or order
        _copy_layers(sources, order)
        if agrees():
            return True
    _copy_layers(sources, first)
    return False


def _copy_layers(sources, order) -> None:
    with torch.no_grad():
        for group_src, group_dst in zip(sources, order):
            for s_layer, d_layer in zip(group_src, group_dst):
                for s, d in zip(s_layer, d_layer):
                    d.copy_(s.reshape(d.shape))


def calls_per_module(model: nn.Module, *inputs) -> dict[str, int]:
    """How often each layer with parameters runs in one forward pass (to spot a trunk run twice)."""
    counts: dict[str, int] = {}
    hooks = [module.register_forward_hook(lambda m, i, o, name=name: counts.__setitem__(name, counts.get(name, 0) + 1))
             for name, module in model.named_modules() if list(module.parameters(recurse=False))]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return counts


# --- added for lessons 00-03: aliases of registered layers are fine -------------------------

def expect_connected_to_graph(output, what: str = "your output") -> None:
    """An output cut from autograd (``.detach()``, ``torch.no_grad()``) cannot be trained through."""
    if isinstance(output, torch.Tensor) and output.grad_fn is None and not output.requires_grad:
        raise Incorrect(f"{_capital(what)} is cut off from autograd (no `grad_fn`): no gradient could reach "
                        "the layers. Don't `.detach()` it or compute it under `torch.no_grad()`.")


# --- added for lessons 04-07 ---

_equal = torch.equal  # held here, so a notebook that reassigns torch.equal changes no verdict


def plain(value):
    """A plain ``torch.Tensor`` / ``int`` / ``float`` / ``bool`` for a subclass of one of them.

    Why: an answer must not pass by lying (a tensor subclass whose ``__torch_function__`` makes
    every comparison True, an ``int`` whose ``__eq__`` always says yes). Anything else is
    returned unchanged. (The lead's shared convention; exercises-a writes the same function for
    lessons 00-03: keep one copy when the branches meet.)
    """
    if isinstance(value, torch.Tensor):
        return value.as_subclass(torch.Tensor) if type(value) is not torch.Tensor else value
    if isinstance(value, bool):  # bool cannot be subclassed
        return value
    if isinstance(value, int):
        return int.__int__(value)  # the base slot: a subclass's own __int__ cannot lie here
    if isinstance(value, float):
        return float.__float__(value)
    return value


def exactly_equal(actual, expected) -> bool:
    """``torch.equal`` on plain tensors: same shape, same values, no tolerance."""
    return isinstance(actual, torch.Tensor) and _equal(plain(actual).detach(), plain(expected).detach())


def mistake_in_your_code(error: BaseException, message: str) -> Incorrect:
    """The course's message for an exception a known mistake raises, ending with the student's line.

    Why: a raw ``RuntimeError: mat1 and mat2 shapes cannot be multiplied`` says what PyTorch
    saw; the student needs to hear which of their choices caused it, and where they made it.
    """
    from course_utils.exercises.engine import student_line

    location = student_line(error)
    if location is not None:
        message += f" ({location.caption()} `{location.source}`)"
    return Incorrect(message)
