"""Values: plain values before comparing, the one tolerance, hidden inputs, and the wording of
values (shapes, kinds) that every message shares.

Every comparison goes through ``plain()`` and through torch functions this module holds
itself, so an answer cannot pass by lying: a tensor subclass whose ``__torch_function__``
makes ``allclose`` say True, an ``int`` whose ``__eq__`` is always True, or a notebook that
replaced ``torch.allclose`` after importing the course.
"""

from __future__ import annotations

import inspect
import re

import torch

from course_utils.exercises.engine import Incorrect, probe_seed
from course_utils.probes.client import Answer

ATOL, RTOL = 1e-5, 1e-4       # one tolerance for every "same values" in the course


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
