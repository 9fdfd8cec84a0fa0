"""``trace_shapes``: a table of every module call and operation of one forward pass.

Why a table of *calls* and not of modules: a module used twice runs twice with different
tensors, a conditional layer may not run at all, and ``torch.cat``/``+`` between modules are
where shapes change in branching and residual models. Each of those gets its own row or note.
"""

from __future__ import annotations

from torch import nn

from .table import Table
from .tracing import Call, Trace, first_error_line, trace_forward


def count(n: int) -> str:
    return f"{n:,}"


def parameter_summary(module: nn.Module) -> tuple[int, str]:
    """(number of parameters, 'yes' / 'frozen' / 'partly' / '')."""
    params = list(module.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    if total == 0:
        return 0, ""
    if trainable == total:
        return total, "yes"
    return total, "frozen" if trainable == 0 else "partly"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def not_run_text(trace: Trace) -> str:
    """Modules that did not run, a skipped block named once ("b (Block) and its 3 submodules").

    Containers that cannot be called (ModuleList, ModuleDict) are not reported.
    """
    missing = [(n, m) for n, m in trace.modules_not_run()
               if n and not isinstance(m, (nn.ModuleList, nn.ModuleDict))]
    names = {n for n, _ in missing}
    out = []
    for name, module in missing:
        if any(name.startswith(other + ".") for other in names):
            continue
        inner = sum(1 for other in names if other.startswith(name + "."))
        text = f"{name} ({type(module).__name__})"
        out.append(text + (f" and its {plural(inner, 'submodule')}" if inner else ""))
    return ", ".join(out)


def call_row(call: Call) -> tuple[list, str]:
    failed = call.error is not None
    outputs = "raised an error" if failed else ", ".join(call.outputs)
    if call.kind == "module":
        total, trainable = parameter_summary(call.module)
        params = "shared" if call.call_number > 1 and total else (count(total) if total else "0")
        name = call.label if call.name else "(model)"
        row = [name, call.type_name, ", ".join(call.inputs), outputs, params, trainable]
    else:
        kind = f"op {call.detail}".strip()
        row = [call.name, kind, ", ".join(call.inputs), outputs, "", ""]
    return row, "error" if failed else ""


class ShapeTable(Table):
    """The table ``trace_shapes`` returns; ``.trace`` keeps the recorded calls for code."""

    def __init__(self, trace: Trace):
        self.trace = trace
        rows, marks, indents = [], [], []
        for call in trace.calls:
            row, mark = call_row(call)
            rows.append(row)
            marks.append(mark)
            indents.append(call.depth)
        super().__init__(
            f"shapes of one forward pass through {type(trace.model).__name__}",
            ["call", "type", "input shapes", "output shapes", "params", "trainable"],
            rows, notes=self._notes(trace), indents=indents, marks=marks, right_aligned={4})

    @staticmethod
    def _notes(trace: Trace) -> list:
        notes = []
        skipped = not_run_text(trace)
        if skipped:
            notes.append("did not run this time: " + skipped)
        modules = trace.module_calls
        operations = [c for c in trace.calls if c.kind == "operation"]
        total, _ = parameter_summary(trace.model)
        trainable = sum(p.numel() for p in trace.model.parameters() if p.requires_grad)
        used = {}
        for call in modules:
            for p in call.module.parameters(recurse=False):
                used[id(p)] = p.numel()
        for call in operations:
            for tensor in call.input_tensors:
                if id(tensor) in trace.parameter_names:
                    used[id(tensor)] = tensor.numel()
        notes.append(
            f"total: {plural(len(modules), 'module call')}, "
            f"{plural(len(operations), 'operation')}; "
            f"{count(total)} parameters ({count(trainable)} trainable, "
            f"{count(total - trainable)} frozen), {count(sum(used.values()))} used this run")
        failed = trace.failed_call
        if failed is not None:
            where = failed.label if failed.kind == "module" else f"operation {failed.name}"
            notes.append(f"the forward pass failed in {where or '(model)'}: "
                         f"{first_error_line(trace.error)}")
            notes.append("explain_shape_error(model, *inputs) says why in plain words.")
        return notes


def trace_shapes(model: nn.Module, *inputs, **kwargs) -> ShapeTable:
    """Run ``model(*inputs, **kwargs)`` once and tabulate every call in execution order.

    Never raises for an error inside the model: the table stops at the failing call, marks it,
    and says which error it was.
    """
    return ShapeTable(trace_forward(model, inputs, kwargs))
