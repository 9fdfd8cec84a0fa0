"""Widgets of the course: predict-then-reveal, conditional-layer toggles, gradient flow.

Each is one function call in a notebook. Callbacks draw into the widget's own output area
and show any exception there (see ``_output.py``), so nothing fails silently in JupyterLab.
"""

from importlib import import_module

_LAZY = {
    "predict": "course_utils.widgets.prediction",
    "PredictWidget": "course_utils.widgets.prediction",
    "layer_toggles": "course_utils.widgets.toggles",
    "LayerToggles": "course_utils.widgets.toggles",
    "gradient_flow": "course_utils.widgets.gradients",
    "gradient_norms": "course_utils.widgets.gradients",
    "GradientFlow": "course_utils.widgets.gradients",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'course_utils.widgets' has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
