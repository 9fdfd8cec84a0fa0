"""Record one forward pass: every module call and every tensor operation between them.

Why our own tracer: the shape table, the forward graph and the shape-error explainer all need
the same facts — which module or operation produced each tensor, in which order things ran,
which call failed — and they must be deterministic (no memory addresses) so stored notebook
outputs compare equal on every machine. Forward hooks give the module calls; a
``TorchFunctionMode`` gives the operations written in ``forward`` (``torch.cat``, ``+``, ...).

Modules that return their input (``nn.Identity``, ``Dropout`` in eval, a ``Lambda`` returning
``x``) hand back the very tensor object they received, so "which call returned this tensor"
alone would make every later user of ``x`` look like it read the pass-through's output: a
shortcut drawn in series. The post-hook therefore returns a fresh alias of the input (a view,
same values and storage) for the code to go on with, so the shortcut's result and ``x`` are
different objects, and a producer only counts for calls that started after it finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

# Operations written with Python operators get readable names.
_OPERATOR_NAMES = {
    "__add__": "add", "__radd__": "add", "__iadd__": "add",
    "__sub__": "sub", "__rsub__": "sub", "__isub__": "sub", "rsub": "sub",
    "__mul__": "mul", "__rmul__": "mul", "__imul__": "mul",
    "__truediv__": "div", "__rtruediv__": "div", "__matmul__": "matmul",
    "__rmatmul__": "matmul", "__getitem__": "getitem", "__neg__": "neg", "__pow__": "pow",
}


def operation_name(func) -> str:
    name = getattr(func, "__name__", str(func))
    return _OPERATOR_NAMES.get(name, name.strip("_"))


@dataclass
class Call:
    """One module call or one operation, in the order it started."""

    index: int
    kind: str  # "module", "operation" or "input"
    name: str  # qualified module name ("" for the model), operation name, or argument name
    type_name: str
    depth: int  # modules: number of name parts (the model is 0); operations: parent depth + 1
    parent: "Call | None"
    module: nn.Module | None = None
    call_number: int = 1  # 2 for the second call of the same module, ...
    inputs: list = field(default_factory=list)  # described values (see describe())
    outputs: list = field(default_factory=list)
    input_tensors: list = field(default_factory=list)
    output_tensors: list = field(default_factory=list)
    detail: str = ""  # e.g. "dim=1" for cat
    children: list = field(default_factory=list)
    error: BaseException | None = None
    finished: bool = False
    started: int = -1  # tick of the tracer's clock when the call began (inputs: -1)
    ended: int | None = None  # tick when it returned (None: it never returned)
    passes_through: bool = False  # a module that returned (part of) its input unchanged

    def ended_before(self, other: "Call | None") -> bool:
        """Whether this call had returned by the time ``other`` began (``None``: the end)."""
        if self.ended is None:
            return False
        return other is None or self.ended < other.started

    @property
    def label(self) -> str:
        """Name a person reads: `fc1`, `fc1 (call 2)`, `cat`, or the model's class name."""
        base = self.name or self.type_name
        return base if self.call_number == 1 else f"{base} (call {self.call_number})"


def flatten_tensors(value) -> list:
    """Every tensor inside nested tuples, lists and dicts, in order."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in flatten_tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in flatten_tensors(item)]
    return []


def shape_text(shape) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def describe(value) -> str:
    """A short, address-free description: shapes for tensors, values for plain Python."""
    if isinstance(value, torch.Tensor):
        return shape_text(value.shape)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        value = value._asdict()
    if isinstance(value, (list, tuple)):
        inner = ", ".join(describe(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {describe(v)}" for k, v in value.items()) + "}"
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 20 else repr(value[:17] + "...")
    return type(value).__name__


@dataclass
class Trace:
    model: nn.Module
    calls: list  # every Call, in start order
    root: Call | None
    output: object = None
    error: BaseException | None = None
    # id(tensor) -> calls that returned it, innermost first (the calls keep the tensors alive,
    # so an id cannot be reused while the trace exists)
    producers: dict = field(default_factory=dict)
    parameter_names: dict = field(default_factory=dict)  # id(parameter) -> name
    inputs: list = field(default_factory=list)  # pseudo-calls of kind "input"

    @property
    def module_calls(self) -> list:
        return [c for c in self.calls if c.kind == "module"]

    def producers_of(self, tensor) -> list:
        return list(self.producers.get(id(tensor), []))

    def producer_of(self, tensor, before: Call | None = None) -> Call | None:
        """The outermost call that returned this tensor (`branch1`, not `branch1.1`).

        With ``before``, only calls that had returned when ``before`` began count: a tensor
        changed in place later (``x.relu_()``) was not yet that call's output for ``before``.
        """
        calls = [c for c in self.producers.get(id(tensor), []) if c.ended_before(before)]
        return calls[-1] if calls else None

    def modules_not_run(self) -> list:
        ran = {id(c.module) for c in self.module_calls}
        return [(n, m) for n, m in self.model.named_modules() if id(m) not in ran]

    @property
    def failed_call(self) -> Call | None:
        """The innermost call that raised (the operation or module where the error began)."""
        failed = [c for c in self.calls if c.error is not None]
        return max(failed, key=lambda c: c.index) if failed else None


class _OperationRecorder(TorchFunctionMode):
    """Records tensor operations that run outside any leaf module."""

    def __init__(self, tracer: "_Tracer"):
        super().__init__()
        self.tracer = tracer

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        tracer = self.tracer
        parent = tracer.stack[-1] if tracer.stack else None
        inside_leaf = parent is not None and parent.module is not None and not any(
            True for _ in parent.module.children()
        )
        if inside_leaf or parent is None or tracer.recording_paused:
            return func(*args, **kwargs)
        try:
            result = func(*args, **kwargs)
        except Exception as error:
            call = tracer.new_call("operation", operation_name(func), parent, args, kwargs, func)
            call.error = error
            call.finished = True
            raise
        if not flatten_tensors(result) or isinstance(result, nn.Parameter):
            return result  # size(), dim(), item(), parameter access: not a step of the data flow
        call = tracer.new_call("operation", operation_name(func), parent, args, kwargs, func)
        tracer.finish(call, result)
        return result


class _Tracer:
    def __init__(self, model: nn.Module):
        self.model = model
        self.calls: list = []
        self.stack: list = []
        self.producers: dict = {}
        self.call_counts: dict = {}
        self.names = {id(m): n for n, m in model.named_modules()}
        self.parameter_names = {id(p): n for n, p in model.named_parameters()}
        self.recording_paused = False
        self.inputs: list = []  # one pseudo-call per input tensor
        self.clock = 0  # ticks at every call's start and end: "ran before" without addresses

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def new_call(self, kind, name, parent, args, kwargs, func=None, module=None):
        depth = parent.depth + 1 if parent is not None else 0  # nesting of calls
        call = Call(index=len(self.calls), kind=kind, name=name,
                    type_name=type(module).__name__ if module is not None else name,
                    depth=depth, parent=parent, module=module)
        call.started = self.tick()
        values = list(args) + list(kwargs.values())
        call.inputs = [self.describe_input(v) for v in values]
        call.input_tensors = flatten_tensors(values)
        if kind == "operation":
            call.detail = _operation_detail(call.name, args, kwargs)
        if parent is not None:
            parent.children.append(call)
        self.calls.append(call)
        return call

    def describe_input(self, value) -> str:
        name = self.parameter_names.get(id(value)) if isinstance(value, torch.Tensor) else None
        return f"{name} {describe(value)}" if name else describe(value)

    def finish(self, call, result):
        call.outputs = [describe(result)]
        call.output_tensors = flatten_tensors(result)
        call.finished = True
        call.ended = self.tick() if call.kind != "input" else -1
        for tensor in call.output_tensors:
            self.producers.setdefault(id(tensor), []).append(call)  # inner first, outer last

    def pre_hook(self, module, args, kwargs):
        name = self.names.get(id(module), type(module).__name__)
        count = self.call_counts.get(id(module), 0) + 1
        self.call_counts[id(module)] = count
        parent = self.stack[-1] if self.stack else None
        call = self.new_call("module", name, parent, args, kwargs, module=module)
        call.call_number = count
        self.stack.append(call)

    def post_hook(self, module, args, kwargs, result):
        call = self.stack.pop()
        returned = result
        # The model itself returning its input stays as it is; so does a module that changed
        # its input in place (`ReLU(inplace=True)`): x itself is its output from now on, and
        # calls that read x earlier are told apart by time (`Call.ended_before`).
        if call.parent is not None and getattr(module, "inplace", False) is not True:
            returned = self.separate(result, {id(t) for t in call.input_tensors})
        self.finish(call, returned)
        if returned is result:
            return None
        call.passes_through = True
        return returned  # the forward pass goes on with the alias

    def separate(self, value, input_ids: set):
        """``value`` with every tensor that is one of ``input_ids`` replaced by an alias.

        The alias (``view_as``: same values, same storage, no copy) is a new object, so the
        tensor the module returned and the tensor it received can be told apart by the
        calls that use them. Returns ``value`` itself when nothing was replaced.
        """
        if isinstance(value, torch.Tensor):
            if id(value) not in input_ids:
                return value
            paused, self.recording_paused = self.recording_paused, True
            try:
                return value.view_as(value)
            except Exception:  # a tensor kind without views: keep the object
                return value
            finally:
                self.recording_paused = paused
        if isinstance(value, (tuple, list)) and type(value) in (tuple, list):
            items = [self.separate(item, input_ids) for item in value]
            if all(new is old for new, old in zip(items, value)):
                return value
            return type(value)(items)
        return value

    def run(self, inputs, kwargs) -> Trace:
        handles = []
        for module in self.model.modules():
            handles.append(module.register_forward_pre_hook(self.pre_hook, with_kwargs=True))
            handles.append(module.register_forward_hook(self.post_hook, with_kwargs=True))
        output, error = None, None
        for position, tensor in enumerate(flatten_tensors(list(inputs) + list(kwargs.values()))):
            call = Call(index=-1 - position, kind="input", name=f"input {position + 1}" if
                        len(inputs) + len(kwargs) > 1 else "input", type_name="input",
                        depth=0, parent=None)
            self.finish(call, tensor)
            self.inputs.append(call)
        try:
            with _OperationRecorder(self):
                output = self.model(*inputs, **kwargs)
        except Exception as raised:  # the lesson gets a picture or an explanation, not a traceback
            error = raised
            for call in self.stack:  # calls still open when the error went through
                call.error = raised
            self.stack.clear()
        finally:
            for handle in handles:
                handle.remove()
        return Trace(model=self.model, calls=self.calls,
                     root=self.calls[0] if self.calls else None, output=output, error=error,
                     producers=self.producers, parameter_names=self.parameter_names,
                     inputs=self.inputs)


def _operation_detail(name, args, kwargs) -> str:
    if name in ("cat", "concat", "concatenate", "stack"):
        dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
        return f"dim={dim}"
    if name in ("flatten",):
        start = kwargs.get("start_dim", args[1] if len(args) > 1 else 0)
        return f"start_dim={start}"
    return ""


def trace_forward(model: nn.Module, inputs: tuple, kwargs: dict | None = None,
                  grad: bool = False) -> Trace:
    """Run ``model(*inputs, **kwargs)`` once with recording on; never raises for model errors."""
    with torch.set_grad_enabled(grad):
        return _Tracer(model).run(tuple(inputs), dict(kwargs or {}))


def first_error_line(error: BaseException) -> str:
    """`RuntimeError: mat1 and mat2 shapes cannot be multiplied (1x15 and 20x30)`."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
