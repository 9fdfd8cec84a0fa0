"""Helpers for the course *Composing PyTorch Models*.

Every lesson starts with ``import course_utils``. The import must stay cheap (the
benchmark holds it to 0.3 s over ``import torch``), so the public names below are
resolved lazily: the module that draws graphs is only imported when a lesson draws one.
"""

from importlib import import_module

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "draw_autograd": "course_utils.pictures",
    "draw_graph": "course_utils.pictures",
    "show_modules": "course_utils.pictures",
    "trace_shapes": "course_utils.pictures",
    "explain_shape_error": "course_utils.pictures",
    "check_environment": "course_utils.environment",
    "seed_everything": "course_utils.environment",
    "check_claims": "course_utils.claims",
}

# subpackages reachable as attributes (``course_utils.widgets.predict(...)``) without
# importing them up front
_SUBMODULES = {"pictures", "exercises", "widgets", "environment", "notebooks", "grade", "growth"}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _SUBMODULES:
        return import_module(f"course_utils.{name}")
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'course_utils' has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
