"""The answer's side of a probe: acts on the real objects and replies with plain data.

Runs wherever the answer lives: in the student's kernel under grading (reached through
``serve``), and in the same process for the instant feedback of ``check()`` (``LocalTransport``
in ``client``). Either way a request and its reply are ``wire`` text, so a check sees exactly
the same data in both places. Nothing here decides anything: it runs the answer and reports
what happened. Under grading this module sits in a process the student controls, so the
grader treats every reply as a claim about the answer's behaviour and judges it on its own side.

Import direction: this module imports ``wire`` and torch, never the checks or the references.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import linecache
import os
import re
import sys
import sysconfig
import traceback
from pathlib import Path

import torch
from torch import nn

from course_utils.probes import wire
from course_utils.probes.wire import Handle

# Objects a check may build on the answer's side (a model to hand to the student's function):
# classes and functions of these modules only, named by module and qualified name.
BUILDABLE = ("torch.nn.", "torch.optim.", "course_utils.", "collections.")
SETTINGS = ("in_features", "out_features", "in_channels", "out_channels", "kernel_size", "stride",
            "padding", "dilation", "groups", "p", "dim", "num_features", "eps", "momentum",
            "negative_slope", "inplace", "start_dim", "end_dim", "normalized_shape",
            "num_embeddings", "embedding_dim", "output_size", "training")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_MODULE_INTERNALS = frozenset(vars(nn.Module()))
_CELL_FILE = re.compile(r"ipykernel_\d+|<ipython-input-")


MAX_BATCH = 256   # requests in one message


class Refused(Exception):
    """A request the server cannot carry out (unknown handle or operation): the check's fault."""


class ProbeServer:
    """Keeps the objects a check refers to and answers its requests, one at a time."""

    def __init__(self, namespace: dict | None = None):
        self.namespace = namespace if namespace is not None else {}
        self.objects: list = []
        self.rng = None

    # --- the one entry point: wire text in, wire text out
    def handle(self, text: str) -> str:
        """One request, or a batch of them (``{"op": "batch", "requests": [...]}``), whose
        replies come back as one list in one message: a check that knows its next requests
        (every case of a function, a session's start) pays one round trip for all of them."""
        try:
            request = wire.decode(text)
        except wire.WireError as error:
            return wire.encode({"refused": f"malformed: {error}"})
        if type(request) is dict and request.get("op") == "batch":
            requests = request.get("requests")
            if len(request) != 2 or type(requests) is not list or not 0 < len(requests) <= MAX_BATCH:
                return wire.encode({"refused": f"a batch holds 1 to {MAX_BATCH} requests"})
            return self._encode({"ok": [self._answer(item, nested=True) for item in requests]})
        return self._encode(self._answer(request))

    def _answer(self, request, nested: bool = False) -> dict:
        try:
            if type(request) is not dict or type(request.get("op")) is not str:
                raise Refused("a request is a dict with an 'op'")
            request = dict(request)
            op = request.pop("op")
            operation = getattr(self, "op_" + op, None) if op != "batch" else None
            if operation is None:
                raise Refused("a batch cannot hold a batch" if nested and op == "batch" else "unknown operation")
            return {"ok": self._in_session(operation, request)}
        except Refused as refused:
            return {"refused": str(refused)}
        except (Exception, SystemExit) as error:  # noqa: BLE001 - whatever the answer raised
            return {"raised": raised(error)}

    @staticmethod
    def _encode(reply: dict) -> str:
        try:
            return wire.encode(reply)
        except wire.WireError as error:
            return wire.encode({"refused": f"malformed: {error}"})

    def _in_session(self, operation, request):
        """Run with the session's own random stream: the answer draws the same numbers
        wherever it runs, and neither the student's nor the check's stream moves."""
        if self.rng is None:
            return operation(**request)
        saved, stream = torch.random.get_rng_state(), self.rng
        torch.random.set_rng_state(stream)
        try:
            return operation(**request)
        finally:
            if self.rng is stream:     # not a session's begin or end, which set the stream themselves
                self.rng = torch.random.get_rng_state()
            torch.random.set_rng_state(saved)

    # --- objects
    def keep(self, value) -> Handle:
        self.objects.append(value)
        return Handle(len(self.objects) - 1)

    def _object(self, handle):
        if type(handle) is not Handle or handle >= len(self.objects):
            raise Refused(f"no object {handle!r}")
        return self.objects[handle]

    def _resolve(self, value):
        return wire.walk(value, lambda item: self._object(item) if type(item) is Handle else item)

    def _reply_value(self, value):
        """Plain data as it is (subclasses read as their base type); anything else kept."""
        value = plain(value)
        kind = type(value)
        if value is None or kind in (bool, int, float, str, torch.Tensor):
            return value.detach().clone() if kind is torch.Tensor else value
        if kind in (list, tuple) and len(value) <= 10_000:
            return kind(self._reply_value(v) for v in value)
        if kind is torch.Size:
            return tuple(int(n) for n in value)
        if kind is dict and all(type(k) is str for k in value) and len(value) <= 10_000:
            return {k: self._reply_value(v) for k, v in value.items()}
        return self.keep(value)

    # --- the vocabulary
    def op_begin(self, seed: int):
        """A new check: the last check's objects dropped (a check sends no end), a fresh
        random stream seeded by this one."""
        self.objects = []
        self.rng = torch.Generator().manual_seed(int(seed)).get_state()
        return None

    def op_target(self, expression: str):
        """The answer the check cell names, evaluated in the notebook's namespace."""
        try:
            value = eval(expression, self.namespace)  # noqa: S307 - the kernel is the student's own
        except NameError as error:
            return {"missing": str(error)}
        return {"handle": self.keep(value), "info": describe(value)}

    def op_describe(self, handle):
        return describe(self._object(handle))

    def op_build(self, name: str, args=(), kwargs=None):
        """A public object made on this side (e.g. the model a student's function receives)."""
        module_name, _, qualname = name.partition(":")
        if not (module_name + ".").startswith(BUILDABLE) or not qualname.isidentifier():
            raise Refused(f"{name} is not buildable")
        factory = getattr(importlib.import_module(module_name), qualname)
        return self.keep(factory(*self._resolve(list(args)), **self._resolve(kwargs or {})))

    def op_call(self, handle, args=(), kwargs=None, method=None, no_grad=False, ops=False,
                calls=False, backward=None, mode=None):
        """Call the object (or its ``method``) with plain arguments and handles.

        Reports the result; which tensor arguments the call changed in place; on request the
        autograd operations behind a tensor result, how often each layer with parameters ran
        (forward hooks), and after ``backward(gradient)`` the gradients of the parameters."""
        target = self._object(handle)
        args, kwargs = list(self._resolve(list(args))), self._resolve(kwargs or {})
        function = getattr(target, method) if method else target
        bound = _bind_error(function, args, kwargs)
        if bound is not None:
            return {"bind_error": bound[0], "signature": bound[1]}
        before = [a.detach().clone() if type(a) is torch.Tensor else None for a in args]
        if mode in ("train", "eval") and isinstance(target, nn.Module):
            target.train(mode == "train")
        counts, hooks = {}, []
        if calls and isinstance(target, nn.Module):
            for name, module in target.named_modules():
                if list(module.parameters(recurse=False)):
                    hooks.append(module.register_forward_hook(
                        lambda m, i, o, name=name: counts.__setitem__(name, counts.get(name, 0) + 1)))
        try:
            with torch.no_grad() if no_grad else _nothing():
                result = function(*args, **kwargs)
        finally:
            for hook in hooks:
                hook.remove()
        reply = {"value": self._reply_value(result), "changed": [
            i for i, (old, new) in enumerate(zip(before, args))
            if old is not None and (old.shape != new.shape or not torch.equal(old, new.detach()))]}
        tensor = plain(result)
        if type(tensor) is torch.Tensor:
            reply["connected"] = tensor.grad_fn is not None or tensor.requires_grad
            if ops:
                reply["ops"] = sorted(autograd_ops(tensor))
            if backward is not None and isinstance(target, nn.Module):
                for p in target.parameters():
                    p.grad = None
                tensor.backward(backward)
                reply["grads"] = {n: (None if p.grad is None else p.grad.detach().clone())
                                  for n, p in target.named_parameters()}
        if calls:
            reply["calls"] = counts
        return reply

    def op_attribute(self, handle, name: str):
        value = self._object(handle)
        for part in name.split("."):
            value = getattr(value, part)
        return self._reply_value(value)

    def op_tree(self, handle):
        return tree(self._object(handle))

    def op_parameters(self, handle, grads=False):
        """Every registered parameter, shared ones under each of their names: name, values,
        requires_grad, and which object it is (equal numbers: one tensor)."""
        module = _module(self._object(handle))
        seen: dict[int, int] = {}
        found = []
        for name, p in module.named_parameters(remove_duplicate=False):
            identity = seen.setdefault(id(p), len(seen))
            lazy = isinstance(p, nn.parameter.UninitializedTensorMixin)
            entry = {"name": name, "value": None if lazy else p.detach().clone(),
                     "requires_grad": bool(p.requires_grad), "identity": identity}
            if grads:
                entry["grad"] = None if p.grad is None else p.grad.detach().clone()
            found.append(entry)
        return found

    def op_buffers(self, handle):
        module = _module(self._object(handle))
        return {name: b.detach().clone() for name, b in module.named_buffers()}

    def op_assign(self, handle, values: dict):
        """Copy values into named parameters or buffers (the check's weights into the answer)."""
        module = _module(self._object(handle))
        tensors = dict(module.named_parameters(remove_duplicate=False))
        tensors.update(module.named_buffers())
        with torch.no_grad():
            for name, value in values.items():
                if name not in tensors or type(value) is not torch.Tensor \
                        or tensors[name].numel() != value.numel():
                    raise Refused(f"cannot assign {name}")
                tensors[name].copy_(value.reshape(tensors[name].shape))
        return None

    def op_state_dict(self, handle):
        return {k: v.detach().clone() for k, v in _module(self._object(handle)).state_dict().items()}

    def op_optimizer_missing(self, optimizer, model):
        """Names of the model's parameters that no parameter group of the optimizer holds."""
        known = {id(p) for group in self._object(optimizer).param_groups for p in group["params"]}
        return [name for name, p in _module(self._object(model)).named_parameters() if id(p) not in known]

    def op_load_state_dict(self, handle, state: dict, strict=True):
        result = _module(self._object(handle)).load_state_dict(state, strict=bool(strict))
        return {"missing": list(result.missing_keys), "unexpected": list(result.unexpected_keys)}


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _module(value) -> nn.Module:
    if not isinstance(value, nn.Module):
        raise TypeError(f"expected a module, got {type(value).__name__}")
    return value


def _bind_error(function, args, kwargs):
    try:
        target = function.forward if isinstance(function, nn.Module) else function
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*args, **kwargs)
    except TypeError as error:
        return str(error), str(signature)
    return None


def plain(value):
    """The value as an exact ``torch.Tensor``, ``int``, ``float``, ``bool``, ``str``, ``list``,
    ``tuple`` or ``dict``: a subclass is read through its base type, so its own behaviour
    (a ``__torch_function__``, an ``__eq__``) never reaches the reply."""
    kind = type(value)
    if kind in (torch.Tensor, int, float, bool, str, type(None)):
        return value
    if isinstance(value, torch.Tensor):
        with torch._C.DisableTorchFunctionSubclass():
            return torch.Tensor.as_subclass(value, torch.Tensor)
    if isinstance(value, bool):
        return bool(int.__int__(value))
    if isinstance(value, int) and not isinstance(value, torch.Size):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    if kind is torch.Size:
        return value
    if isinstance(value, list):
        return [plain(v) for v in list.__iter__(value)]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in tuple.__iter__(value))
    return value


def describe(value) -> dict:
    """What kind of thing the answer is, for the check's first words."""
    kind = ("not_implemented" if value is NotImplemented else "none" if value is None
            else "class" if inspect.isclass(value) else "module" if isinstance(value, nn.Module)
            else "function" if inspect.isroutine(value) else "tensor" if isinstance(value, torch.Tensor)
            else "value" if isinstance(value, (bool, int, float, str, tuple, list, torch.Size)) else "other")
    info = {"kind": kind, "type": type(value).__name__, "type_module": type(value).__module__,
            "name": str(getattr(value, "__name__", "")) if kind in ("class", "function") else "",
            "callable": callable(value)}
    if kind in ("class", "module"):
        cls = value if kind == "class" else type(value)
        info["mro"] = _mro(cls)
    if kind == "class":
        info["module_class"] = issubclass(value, nn.Module)
        info["library"] = value.__module__.startswith("torch.")
        info["init"] = _init_place(value)
    if kind == "module":
        info["library"] = type(value).__module__.startswith("torch.")
        info["registries"] = "_parameters" in vars(value) and "_modules" in vars(value)
    if kind in ("class", "function", "module"):
        try:
            info["signature"] = str(inspect.signature(value.forward if kind == "module" else value))
        except (TypeError, ValueError):
            info["signature"] = None
    if kind in ("value", "tensor"):
        info["value"] = _value_or_none(value)
    return info


def _value_or_none(value):
    try:
        wire.encode(plain(value) if not isinstance(value, torch.Size) else tuple(value))
        return plain(value) if not isinstance(value, torch.Size) else tuple(int(n) for n in value)
    except wire.WireError:
        return None


def _init_place(cls):
    """Where the class's ``__init__`` starts, for "call super().__init__() first" messages."""
    try:
        lines, lineno = inspect.getsourcelines(cls.__init__)
        filename = inspect.getsourcefile(cls.__init__) or ""
    except (OSError, TypeError):
        return None
    place = "your cell" if _CELL_FILE.search(filename) else Path(filename).name
    return {"place": place, "lineno": lineno, "function": "__init__", "source": lines[0].strip()}


def tree(value) -> list:
    """One entry per registered module (shared ones under each name): its name, type, the
    settings the course talks about, its own parameters and buffers, and the attributes that
    hide layers or tensors from PyTorch (plain lists and dicts of modules, plain tensors)."""
    module = _module(value)
    if "_modules" not in vars(module) or "_parameters" not in vars(module):
        return [{"name": "", "type": type(module).__name__, "library": False, "identity": 0,
                 "registries": False, "settings": {}, "parameters": [], "buffers": [], "hidden": [],
                 "loose_tensors": [], "forward": None, "mro": _mro(type(module))}]
    registered = {id(m) for m in module.modules()}
    seen: dict[int, int] = {}
    entries = []
    for name, m in module.named_modules(remove_duplicate=False):
        identity = seen.setdefault(id(m), len(seen))
        entry = {"name": name, "type": type(m).__name__, "library": type(m).__module__.startswith("torch."),
                 "identity": identity, "registries": "_parameters" in vars(m),
                 "settings": {key: _setting(getattr(m, key)) for key in SETTINGS
                              if key in vars(m) or key in type(m).__dict__
                              if _setting(getattr(m, key, None)) is not None},
                 "parameters": [[n, _shape(p), bool(p.requires_grad)]
                                for n, p in m.named_parameters(recurse=False)],
                 "buffers": [[n, _shape(b)] for n, b in m.named_buffers(recurse=False)],
                 "hidden": [], "loose_tensors": [], "mro": _mro(type(m))}
        for attr, item in vars(m).items():
            if attr in _MODULE_INTERNALS or isinstance(item, nn.Module):
                continue
            if isinstance(item, torch.Tensor):
                entry["loose_tensors"].append(attr)
                continue
            items = item.values() if isinstance(item, dict) else item if isinstance(item, (list, tuple)) else ()
            if any(isinstance(i, nn.Module) and id(i) not in registered for i in items):
                entry["hidden"].append(attr)
        try:
            entry["forward"] = str(inspect.signature(m.forward))
        except (TypeError, ValueError):
            entry["forward"] = None
        entries.append(entry)
    return entries


def _mro(cls) -> list[str]:
    return [c.__name__ for c in cls.__mro__ if c.__module__.startswith("torch.nn")]


def _shape(tensor):
    """A tensor's shape; None for a lazy module's parameter that has no shape yet."""
    if isinstance(tensor, nn.parameter.UninitializedTensorMixin):
        return None
    return list(tensor.shape)


def _setting(value):
    value = plain(value)
    if type(value) in (bool, int, float, str):
        return value
    if type(value) is tuple and all(type(v) in (int, float) for v in value):
        return value
    return None


def autograd_ops(output: torch.Tensor) -> set[str]:
    seen, names, stack = set(), set(), [output.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return names


# --- what the answer raised, as data

def raised(error: BaseException) -> dict:
    frames = traceback.extract_tb(error.__traceback__)
    return {"type": type(error).__name__,
            "bases": [c.__name__ for c in type(error).__mro__ if c.__module__ == "builtins"],
            "message": _ADDRESS.sub("", str(error)).strip(),
            "line": student_line(frames),
            "missing_forward": bool(frames) and frames[-1].name == "_forward_unimplemented"}


def student_line(frames) -> dict | None:
    """The innermost frame in the student's code (not torch, not the course, not the library)."""
    roots = _library_roots()
    for frame in reversed(frames):
        if not _is_library_file(frame.filename, roots):
            place = "your cell" if _CELL_FILE.search(frame.filename) else Path(frame.filename).name
            source = (frame.line or linecache.getline(frame.filename, frame.lineno)).strip()
            return {"place": place, "lineno": frame.lineno or 0, "function": frame.name, "source": source}
    return None


def _library_roots() -> tuple[str, ...]:
    roots = {str(Path(__file__).resolve().parent.parent), str(Path(torch.__file__).resolve().parent)}
    paths = sysconfig.get_paths()
    roots.update(str(Path(paths[key]).resolve()) for key in ("stdlib", "platstdlib", "purelib", "platlib"))
    return tuple(sorted(roots))


def _is_library_file(filename: str, roots) -> bool:
    if filename.startswith("<frozen") or filename.startswith("<__array_function__"):
        return True
    if filename.startswith("<"):
        return False
    resolved = str(Path(filename).resolve())
    return any(resolved == root or resolved.startswith(root + os.sep) for root in roots)


# --- the kernel's entry point under grading

_SERVER: ProbeServer | None = None


def serve(text: str) -> str:
    """Answer one probe in a grading kernel (called through a silent ``user_expressions``)."""
    global _SERVER
    if _SERVER is None:
        shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
        _SERVER = ProbeServer(shell.user_ns if shell is not None else vars(builtins))
    return _SERVER.handle(text)
