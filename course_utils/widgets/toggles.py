"""Checkboxes that switch a model's conditional layers on and off, redrawn live.

Lesson 07 teaches that ``forward`` is ordinary Python: an ``if`` decides which layers run.
Toggling a checkbox and watching the graph, the output shape and the count of parameters
actually used change makes that visible. A switch is either an attribute of the model
holding a bool (``"adaptive_layer.add_condition"``) or a keyword argument of ``forward``
(``"arg:condition"``).
"""

import inspect
import time

import ipywidgets as widgets
import torch
from ._output import guarded, show, show_text

ARG_PREFIX = "arg:"


def _resolve(model, path):
    """The object holding the attribute at ``path`` and the attribute's name."""
    *parents, name = path.split(".")
    owner = model
    for part in parents:
        owner = getattr(owner, part)
    if not hasattr(owner, name):
        raise AttributeError(f"layer_toggles: {type(owner).__name__} has no attribute {name!r} ({path})")
    return owner, name


def _default_arg(model, name):
    """The default of ``forward``'s parameter ``name``, or False when it has none."""
    parameter = inspect.signature(model.forward).parameters.get(name)
    if parameter is None:
        raise TypeError(f"layer_toggles: {type(model).__name__}.forward has no parameter {name!r}")
    default = parameter.default
    return bool(default) if default is not inspect.Parameter.empty else False


def _shape_text(output):
    """``(2, 40)`` for a tensor; shapes of each item for a tuple, list or dict of tensors."""
    if isinstance(output, torch.Tensor):
        return str(tuple(output.shape))
    if isinstance(output, (tuple, list)):
        return "(" + ", ".join(_shape_text(item) for item in output) + ")"
    if isinstance(output, dict):
        return "{" + ", ".join(f"{k}: {_shape_text(v)}" for k, v in output.items()) + "}"
    return type(output).__name__


def count_parameters(modules):
    """Parameters owned directly by ``modules`` (each shared tensor counted once)."""
    seen = {}
    for module in modules:
        for parameter in module.parameters(recurse=False):
            seen[id(parameter)] = parameter.numel()
    return sum(seen.values())


def run_and_record(model, inputs, kwargs):
    """Run ``model`` once; return its output and the modules that ran, in the order called."""
    ran = []
    names = {module: name for name, module in model.named_modules()}
    handles = [
        module.register_forward_pre_hook(lambda m, _i: ran.append(m))
        for module in names
    ]
    try:
        with torch.no_grad():
            output = model(*inputs, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
    return output, [names[m] or f"({type(m).__name__})" for m in ran], ran


class LayerToggles(widgets.VBox):
    """One checkbox per conditional layer; each change reruns forward and redraws.

    Attributes: ``checkboxes`` (label -> Checkbox), ``shape_label``, ``params_label``,
    ``graph_output`` (also ``output``: errors are shown there), ``last_redraw_ms``,
    ``used_parameters``, ``total_parameters``, ``modules_ran``, ``last_error``.
    """

    def __init__(self, model, *inputs, switches, initial=None, graph=True):
        if not switches:
            raise ValueError("layer_toggles needs at least one switch: {label: path or 'arg:NAME'}")
        self.model = model
        self.inputs = inputs
        self.switches = dict(switches)
        self.graph = graph
        self.last_error = None
        self.last_redraw_ms = None
        self.redraws = 0
        self.graph_note = ""
        self.total_parameters = sum(p.numel() for p in model.parameters())
        self.used_parameters = None
        self.modules_ran = []

        initial = dict(initial or {})
        self.checkboxes = {}
        for label, target in self.switches.items():
            if label in initial:
                value = bool(initial[label])
            elif target.startswith(ARG_PREFIX):
                value = _default_arg(model, target[len(ARG_PREFIX):])
            else:
                owner, name = _resolve(model, target)
                value = bool(getattr(owner, name))
            self.checkboxes[label] = widgets.Checkbox(
                value=value, description=label, indent=False,
                layout=widgets.Layout(width="auto", margin="0 1.5em 0 0"),
            )
        self.shape_label = widgets.Label("output shape: …")
        self.params_label = widgets.Label("parameters: …")
        self.graph_output = widgets.Output(layout=widgets.Layout(min_height="2em"))
        self.output = self.graph_output
        super().__init__([
            widgets.HBox(list(self.checkboxes.values())),
            self.shape_label,
            self.params_label,
            self.graph_output,
        ])
        self.add_class("course-layer-toggles")
        # stable hooks for the browser tests (tests/browser)
        self.shape_label.add_class("course-shape")
        self.params_label.add_class("course-params")
        self.graph_output.add_class("course-graph")

        self._redraw_guarded = guarded(self, self.graph_output)(self.redraw)
        for checkbox in self.checkboxes.values():
            checkbox.observe(lambda _change: self._redraw_guarded(), names="value")
        self._redraw_guarded()

    def forward_kwargs(self):
        """Keyword switches as ``forward`` receives them, e.g. ``{"condition": True}``."""
        return {
            target[len(ARG_PREFIX):]: self.checkboxes[label].value
            for label, target in self.switches.items()
            if target.startswith(ARG_PREFIX)
        }

    def apply_attribute_switches(self):
        """Write each attribute switch's checkbox into the model (e.g. ``add_condition``)."""
        for label, target in self.switches.items():
            if not target.startswith(ARG_PREFIX):
                owner, name = _resolve(self.model, target)
                setattr(owner, name, self.checkboxes[label].value)

    def redraw(self):
        """Rerun the forward pass with the current switches and redraw everything."""
        start = time.perf_counter()
        try:
            self.apply_attribute_switches()
            kwargs = self.forward_kwargs()
            output, self.modules_ran, ran = run_and_record(self.model, self.inputs, kwargs)
            self.used_parameters = count_parameters(ran)
            self.shape_label.value = f"output shape: {_shape_text(output)}"
            self.params_label.value = (
                f"parameters used: {self.used_parameters:,} of "
                f"{self.total_parameters:,} registered"
            )
            if self.graph:
                self._draw_graph(kwargs)
            else:
                self.graph_output.outputs = ()  # clear an earlier error
        except Exception:
            self.shape_label.value = "output shape: (forward failed, see below)"
            self.params_label.value = "parameters: (forward failed)"
            raise
        finally:
            self.redraws += 1
            self.last_redraw_ms = (time.perf_counter() - start) * 1000

    def _draw_graph(self, kwargs):
        """The forward graph; if drawing fails, the shape table, then a list of what ran."""
        import course_utils

        attempts = (
            ("graph", lambda: course_utils.draw_graph(self.model, *self.inputs, **kwargs)),
            ("trace_shapes", lambda: course_utils.trace_shapes(self.model, *self.inputs, **kwargs)),
            ("show_modules", lambda: course_utils.show_modules(self.model)),
        )
        reason = ""
        for note, draw in attempts:
            try:
                picture = draw()
                show(self.graph_output, *([reason] if reason else []), picture)
                self.graph_note = note
                return
            except Exception as exc:  # degrade to the next picture, and say why
                reason = reason or f"(graph unavailable: {type(exc).__name__}: {exc})"
        show_text(self.graph_output, reason + "\nmodules that ran: " + " -> ".join(self.modules_ran))
        self.graph_note = "text"


def layer_toggles(model, *inputs, switches, initial=None, graph=True):
    """Checkboxes for ``model``'s conditional layers; see :class:`LayerToggles`."""
    return LayerToggles(model, *inputs, switches=switches, initial=initial, graph=graph)
