"""What the checks rely on, remembered before student code runs and compared before a verdict.

A check computes its verdict with torch, ``torch.nn``, the standard library and the course's
own modules. A notebook that replaces any of those (``torch.allclose = lambda *a: True``, a
``functools.wraps`` wrapper, ``nn.Conv2d = MyConv2d``, ``engine.Exercise.evaluate = ...``, an
instance attribute that shadows ``check_answer``, a ``sys.modules`` entry swapped for a fake)
changes what the check computes. ``take`` remembers the objects themselves, ``changes`` names
every one that is no longer the same object. Comparison is by identity only, so nothing a
student defines (``__eq__``, ``__hash__``) runs while comparing.
"""

from __future__ import annotations

import os
import sys
import types

# Modules whose functions and classes the checks use, beyond the course's own modules and
# every module those import.
BASE_MODULES = ("builtins", "torch", "torch.nn", "torch.nn.functional", "torch.nn.init",
                "torch.nn.modules.module", "torch.testing", "torch.optim", "torch.autograd",
                "torch.random", "numpy", "math", "operator", "copy", "inspect", "functools",
                "collections", "itertools", "re", "ast", "types", "traceback", "linecache",
                "json", "hmac", "hashlib", "importlib", "textwrap", "IPython.display",
                "IPython.core.display_functions")
# The IPython shell's machinery a notebook could bend: what rewrites a cell before it runs,
# what handles its errors, what shows its results.
SHELL_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
SHELL_ATTRIBUTES = ("custom_exceptions", "CustomTB", "display_pub", "displayhook",
                    "display_formatter", "showtraceback", "run_cell", "run_ast_nodes",
                    "transform_cell", "user_expressions")
COURSE_PREFIXES = ("course_utils",)
# torch wraps these itself, later: ``torch.manual_seed`` when torch._dynamo is first imported,
# an optimizer class's ``step`` when the class is first instantiated. Importing torch._dynamo up
# front would cost about a second per kernel, so a replacement is accepted here only when it is
# torch's own wrapper: its ``__wrapped__`` is the original and its code comes from torch's files
# (the guard refuses to compile code under a torch file name once grading starts).
LAZILY_WRAPPED = {"torch": {"manual_seed"}}
LAZILY_WRAPPED_METHODS = {"step"}
# ipykernel rebinds these per cell; IPython's builtin trap adds and removes the others.
VOLATILE = {"builtins": {"input", "raw_input", "getpass", "exit", "quit", "get_ipython",
                         "display", "__IPYTHON__", "_", "__", "___"},
            "sys": {"last_type", "last_value", "last_traceback", "last_exc"}}  # set by tracebacks


def _watched_modules(extra: tuple[str, ...]) -> dict[str, types.ModuleType]:
    names = set(BASE_MODULES) | set(extra)
    names |= {name for name in sys.modules if name.startswith(COURSE_PREFIXES)}
    modules = {n: sys.modules[n] for n in names if isinstance(sys.modules.get(n), types.ModuleType)}
    for module in list(modules.values()):   # what the course's modules import, one level deep
        if module.__name__.startswith(COURSE_PREFIXES) or module.__name__ in extra:
            for value in vars(module).values():
                if isinstance(value, types.ModuleType):
                    modules.setdefault(value.__name__, value)
    return modules


def _behaviour(name: str, value) -> bool:
    """Entries that decide what code does: functions, classes, descriptors, modules, and the
    exercise objects (instances of course classes)."""
    if callable(value) or isinstance(value, types.ModuleType) or hasattr(type(value), "__get__"):
        return True
    return type(value).__module__.startswith(COURSE_PREFIXES)


def torch_folder() -> str:
    torch = sys.modules.get("torch")
    return os.path.dirname(torch.__file__) + os.sep if torch is not None else "/nonexistent/"


def _torch_wrapper(value, original, folder: str) -> bool:
    code = getattr(value, "__code__", None)
    return (getattr(value, "__wrapped__", None) is original and code is not None
            and code.co_filename.startswith(folder))


def shell_places(shell) -> list[tuple]:
    """Places for the IPython shell: its transformer lists (compared by content) and the
    attributes that handle, run and show a cell (compared by identity)."""
    places = []
    for name in SHELL_LISTS:
        current = getattr(shell, name, None)
        if isinstance(current, list):
            places.append((f"get_ipython().{name}", "list",
                           (lambda name=name: getattr(shell, name, None)), list(current),
                           frozenset(), frozenset()))
    def unbound(value):   # a bound method is a new object on every access: compare its function
        return getattr(value, "__func__", value)

    attributes = {name: unbound(getattr(shell, name)) for name in SHELL_ATTRIBUTES
                  if hasattr(shell, name)}
    places.append(("get_ipython()", "attrs", (lambda: {n: unbound(getattr(shell, n, None))
                                                       for n in attributes}),
                   attributes, frozenset(), frozenset()))
    return places


def take(extra_modules: tuple[str, ...] = (), shell=None) -> list[tuple]:
    """The snapshot: (label, kind, live namespace, remembered entries, keys then, names torch
    may wrap later) per place."""
    modules = _watched_modules(tuple(extra_modules))
    optimizer = getattr(sys.modules.get("torch.optim"), "Optimizer", None)
    places: list[tuple[str, str, dict, dict]] = []
    classes: dict[int, type] = {}
    instances: dict[int, object] = {}
    for name, module in sorted(modules.items()):
        namespace = vars(module)
        skip = VOLATILE.get(name, set())
        places.append((name, "module", namespace, {k: v for k, v in namespace.items()
                                                   if k not in skip and _behaviour(k, v)},
                       frozenset(namespace) | skip, frozenset(LAZILY_WRAPPED.get(name, ()))))
        for value in namespace.values():
            if isinstance(value, type):
                classes.setdefault(id(value), value)
            elif type(value).__module__.startswith(COURSE_PREFIXES) and hasattr(value, "__dict__"):
                instances.setdefault(id(value), value)
    for cls in list(classes.values()):
        for base in cls.__mro__:
            classes.setdefault(id(base), base)
    for cls in classes.values():
        label = f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', cls.__name__)}"
        namespace = vars(cls)
        places.append((label, "class", namespace, {k: v for k, v in namespace.items()
                                                   if _behaviour(k, v) and k != "__dict__"},
                       frozenset(namespace),
                       frozenset(LAZILY_WRAPPED_METHODS) if optimizer is not None
                       and issubclass(cls, optimizer) else frozenset()))
    for obj in instances.values():
        label = getattr(obj, "id", "") or f"{type(obj).__qualname__} object"
        places.append((label if isinstance(label, str) else type(obj).__qualname__, "instance", vars(obj), dict(vars(obj)),
                       frozenset(vars(obj)), frozenset()))
    places.append(("sys.modules", "modules", sys.modules, dict(modules), frozenset(), frozenset()))
    places.append(("sys.meta_path", "list", (lambda: sys.meta_path), list(sys.meta_path),
                   frozenset(), frozenset()))
    return places + (shell_places(shell) if shell is not None else [])


def changes(places) -> list[str]:
    """Names of remembered entries replaced or deleted since ``take``; and added entries that
    change behaviour: a callable added to a class or an exercise object (it shadows an
    inherited method), a module global that shadows a builtin."""
    import builtins

    found = set()
    folder = torch_folder()
    for label, kind, live, remembered, keys, lazy in places:
        if kind == "list":
            now = live()
            if not isinstance(now, list) or len(now) != len(remembered) or any(
                    a is not b for a, b in zip(now, remembered)):
                found.add(label)
            continue
        if kind == "attrs":
            live = live()
        for key, value in remembered.items():
            now = live.get(key, _MISSING)
            if now is not value and not (key in lazy and _torch_wrapper(now, value, folder)):
                found.add(f"sys.modules[{key!r}]" if kind == "modules" else f"{label}.{key}")
        if kind in ("class", "instance", "module") and len(live) != len(keys):
            for key in [k for k in live if k not in keys]:
                value = live.get(key)
                if kind == "module" and (label == "builtins" or key.startswith("__")
                                         or not hasattr(builtins, key)):
                    continue   # a new module global matters only where it shadows a builtin
                if callable(value) or hasattr(type(value), "__get__"):
                    found.add(f"{label}.{key} (added)")
    return sorted(found)


_MISSING = object()
