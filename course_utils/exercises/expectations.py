"""Expectations: what the references did, recorded when the graded release is built, replayed in it.

Checks reach a reference only through ``solution_object()`` / ``reference_answer()``, and both go
through the engine's reference hook (``engine.set_reference_hook``).

**Recording** (building the graded release, where the solutions are installed): ``Recorder.hook``
hands a check the real reference, wrapped so that what the check makes it do is written down:

- a module class: a subclass that, once built, records (its arguments, the random state) -> the
  module tree it built, with every parameter and buffer, and the random state after;
- every module of such a tree whose ``forward`` comes from the solution gets hooks that record
  (inputs, its parameters and buffers, train/eval) -> outputs, and, when a gradient flows back
  through it, (gradient of the outputs) -> gradients of its parameters and inputs;
- a module instance: its tree, and the same hooks; a function: (arguments) -> result.

Recording runs the check on the reference answer and on every answer of the exercise tests (right
and wrong), on the release's fixed inputs (secret 0), so the common paths are all covered.

**Replay** (the graded release, no solutions): the reference a check asks for is a stand-in built
from the recording. A class's instances are rebuilt from the recorded tree: library layers (torch,
course_utils) are real layers holding the recorded weights, so what a check computes with them,
copies out of them or changes in them happens for real; only a ``forward`` written in the solution
is replayed, by looking up its inputs and state (exactly, or within the checks' tolerance, since
another CPU may round the last bit differently). Outputs replayed under autograd carry the
recorded gradients back. Whatever the recording does not hold raises ``NotCheckedHere``: the check
says "checked when graded", never "correct".

Everything is plain data (``course_utils.probes.wire``: JSON, tensors as raw bytes), one file per
lesson, tensors stored once by digest. No pickle, no code of the solution.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import weakref
from pathlib import Path

import torch
from torch import nn

from course_utils.exercises import engine
from course_utils.exercises.engine import NotCheckedHere, SolutionUnavailable
from course_utils.probes import wire

FORMAT = 1
TENSOR = "\u0000tensor"        # {TENSOR: digest} stands for a tensor of the table
IMPORTABLE_FROM = ("torch", "course_utils")   # library classes a tree may name
ATOL, RTOL = 1e-5, 1e-4        # the checks' tolerance (checks.ATOL/RTOL): inputs another CPU rounds differently
_MODULE_INTERNALS = frozenset(vars(nn.Module()))


class Unrecordable(Exception):
    """A value that is not plain data (it cannot key or hold a recording)."""


class _MissingAttribute(NotCheckedHere, AttributeError):
    """An attribute of the reference that the recording does not hold (``hasattr`` says False)."""


# --- plain data ---------------------------------------------------------------------------------

def tensor_digest(tensor: torch.Tensor) -> str:
    data = tensor.detach().to("cpu").contiguous()
    digest = hashlib.sha256(f"{str(data.dtype)}|{tuple(data.shape)}|".encode())
    digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:40]


def _plain_tensor(tensor: torch.Tensor) -> torch.Tensor:
    tensor = tensor.detach()
    return tensor if type(tensor) is torch.Tensor else tensor.as_subclass(torch.Tensor)


def pack(value, put=None):
    """``value`` as plain data with every tensor replaced by ``{TENSOR: digest}``; ``put(digest,
    tensor)`` keeps the tensors (recording). Raises ``Unrecordable`` for anything else."""
    if isinstance(value, torch.Tensor):
        tensor = _plain_tensor(value)
        if str(tensor.dtype).removeprefix("torch.") not in wire.DTYPES:
            raise Unrecordable(f"a tensor of dtype {tensor.dtype}")
        digest = tensor_digest(tensor)
        if put is not None:
            put(digest, tensor)
        return {TENSOR: digest}
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, torch.Size) or type(value) is tuple:
        return tuple(pack(item, put) for item in value)
    if type(value) is list:
        return [pack(item, put) for item in value]
    if type(value) is dict and all(type(key) is str for key in value):
        return {key: pack(item, put) for key, item in value.items()}
    raise Unrecordable(f"a {type(value).__name__}")


def _is_ref(value) -> bool:
    return type(value) is dict and len(value) == 1 and TENSOR in value


def unpack(packed, tensor):
    """The value back, each tensor a fresh copy from ``tensor(digest)``."""
    if _is_ref(packed):
        return tensor(packed[TENSOR]).clone()
    if type(packed) is list:
        return [unpack(item, tensor) for item in packed]
    if type(packed) is tuple:
        return tuple(unpack(item, tensor) for item in packed)
    if type(packed) is dict:
        return {key: unpack(item, tensor) for key, item in packed.items()}
    return packed


def digests(packed) -> list[str]:
    """The tensor digests of a packed value, in order."""
    if _is_ref(packed):
        return [packed[TENSOR]]
    if type(packed) in (list, tuple):
        return [d for item in packed for d in digests(item)]
    if type(packed) is dict:
        return [d for item in packed.values() for d in digests(item)]
    return []


def tensors_of(value) -> list[torch.Tensor]:
    """The tensors of a live value, in the order ``pack`` visits them."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in tensors_of(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in tensors_of(item)]
    return []


def _replace_tensors(value, new: list):
    if isinstance(value, torch.Tensor):
        return new.pop(0)
    if isinstance(value, tuple):
        return tuple(_replace_tensors(item, new) for item in value)
    if isinstance(value, list):
        return [_replace_tensors(item, new) for item in value]
    if isinstance(value, dict):
        return {key: _replace_tensors(item, new) for key, item in value.items()}
    return value


def _key(*parts) -> str:
    return hashlib.sha256(wire.encode(list(parts)).encode()).hexdigest()[:40]


def _rng() -> torch.Tensor:
    return torch.random.get_rng_state()


def _signature(packed, shapes: dict) -> str:
    """The packed value with each tensor replaced by its dtype and shape."""
    def strip(value):
        if _is_ref(value):
            return shapes[value[TENSOR]]
        if type(value) is list:
            return [strip(item) for item in value]
        if type(value) is tuple:
            return tuple(strip(item) for item in value)
        if type(value) is dict:
            return {key: strip(item) for key, item in value.items()}
        return value
    return _key(strip(packed))


def _shape_of(tensor: torch.Tensor) -> list:
    return [str(tensor.dtype), list(tensor.shape)]


# --- modules: which are library code, which come from a solution ---------------------------------

def importable(cls) -> bool:
    """The class is what ``module.qualname`` names (a library or course class), not code of a
    solution or of a function body."""
    if "<locals>" in cls.__qualname__:
        return False
    found = sys.modules.get(cls.__module__)
    for part in cls.__qualname__.split("."):
        try:
            found = getattr(found, part, None)
        except Exception:  # noqa: BLE001 - a module __getattr__ that cannot answer
            return False
    return found is cls


def class_path(cls) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def import_class(path: str):
    module, _, qualname = path.partition(":")
    if module.split(".")[0] not in IMPORTABLE_FROM:
        raise NotCheckedHere(f"the recording names a class of {module}, which a replay does not import")
    found = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def _forward_owner(cls):
    return next((k for k in cls.__mro__ if "forward" in vars(k)), nn.Module)


def solution_forward(cls) -> bool:
    """The class's ``forward`` is code of a solution (compiled from text, not from a file)."""
    owner = _forward_owner(cls)
    code = getattr(vars(owner).get("forward"), "__code__", None)
    return not importable(owner) and code is not None and code.co_filename.startswith("<")


def _state(module: nn.Module) -> list:
    return [[name, value] for name, value in module.named_parameters()] + \
           [[name, value] for name, value in module.named_buffers()]


def _training(module: nn.Module) -> list:
    return [m.training for m in module.modules()]


def _leaves(module: nn.Module, args, kwargs) -> list:
    return [p for _, p in module.named_parameters()] + tensors_of([list(args), kwargs])


def _differentiable(tensor) -> bool:
    return isinstance(tensor, torch.Tensor) and (tensor.is_floating_point() or tensor.is_complex())


# --- the store: one lesson's recording ------------------------------------------------------------

class Store:
    """One lesson's expectations: references, constructions, calls, and the tensors they name."""

    def __init__(self, data: dict | None = None):
        data = data or {}
        self.references: dict = data.get("references", {})
        self.constructions: dict = data.get("constructions", {})
        self.calls: dict = data.get("calls", {})
        self.tensors: dict = data.get("tensors", {})
        self.conflicts: list = data.get("conflicts", [])
        self._shapes = {d: _shape_of(t) for d, t in self.tensors.items()}
        self._index()

    # --- reading
    def tensor(self, digest: str) -> torch.Tensor:
        try:
            return self.tensors[digest]
        except KeyError:
            raise NotCheckedHere("the recording names a tensor it does not hold") from None

    def _index(self):
        self._call_index = {}
        for token, entries in self.calls.items():
            for entry in entries:
                self._call_index[(token, entry["key"])] = entry

    def find_construction(self, token: str, arguments, rng: str):
        entries = self.constructions.get(token, [])
        key = _key(arguments)
        same_arguments = [e for e in entries if e["arguments_key"] == key]
        exact = [e for e in same_arguments if e["rng"] == rng]
        if exact:
            return exact[0]
        # the random state differs (another order of draws before): one recording with these
        # arguments is still that reference, and the state after it is the recorded one
        return same_arguments[0] if len(same_arguments) == 1 else None

    def find_call(self, token: str, live_arguments, live_state, training):
        arguments, state = pack(live_arguments), pack(live_state)
        key = _key(arguments, state, training)
        if key in self.conflicts:
            return None
        entry = self._call_index.get((token, key))
        if entry is not None:
            return entry
        shapes = {**self._shapes, **{tensor_digest(t): _shape_of(t) for t in tensors_of([live_arguments, live_state])}}
        signature = _signature([arguments, state, training], shapes)
        live = tensors_of([live_arguments, live_state])
        best, best_gap = None, None
        for candidate in self.calls.get(token, []):
            if candidate["signature"] != signature or candidate["key"] in self.conflicts:
                continue
            gap = self._gap(live, candidate["tensors"])
            if gap is not None and (best_gap is None or gap < best_gap):
                best, best_gap = candidate, gap
        return best

    def _gap(self, live: list, recorded: list):
        """The largest difference between live and recorded tensors, None if any is not close."""
        worst = 0.0
        for tensor, digest in zip(live, recorded):
            other = self.tensor(digest)
            tensor = _plain_tensor(tensor)
            if tensor.shape != other.shape or tensor.dtype != other.dtype:
                return None
            if tensor.is_floating_point():
                if not torch.allclose(tensor, other, atol=ATOL, rtol=RTOL, equal_nan=True):
                    return None
                if tensor.numel():
                    worst = max(worst, float((tensor - other).abs().max()))
            elif not torch.equal(tensor, other):
                return None
        return worst

    def find_vjp(self, entry: dict, grads: list):
        packed = pack(grads)
        key = _key(packed)
        for recorded_key, _, leaf_grads in entry.get("vjps", []):
            if recorded_key == key:
                return leaf_grads
        live = tensors_of(grads)
        for _, recorded_grads, leaf_grads in entry.get("vjps", []):
            if len(digests(recorded_grads)) == len(live) and self._gap(live, digests(recorded_grads)) is not None:
                return leaf_grads
        return None

    # --- writing (recording)
    def put(self, digest: str, tensor: torch.Tensor) -> None:
        if digest not in self.tensors:
            self.tensors[digest] = tensor.clone()
            self._shapes[digest] = _shape_of(tensor)

    def add_construction(self, token: str, arguments, rng: str, rng_after: str | None, tree: dict) -> None:
        entries = self.constructions.setdefault(token, [])
        key = _key(arguments)
        if any(e["arguments_key"] == key and e["rng"] == rng for e in entries):
            return
        entries.append({"arguments_key": key, "rng": rng, "rng_after": rng_after, "tree": tree})

    def add_call(self, token: str, arguments, state, training, outputs, rng: str | None,
                 rng_after: str | None) -> dict:
        key = _key(arguments, state, training)
        entry = self._call_index.get((token, key))
        if entry is not None:
            if _key(outputs) != _key(entry["outputs"]) and key not in self.conflicts:
                self.conflicts.append(key)   # the same call gave two results: replay neither
            return entry
        entry = {"key": key, "signature": _signature([arguments, state, training], self._shapes),
                 "tensors": digests([arguments, state]), "outputs": outputs, "rng": rng,
                 "rng_after": rng_after, "vjps": []}
        self.calls.setdefault(token, []).append(entry)
        self._call_index[(token, key)] = entry
        return entry

    def add_vjp(self, entry: dict, grads, leaf_grads) -> None:
        key = _key(grads)
        if not any(recorded == key for recorded, _, _ in entry["vjps"]):
            entry["vjps"].append([key, grads, leaf_grads])

    def data(self) -> dict:
        return {"format": FORMAT, "references": self.references, "constructions": self.constructions,
                "calls": self.calls, "conflicts": self.conflicts, "tensors": self.tensors}

    def used_tensors(self) -> set:
        """Every digest the recording names (the table keeps only those)."""
        found = set()

        def visit(value):
            if _is_ref(value):
                found.add(value[TENSOR])
            elif type(value) in (list, tuple):
                for item in value:
                    visit(item)
            elif type(value) is dict:
                for key, item in value.items():
                    if key in ("rng_after", "tensors") and type(item) is str:
                        found.add(item)
                    elif key == "tensors" and type(item) is list:
                        found.update(d for d in item if type(d) is str)
                    else:
                        visit(item)
        visit([self.constructions, self.calls])
        return found


def save(store: Store, path: Path) -> int:
    """Write one lesson's recording; returns its size in bytes."""
    used = store.used_tensors()
    data = store.data()
    data["tensors"] = {d: t for d, t in store.tensors.items() if d in used}
    text = wire.encode(data)
    path.write_text(text, encoding="utf-8")
    return len(text.encode())


def load(path: Path) -> Store:
    data = wire.decode(path.read_text(encoding="utf-8"))
    if type(data) is not dict or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a recording of format {FORMAT}")
    return Store(data)


# --- module trees ------------------------------------------------------------------------------------

def describe_tree(root: nn.Module, exercise_id: str, put) -> dict:
    """Every module of ``root`` with its class, plain attributes, parameters, buffers and children
    (shared modules and parameters once), tensors by digest."""
    nodes, numbers, parameters, parameter_numbers = [], {}, [], {}

    def parameter(p):
        if p is None:
            return None
        if id(p) not in parameter_numbers:
            parameter_numbers[id(p)] = len(parameters)
            parameters.append([pack(p, put), bool(p.requires_grad)])
        return parameter_numbers[id(p)]

    def visit(module) -> int:
        if id(module) in numbers:
            return numbers[id(module)]
        number = numbers[id(module)] = len(nodes)
        node: dict = {}
        nodes.append(node)
        attributes, skipped = {}, []
        for name, value in vars(module).items():
            if name in _MODULE_INTERNALS:
                continue
            try:
                attributes[name] = pack(value, put)
            except Unrecordable:
                skipped.append(name)
        node.update({
            "class": class_ref(type(module), exercise_id),
            "attributes": attributes, "skipped": skipped, "training": bool(module.training),
            "parameters": [[name, parameter(p)] for name, p in module._parameters.items()],
            "buffers": [[name, None if b is None else pack(b, put), name not in module._non_persistent_buffers_set]
                        for name, b in module._buffers.items()],
        })
        node["children"] = [[name, None if child is None else visit(child)] for name, child in module._modules.items()]
        return number

    visit(root)
    return {"nodes": nodes, "parameters": parameters}


def class_ref(cls, exercise_id: str) -> dict:
    if importable(cls):
        return {"import": class_path(cls)}
    base = next(k for k in cls.__mro__ if issubclass(k, nn.Module) and importable(k))
    return {"shell": cls.__qualname__, "name": cls.__name__, "base": class_path(base),
            "forward": f"{exercise_id}:{_forward_owner(cls).__qualname__}" if solution_forward(cls) else None}


# --- recording --------------------------------------------------------------------------------------

class Recorder:
    """The engine's reference hook while the graded release is built."""

    def __init__(self):
        self.stores: dict[str, Store] = {}
        self.skipped: list[str] = []
        self._building = False
        self._classes: dict = {}
        self._hooked = weakref.WeakSet()
        self._pending: dict[int, list] = {}

    def store(self, exercise_id: str) -> Store:
        return self.stores.setdefault(exercise_id.partition(".")[0], Store())

    def hook(self, exercise, method: str, build):
        if self._building or not engine.checking() or engine._SECRET[0]:
            return build()         # an answer built outside a check, fresh inputs, or a nested call
        self._building = True
        try:
            before = _rng()
            real = build()
            after = _rng()
        finally:
            self._building = False
        return self.wrap(exercise.id, method, real, before, after)

    def wrap(self, exercise_id: str, method: str, real, before, after):
        token = f"{exercise_id}:{method}"
        store = self.store(exercise_id)
        if isinstance(real, type) and issubclass(real, nn.Module):
            reference = {"kind": "class", "name": real.__name__, "qualname": real.__qualname__,
                         **{k: v for k, v in class_ref(real, exercise_id).items() if k in ("base", "forward")}}
            if importable(real):
                reference = {"kind": "library class", "import": class_path(real)}
            store.references.setdefault(token, reference)
            return real if importable(real) else self._recording_class(exercise_id, token, real)
        if isinstance(real, nn.Module):
            store.references.setdefault(token, {"kind": "module"})
            self._record_construction(exercise_id, token, ([], {}), before, after, real)
            return real
        if callable(real) and getattr(real, "__code__", None) is not None:
            store.references.setdefault(token, {"kind": "function", "name": getattr(real, "__name__", "")})
            return self._recording_function(token, store, real)
        self.skipped.append(f"{token}: a {type(real).__name__} (a value is the answer itself: not recorded)")
        store.references.setdefault(token, {"kind": "value"})
        return real

    def _recording_class(self, exercise_id: str, token: str, cls):
        found = self._classes.get((token, cls))
        if found is not None:
            return found
        recorder = self

        def __init__(module, *args, **kwargs):
            before = _rng()
            cls.__init__(module, *args, **kwargs)
            recorder._record_construction(exercise_id, token, (list(args), kwargs), before, _rng(), module)

        recording = type(cls.__name__, (cls,), {"__init__": __init__, "__qualname__": cls.__qualname__,
                                                "__module__": cls.__module__, "__doc__": cls.__doc__})
        self._classes[(token, cls)] = recording
        return recording

    def _record_construction(self, exercise_id, token, arguments, before, after, module):
        if not self._recording():
            return
        store = self.store(exercise_id)
        try:
            packed = pack(arguments, store.put)
        except Unrecordable as what:
            self.skipped.append(f"{token}: built with {what}")
            return
        tree = describe_tree(module, exercise_id, store.put)
        for node in tree["nodes"]:
            if node["skipped"]:
                self.skipped.append(f"{token}: attributes {node['skipped']} of a {node['class']} are not plain data")
        rng_after = None
        if not torch.equal(before, after):
            rng_after = pack(after, store.put)[TENSOR]
        store.add_construction(token, packed, tensor_digest(before), rng_after, tree)
        self._hook_tree(exercise_id, module)

    def _recording_function(self, token, store, function):
        recorder = self

        def recording(*args, **kwargs):
            before = _rng()
            try:
                arguments = pack((list(args), kwargs), store.put)
            except Unrecordable:
                arguments = None
            result = function(*args, **kwargs)
            if arguments is not None and recorder._recording():
                recorder._record_call(store, token, arguments, [], [], result, before)
            return result

        recording.__name__, recording.__qualname__ = function.__name__, function.__qualname__
        return recording

    def _hook_tree(self, exercise_id: str, root: nn.Module) -> None:
        for module in root.modules():
            if module in self._hooked or not solution_forward(type(module)):
                continue
            self._hooked.add(module)
            token = f"{exercise_id}:{_forward_owner(type(module)).__qualname__}"
            store = self.store(exercise_id)
            module.register_forward_pre_hook(self._before(token, store), with_kwargs=True)
            module.register_forward_hook(self._after(token, store), with_kwargs=True)

    @staticmethod
    def _recording() -> bool:
        """Only the checks on the release's own inputs are recorded (secret 0, inside a check)."""
        return engine.checking() and not engine._SECRET[0]

    def _before(self, token, store):
        def before(module, args, kwargs):
            try:   # taken before the call: a forward may change buffers (BatchNorm's statistics)
                taken = pack((list(args), kwargs), store.put), pack(_state(module), store.put)
            except Unrecordable as what:
                self.skipped.append(f"{token}: a call with {what}")
                taken = None
            self._pending.setdefault(id(module), []).append((_rng(), taken, _training(module)))
        return before

    def _after(self, token, store):
        def after(module, args, kwargs, output):
            rng, taken, training = self._pending[id(module)].pop()
            if taken is None or not self._recording():
                return None
            entry = self._record_call(store, token, *taken, training, output, rng)
            if entry is None or not torch.is_grad_enabled():
                return None
            flat = [t for t in tensors_of(output) if _differentiable(t)]
            if not any(t.requires_grad for t in flat):
                return None
            tapped = _Tap.apply((store, entry, flat, _leaves(module, args, kwargs)), *flat)
            tapped = list(tapped) if isinstance(tapped, tuple) else [tapped]
            return _replace_tensors(output, [tapped.pop(0) if _differentiable(t) else t for t in tensors_of(output)])
        return after

    def _record_call(self, store, token, arguments, state, training, output, rng):
        try:
            packed_output = pack(output, store.put)
        except Unrecordable as what:
            self.skipped.append(f"{token}: a call returning {what}")
            return None
        after = _rng()
        moved = not torch.equal(rng, after)
        return store.add_call(token, arguments, state, training, packed_output,
                              tensor_digest(rng) if moved else None,
                              pack(after, store.put)[TENSOR] if moved else None)


class _Tap(torch.autograd.Function):
    """Passes gradients through unchanged, recording what they give the module's parameters and inputs."""

    @staticmethod
    def forward(ctx, record, *outputs):
        ctx.record = record
        return tuple(o.clone() for o in outputs)

    @staticmethod
    def backward(ctx, *grads):
        store, entry, outputs, leaves = ctx.record
        wanted = [i for i, leaf in enumerate(leaves) if isinstance(leaf, torch.Tensor) and leaf.requires_grad]
        leaf_grads = [None] * len(leaves)
        flowing = [(o, g) for o, g in zip(outputs, grads) if o.requires_grad]
        if wanted and flowing:
            with torch.enable_grad():
                found = torch.autograd.grad([o for o, _ in flowing], [leaves[i] for i in wanted],
                                            [g for _, g in flowing], retain_graph=True, allow_unused=True)
            for i, grad in zip(wanted, found):
                leaf_grads[i] = grad
        store.add_vjp(entry, pack(list(grads), store.put), pack(leaf_grads, store.put))
        return (None, *grads)


# --- replay -----------------------------------------------------------------------------------------

class Replayer:
    """The engine's reference hook in the graded release: stand-ins replaying the recordings."""

    def __init__(self, folder: Path, outside=None):
        self.folder = Path(folder)
        self.outside = outside     # what a reference asked for outside a check is (default: unavailable)
        self._stores: dict[str, Store | None] = {}
        self._stand_ins: dict = {}
        self._classes: dict = {}

    def store(self, exercise_id: str) -> Store | None:
        lesson = exercise_id.partition(".")[0]
        if lesson not in self._stores:
            path = self.folder / f"{lesson}.json"
            try:
                self._stores[lesson] = load(path) if path.exists() else None
            except (OSError, ValueError):   # a damaged file (WireError is a ValueError): nothing recorded
                self._stores[lesson] = None
        return self._stores[lesson]

    def hook(self, exercise, method: str, build):
        if not engine.checking():
            if self.outside is not None:
                return self.outside(exercise, method, build)
            raise SolutionUnavailable(f"the reference of {exercise.id} is not part of this release")
        if engine._SECRET[0]:
            raise NotCheckedHere("fresh inputs are drawn by the grader, which has the references")
        token = f"{exercise.id}:{method}"
        store = self.store(exercise.id)
        reference = store.references.get(token) if store is not None else None
        if reference is None:
            raise NotCheckedHere(f"{token}: not recorded")
        kind = reference.get("kind")
        if kind == "library class":
            return import_class(reference["import"])
        if kind == "class":
            found = self._stand_ins.get(token)
            if found is None:
                found = self._stand_ins[token] = self._root_class(store, token, reference)
            return found
        if kind == "module":
            entry = store.find_construction(token, pack(([], {})), tensor_digest(_rng()))
            if entry is None:
                raise NotCheckedHere(f"{token}: not recorded for this random state")
            module = self._rebuild(store, entry["tree"])
            self._after_construction(store, entry)
            return module
        if kind == "function":
            return self._function(store, token, reference)
        raise NotCheckedHere(f"{token}: a {kind} is not recorded")

    # --- classes and trees
    def _root_class(self, store: Store, token: str, reference: dict):
        replayer = self

        def __init__(module, *args, **kwargs):
            nn.Module.__init__(module)
            try:
                arguments = pack((list(args), kwargs))
            except Unrecordable:
                raise NotCheckedHere(f"{token}: built with arguments that are not plain data") from None
            entry = store.find_construction(token, arguments, tensor_digest(_rng()))
            if entry is None:
                raise NotCheckedHere(f"{token}: not recorded with these arguments")
            replayer._rebuild(store, entry["tree"], into=module)
            replayer._after_construction(store, entry)

        namespace = {"__init__": __init__, "__module__": __name__, "__qualname__": reference["qualname"],
                     "__getattr__": _shell_getattr, "_replays": token}
        if reference.get("forward"):
            namespace["forward"] = _replayed_forward(store, reference["forward"])
        return type(reference["name"], (import_class(reference["base"]),), namespace)

    def _shell_class(self, store: Store, ref: dict):
        key = (id(store), ref["shell"], ref.get("forward"), ref["base"])
        found = self._classes.get(key)
        if found is None:
            namespace = {"__module__": __name__, "__qualname__": ref["shell"], "__getattr__": _shell_getattr}
            if ref.get("forward"):
                namespace["forward"] = _replayed_forward(store, ref["forward"])
            found = self._classes[key] = type(ref["name"], (import_class(ref["base"]),), namespace)
        return found

    @staticmethod
    def _after_construction(store: Store, entry: dict) -> None:
        if entry.get("rng_after"):
            torch.random.set_rng_state(store.tensor(entry["rng_after"]).clone())

    def _rebuild(self, store: Store, tree: dict, into: nn.Module | None = None) -> nn.Module:
        parameters = [None if packed is None else nn.Parameter(unpack(packed, store.tensor), requires_grad=grad)
                      for packed, grad in tree["parameters"]]
        built: dict[int, nn.Module] = {}

        def make(number: int, target=None) -> nn.Module:
            if number in built:
                return built[number]
            node = tree["nodes"][number]
            if target is None:
                ref = node["class"]
                cls = import_class(ref["import"]) if "import" in ref else self._shell_class(store, ref)
                target = cls.__new__(cls)
                nn.Module.__init__(target)
            built[number] = target
            for name, value in node["attributes"].items():
                object.__setattr__(target, name, unpack(value, store.tensor))
            target.training = node["training"]
            for name, p in node["parameters"]:
                target._parameters[name] = None if p is None else parameters[p]
            for name, value, persistent in node["buffers"]:
                target._buffers[name] = None if value is None else unpack(value, store.tensor)
                if not persistent:
                    target._non_persistent_buffers_set.add(name)
            for name, child in node["children"]:
                target._modules[name] = None if child is None else make(child)
            return target

        return make(0, into)

    def _function(self, store: Store, token: str, reference: dict):
        found = self._stand_ins.get(token)
        if found is None:
            def stand_in(*args, **kwargs):
                try:
                    entry = store.find_call(token, (list(args), kwargs), [], [])
                except Unrecordable:
                    entry = None
                if entry is None:
                    raise NotCheckedHere(f"{token}: not recorded for these arguments")
                _replay_rng(store, entry)
                return unpack(entry["outputs"], store.tensor)

            stand_in.__name__ = stand_in.__qualname__ = reference.get("name") or "reference"
            found = self._stand_ins[token] = stand_in
        return found


def _shell_getattr(self, name):
    try:
        return nn.Module.__getattr__(self, name)
    except AttributeError:
        pass
    raise _MissingAttribute(f"{type(self).__name__}.{name} was not recorded")


def _replay_rng(store: Store, entry: dict) -> None:
    if entry.get("rng_after"):
        if tensor_digest(_rng()) != entry["rng"]:
            raise NotCheckedHere("the reference drew random numbers from another state than recorded")
        torch.random.set_rng_state(store.tensor(entry["rng_after"]).clone())


def _replayed_forward(store: Store, token: str):
    def forward(module, *args, **kwargs):
        try:
            entry = store.find_call(token, (list(args), kwargs), _state(module), _training(module))
        except Unrecordable:
            entry = None
        if entry is None:
            raise NotCheckedHere(f"{token}: forward on inputs or weights the recording does not hold")
        _replay_rng(store, entry)
        output = unpack(entry["outputs"], store.tensor)
        leaves = _leaves(module, args, kwargs)
        if not (torch.is_grad_enabled() and any(leaf.requires_grad for leaf in leaves)):
            return output
        flat = [t for t in tensors_of(output) if _differentiable(t)]
        if not flat:
            return output
        connected = _Replayed.apply((store, entry, flat, leaves), *leaves)
        connected = list(connected) if isinstance(connected, tuple) else [connected]
        return _replace_tensors(output, [connected.pop(0) if _differentiable(t) else t for t in tensors_of(output)])
    return forward


class _Replayed(torch.autograd.Function):
    """Recorded outputs, joined to the module's parameters and inputs by the recorded gradients."""

    @staticmethod
    def forward(ctx, record, *leaves):
        ctx.record = record
        _, _, outputs, _ = record
        return tuple(o.clone() for o in outputs)

    @staticmethod
    def backward(ctx, *grads):
        store, entry, _, leaves = ctx.record
        found = store.find_vjp(entry, list(grads))
        if found is None:
            raise NotCheckedHere("a gradient through the reference that the recording does not hold")
        leaf_grads = unpack(found, store.tensor)
        if len(leaf_grads) != len(leaves):
            raise NotCheckedHere("the recorded gradients do not fit the reference")
        return (None, *(g if isinstance(leaf, torch.Tensor) and leaf.requires_grad else None
                        for g, leaf in zip(leaf_grads, leaves)))
