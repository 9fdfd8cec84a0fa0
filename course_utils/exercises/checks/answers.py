"""The answer: building the student's class, calling their function, and what their code raises.

Why here: the same mistakes recur (a class passed as an instance, a forgotten
``super().__init__()``, a call with the wrong arguments) and each deserves one well-worded
message, ending with the student's own line where there is one.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import torch
from torch import nn

from course_utils.exercises.checks.structure import autograd_ops
from course_utils.exercises.checks.values import _kind, _short
from course_utils.exercises.engine import Incorrect, StudentLine, student_line
from course_utils.probes.client import Answer, BindError

FORGOT_SUPER = "before Module.__init__() call"     # torch's words when super().__init__() is missing


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


