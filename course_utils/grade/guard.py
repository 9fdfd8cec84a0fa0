"""The grading kernel's verdict: computed by code loaded before any student cell, sealed with a
key that no cell can read.

``install`` runs once, in the kernel, after the exercise modules are imported and before the
first student cell. It keeps everything the verdict needs in a *keeper*: a generator whose
frame holds the key, the snapshot of what the checks rely on (``integrity``), the exercise
objects and private copies of the few builtins it uses. A notebook cannot read that frame:
``gen.gi_frame``, ``gc.get_objects/get_referents/get_referrers``, tracing, ``ctypes`` memory
reads and ``/proc/*/mem`` raise an audit event, and the audit hook installed here (which Python
code cannot remove) refuses them and remembers the attempt. The keeper seals only what the
genuine ``verdict`` function hands it (it checks the caller's code object and the verdict's
closure), so calling it with a made-up outcome earns nothing either.

The grader calls ``verdict`` through ``user_expressions`` of a silent execute request (no input
transformers, no cell hooks) right after each check cell, and accepts the result only when the
seal, the exercise and the request's fresh nonce match (``seal.unseal``).

What stays possible for code that runs in the same process is written down in
docs/grading.md ("What remains undefended").
"""

from __future__ import annotations

import builtins
import sys
import types

from course_utils.grade import integrity

# Each of these would let notebook code read the keeper's frame or rewrite the grader's code.
BLOCKED_EVENTS = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents",
                            "sys.settrace", "sys.setprofile", "sys._current_frames",
                            "ctypes.string_at", "ctypes.wstring_at", "ctypes.cdata"})
FRAME_ATTRIBUTES = frozenset({"gi_frame", "cr_frame", "ag_frame", "f_locals"})


def _private(function):
    """The same function with its own copy of its globals and builtins, so replacing a module
    global or a builtin after ``install`` does not change what it does."""
    namespace = dict(function.__globals__)
    namespace["__builtins__"] = dict(vars(builtins))
    return types.FunctionType(function.__code__, namespace, function.__name__,
                              function.__defaults__, function.__closure__)


def install(key: bytes, exercise_modules: list[types.ModuleType], shell, publish,
            writable: tuple[str, ...] = ("/tmp/", "/dev/")):
    """Build the keeper and the verdict function, hand both functions to ``publish`` (which
    puts them where check code finds them), then remember what the checks rely on."""
    from course_utils.exercises.engine import Exercise

    registry = {}
    for module in exercise_modules:
        for value in vars(module).values():
            if isinstance(value, Exercise):
                registry[value.id] = value
    attempts: list[str] = []
    seen_solutions: set[str] = set()
    keeper = _keeper(key, attempts, _private(integrity.changes), seen_solutions)
    next(keeper)
    verdict = _verdict_function(keeper, registry, shell.user_ns, Exercise.evaluate)
    add_seen = seen_solutions.add

    def solution_seen(exercise_id: str) -> None:
        """Called when notebook code shows or builds a reference solution."""
        add_seen(str(exercise_id))

    publish(verdict, solution_seen)
    keeper.send((verdict, integrity.take(tuple(m.__name__ for m in exercise_modules), shell)))
    import os

    sys.addaudithook(_audit_hook(keeper, attempts, (os.getcwd().rstrip("/") + "/",) + writable,
                                 _protected()))
    return verdict


def _protected() -> tuple[str, ...]:
    """Folders a notebook must never write to even where they lie under /tmp: the Python
    environment, the installed course_utils and every folder modules are imported from."""
    import os
    import site

    import course_utils

    folders = {sys.prefix, sys.base_prefix, os.path.dirname(course_utils.__path__[0]),
               *site.getsitepackages(), *[p for p in sys.path if p not in ("", ".")]}
    found = set()
    for folder in folders:
        for spelling in (os.path.abspath(folder), os.path.realpath(folder)):
            found.add(spelling.rstrip("/") + "/")
    found.discard("/")
    return tuple(sorted(found))


def _audit_hook(keeper, attempts, writable: tuple[str, ...], protected: tuple[str, ...] = ()):
    """Refuse what would expose the keeper or rewrite code; remember writes outside the
    notebook's own folder and /tmp (they fail in the sandbox, and they are attacks)."""
    import os

    blocked_events, frame_attributes = BLOCKED_EVENTS, FRAME_ATTRIBUTES
    append, startswith = attempts.append, str.startswith
    torch_folder = integrity.torch_folder()
    abspath, fspath, write_flags = os.path.abspath, os.fspath, os.O_WRONLY | os.O_RDWR | os.O_CREAT

    def hook(event, args):
        if event in blocked_events:
            append(event)
            raise RuntimeError(f"the grader does not allow {event} while grading")
        if event == "object.__getattr__" and args[1] in frame_attributes and args[0] is keeper:
            append("reading the grader's frame")
            raise RuntimeError("the grader's state cannot be read while grading")
        if event == "object.__setattr__" and args[1] in ("__code__", "__closure__"):
            append(f"replacing a function's {args[1]}")
            raise RuntimeError("the grader does not allow replacing code objects while grading")
        if event == "compile" and isinstance(args[1], str) and startswith(args[1], torch_folder):
            append("compiling code under a torch file name")
            raise RuntimeError("the grader does not allow code that poses as torch's own")
        if event == "code.__new__":
            append("building a code object")
            raise RuntimeError("the grader does not allow building code objects while grading")
        if event == "ctypes.dlsym" and getattr(args[0], "_name", "") is None:
            append("ctypes.pythonapi")
            raise RuntimeError("the grader does not allow ctypes.pythonapi while grading")
        if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            path = fspath(args[0])
            path = path.decode(errors="replace") if isinstance(path, bytes) else path
            if startswith(path, "/proc/") and path.endswith("mem"):
                append("reading process memory")
                raise RuntimeError("the grader does not allow reading process memory while grading")
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & write_flags)
            where = abspath(path) + "/"
            if writing and (not startswith(where, writable) or startswith(where, protected)):
                append(f"writing to {abspath(path)}")

    return hook


def _keeper(key, attempts, changes, seen_solutions):
    """Holds the key and the snapshot; seals what the genuine verdict function reports."""
    hmac_digest = __import__("_hashlib").hmac_digest
    getframe, tuple_, list_, len_, str_, all_, zip_ = sys._getframe, tuple, list, len, str, all, zip
    sorted_, set_, isinstance_ = sorted, set, isinstance
    verdict, places = yield None
    closure = tuple_(cell.cell_contents for cell in verdict.__closure__ or ())
    code = verdict.__code__
    request = yield None
    while True:
        caller = getframe(1)
        cells = verdict.__closure__ or ()
        genuine = (caller.f_code is code and verdict.__code__ is code and len_(cells) == len_(closure)
                   and all_(c.cell_contents is e for c, e in zip_(cells, closure)))
        kind = request[0] if isinstance_(request, tuple_) and len_(request) > 0 else ""
        if kind == "begin":
            request = yield list_(changes(places)) + list_(attempts)
        elif kind == "seal" and genuine:
            nonce, exercise, status, message, findings = request[1:]
            findings = list_(findings) + list_(changes(places)) + list_(attempts)
            if findings:
                status = "tampered"
            used = "yes" if exercise in seen_solutions else "no"
            fields = [str_(nonce), str_(exercise), str_(status), str_(message).replace("\x1f", " "),
                      "\x1e".join(sorted_(set_(findings))).replace("\x1f", " "), used]
            text = "\x1f".join(fields)
            request = yield text + "\x1f" + hmac_digest(key, text.encode(), "sha256").hex()
        else:
            request = yield None


def _verdict_function(keeper, registry, user_ns, evaluate):
    send = keeper.send
    evaluate_ = _private(evaluate)
    eval_ = eval
    str_ = str
    keyboard = KeyboardInterrupt

    def verdict(exercise_id, answer_expression, nonce):
        findings = list(send(("begin",)))
        exercise = registry.get(exercise_id)
        if exercise is None:
            return send(("seal", nonce, exercise_id, "fault",
                         f"the grader could not find exercise {exercise_id}", findings))
        try:
            try:
                answer = eval_(answer_expression, user_ns)
            except NameError:
                status, message = "not correct", (
                    f"`{answer_expression}` is not defined: the cell that defines it was deleted "
                    "or never ran.")
            else:
                outcome = evaluate_(exercise, answer)
                status = "correct" if outcome.status == "correct" else "not correct"
                message = str_(outcome.message)
                if outcome.status != "correct":
                    message = f"{outcome.status.replace('_', ' ')}: {message}"
        except keyboard:
            raise
        except BaseException as error:  # noqa: BLE001 - whatever the answer raised
            status, message = "not correct", f"the check could not finish: {type(error).__name__}"
        return send(("seal", nonce, exercise_id, status, message, findings))

    return verdict


__all__ = ["install"]
