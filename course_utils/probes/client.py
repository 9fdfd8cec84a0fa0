"""The check's side of a probe: what a check holds instead of the answer itself.

A check receives an ``Answer``: a handle to the student's object on the other side of a
``Transport``. It can ask what kind of thing it is, call it with plain arguments, build it,
read its module tree, parameters and state_dict, assign weights into it and run one forward
(and backward) pass; every reply is plain data (``wire``). Two transports carry the same
requests: ``LocalTransport`` for the instant feedback of ``check()`` (the server acts on the
object in this process) and the grader's, which sends them to the student's kernel
(``course_utils.grade.pytest_side.judge``). So one check gives one verdict wherever the answer lives.

What the answer raised comes back as ``AnswerRaised``, a subclass of the builtin exception of
the same name where there is one (``except RuntimeError`` in a check works as before), with
the student's line. A reply that is not well-formed is ``ProbeFault``: never a pass.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field

import torch

from course_utils.probes import wire
from course_utils.probes.server import ProbeServer
from course_utils.probes.transport import ProbeFault, Transport, TransportFailed  # noqa: F401 - re-exported
from course_utils.probes.wire import Handle, WireError


class BindError(Exception):
    """The answer cannot be called with these arguments (a wrong signature)."""

    def __init__(self, message: str, signature: str):
        super().__init__(message)
        self.signature = signature


class AnswerRaised(Exception):
    """The answer raised: its type name, message and the student's line, as data."""

    kind: str = "Exception"
    location: dict | None = None
    missing_forward: bool = False

    def is_a(self, name: str) -> bool:
        return name in self.bases

    def __str__(self) -> str:   # the answer's own words (a KeyError's key is not quoted twice)
        return getattr(self, "message", super().__str__())

    bases: tuple = ()


_RAISED_CLASSES: dict[str, type] = {}


def _raised(data) -> Exception:
    """An ``AnswerRaised`` that is also the builtin exception the answer raised, if any."""
    if type(data) is not dict:
        return ProbeFault("the answer's side sent a malformed error report")
    bases = tuple(b for b in data.get("bases", []) if type(b) is str)
    builtin = next((getattr(builtins, b) for b in bases if isinstance(getattr(builtins, b, None), type)
                    and issubclass(getattr(builtins, b), Exception)), Exception)
    cls = _RAISED_CLASSES.get(builtin.__name__)
    if cls is None:
        cls = type(f"AnswerRaised{builtin.__name__}", (AnswerRaised, builtin), {})
        _RAISED_CLASSES[builtin.__name__] = cls
    error = cls(str(data.get("message", "")))
    error.message = str(data.get("message", ""))
    error.kind = str(data.get("type", builtin.__name__))
    error.bases = bases
    line = data.get("line")
    error.location = line if type(line) is dict else None
    error.missing_forward = data.get("missing_forward") is True
    return error


class LocalTransport(Transport):
    """The server in this process: for ``check()`` in a notebook and for authors' tests."""

    def __init__(self, namespace: dict):
        self.server = ProbeServer(namespace)

    def send(self, text: str) -> str:
        return self.server.handle(text)


class Session:
    """One check's conversation with the answer's side: a fresh random stream, its objects.

    It begins with its first request and sends nothing when it ends: the next check's
    ``begin`` drops the objects and the stream of this one (a local server goes with its
    check). Under grading an end was one round trip in four, and it changed nothing the
    grader reads."""

    def __init__(self, transport: Transport, seed: int):
        self.transport, self.seed = transport, seed
        self._pending: list[dict] = []

    def __enter__(self) -> Session:
        # sent with the first request, in the same message
        self._pending = [{"op": "begin", "seed": self.seed}]
        return self

    def __exit__(self, *exc):
        self._pending = []
        return False

    def request(self, op: str, **fields):
        """One request; what the answer raised is raised here (``AnswerRaised``)."""
        result = self.requests([(op, fields)])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def requests(self, requests: list[tuple[str, dict]]) -> list:
        """Several requests in one round trip, carried out in order on the answer's side. Each
        result is the reply's value, or the ``AnswerRaised`` the answer raised (not raised here:
        the check decides what a failed call means); a refused request or a malformed reply
        is ``ProbeFault``."""
        messages = [*self._pending, *({"op": op, **_to_wire(fields)} for op, fields in requests)]
        self._pending = []
        if len(messages) == 1:
            replies = [self._decode(self.transport.send(wire.encode(messages[0])))]
        else:
            batch = self._decode(self.transport.send(wire.encode({"op": "batch", "requests": messages})))
            replies = self._body(batch)
            if type(replies) is not list or len(replies) != len(messages):
                raise ProbeFault("the answer's side sent a malformed reply to a batch")
        results = [self._body(reply, raising=False) for reply in replies]
        for started in results[:len(messages) - len(requests)]:
            if started is not None:
                raise ProbeFault("the answer's side did not start the check's session")
        return [_from_wire(r, self) if not isinstance(r, Exception) else r
                for r in results[len(messages) - len(requests):]]

    @staticmethod
    def _decode(text):
        try:
            return wire.decode(text)
        except WireError as error:
            raise ProbeFault(f"the answer's side sent a malformed reply ({error})") from None

    @staticmethod
    def _body(reply, raising: bool = True):
        if type(reply) is not dict or len(reply) != 1:
            raise ProbeFault("the answer's side sent a malformed reply")
        (status, body), = reply.items()
        if status == "ok":
            return body
        if status == "raised":
            error = _raised(body)
            if raising or isinstance(error, ProbeFault):
                raise error
            return error
        raise ProbeFault(f"the answer's side refused a probe: {body}")

    def target(self, expression: str) -> Answer:
        """The object the check cell names (``linear_by_hand``), or ``NotDefined``."""
        reply = self.request("target", expression=expression)
        if type(reply) is not dict:
            raise ProbeFault("malformed reply to target")
        if "missing" in reply:
            raise NotDefined(expression)
        answer = _answer(reply.get("handle"), self)
        info = reply.get("info")
        if info is not None:
            answer._info = _checked_info(info)
        return answer

    def build(self, factory, *args, **kwargs) -> Answer:
        """``factory(*args, **kwargs)`` made on the answer's side (a library or course class)."""
        name = f"{factory.__module__}:{factory.__qualname__}"
        return _answer(self.request("build", name=name, args=list(args), kwargs=kwargs), self)

    def build_all(self, calls: list[tuple]) -> list[Answer]:
        """``build`` of each ``(factory, *args)``, all in one round trip."""
        if not calls:
            return []
        built = self.requests([("build", {"name": f"{factory.__module__}:{factory.__qualname__}", "args": list(args),
                                          "kwargs": {}}) for factory, *args in calls])
        for answer in built:
            if isinstance(answer, Exception):
                raise answer
        return [_answer(answer, self) for answer in built]

    def twin(self, factory, *args, **kwargs):
        """The same module on both sides, with the check's weights: (local copy, answer's side)."""
        local = factory(*args, **kwargs)
        remote = self.build(factory, *args, **kwargs)
        remote.assign({**dict(local.named_parameters()), **dict(local.named_buffers())})
        return local, remote


class NotDefined(Exception):
    """The name the check cell passes is not defined in the notebook."""


@dataclass
class Run:
    """One call: its value, the tensor arguments it changed in place, and what was asked for."""

    value: object
    changed: list = field(default_factory=list)
    connected: bool = False
    ops: frozenset = frozenset()
    calls: dict = field(default_factory=dict)
    grads: dict = field(default_factory=dict)


@dataclass
class ModuleEntry:
    """One registered module of a tree (``Answer.tree()``)."""

    name: str
    type: str
    library: bool
    identity: int
    registries: bool
    settings: dict
    parameters: list      # [name, shape, requires_grad]
    buffers: list
    hidden: list
    loose_tensors: list
    forward: str | None
    mro: list = field(default_factory=list)   # torch.nn classes it is an instance of

    def is_a(self, type_name: str) -> bool:
        """An instance of the torch.nn class ``type_name`` (or of a subclass of it)."""
        return type_name in self.mro

    def parameter_count(self) -> int:
        total = 0
        for _, shape, _ in self.parameters:
            if shape is None:      # a lazy layer's parameter before its first call
                continue
            count = 1
            for n in shape:
                count *= n
            total += count
        return total


@dataclass
class Parameter:
    name: str
    value: torch.Tensor | None    # None: a lazy layer's parameter before its first call
    requires_grad: bool
    identity: int
    grad: torch.Tensor | None = None


class Answer:
    """A handle to an object on the answer's side. Calling it calls the object."""

    def __init__(self, handle: Handle, session: Session):
        self.handle, self.session = handle, session
        self._info = None

    # --- what it is
    @property
    def info(self) -> dict:
        if self._info is None:
            self._info = _checked_info(self.session.request("describe", handle=self.handle))
        return self._info

    @property
    def kind(self) -> str:
        return self.info["kind"]

    @property
    def name(self) -> str:
        return str(self.info.get("name") or self.info.get("type", ""))

    @property
    def type_name(self) -> str:
        return str(self.info.get("type", ""))

    @property
    def value(self):
        """A plain answer's value (an int, a tuple, a tensor...); None for anything else."""
        return self.info.get("value") if self.kind in ("value", "tensor") else None

    def is_module_class(self) -> bool:
        return self.kind == "class" and self.info.get("module_class") is True

    def is_module(self, type_name: str | None = None, library: bool | None = None) -> bool:
        """A module instance; with ``type_name``, of that torch.nn class or a subclass of it."""
        return self.kind == "module" and (type_name is None or type_name in self.info.get("mro", ())) and (
            library is None or self.info.get("library") is library)

    def is_class(self, type_name: str) -> bool:
        """The torch.nn class ``type_name`` itself (or a subclass of it)."""
        return self.kind == "class" and type_name in self.info.get("mro", ())

    # --- calling
    def run(self, *args, method: str | None = None, no_grad=False, ops=False, calls=False,
            backward=None, mode=None, **kwargs) -> Run:
        result = self.runs([args], method=method, no_grad=no_grad, ops=ops, calls=calls,
                           backward=backward, mode=mode, **kwargs)[0]
        if isinstance(result, Exception):
            raise result
        return result

    def runs(self, cases, method: str | None = None, no_grad=False, ops=False, calls=False,
             backward=None, mode=None, **kwargs) -> list:
        """One call per case (a tuple of positional arguments), all in one round trip and in
        order, each with the same options: a ``Run``, or the exception that call raised
        (``AnswerRaised``, or ``BindError`` for a wrong signature). Every case runs, also
        after one that raised, so a check reads them as if it had called one at a time."""
        options = dict(method=method, no_grad=no_grad, ops=ops, calls=calls, backward=backward, mode=mode)
        replies = self.session.requests([("call", dict(handle=self.handle, args=list(case), kwargs=kwargs,
                                                       **options)) for case in cases])
        return [reply if isinstance(reply, Exception) else self._run(reply) for reply in replies]

    @staticmethod
    def _run(reply) -> Run | BindError:
        if type(reply) is not dict:
            raise ProbeFault("malformed reply to call")
        if "bind_error" in reply:
            return BindError(str(reply["bind_error"]), str(reply.get("signature", "")))
        changed = reply.get("changed", [])
        return Run(reply.get("value"), changed if type(changed) is list else [],
                   reply.get("connected") is True, frozenset(map(str, reply.get("ops", []) or [])),
                   _checked_dict(reply.get("calls", {})), _checked_dict(reply.get("grads", {})))

    def __call__(self, *args, **kwargs):
        return self.run(*args, **kwargs).value

    def method(self, name: str, *args, **kwargs):
        return self.run(*args, method=name, **kwargs).value

    def attribute(self, name: str):
        return self.session.request("attribute", handle=self.handle, name=name)

    # --- modules
    def tree(self) -> list[ModuleEntry]:
        entries = self.session.request("tree", handle=self.handle)
        try:
            return [ModuleEntry(**{k: e[k] for k in ModuleEntry.__dataclass_fields__ if k in e}) for e in entries]
        except (TypeError, KeyError):
            raise ProbeFault("malformed reply to tree") from None

    def parameters(self, grads: bool = False) -> list[Parameter]:
        found = self.session.request("parameters", handle=self.handle, grads=grads)
        try:
            return [Parameter(e["name"], _tensor(e["value"]), e["requires_grad"] is True,
                              int(e["identity"]), e.get("grad")) for e in found]
        except (TypeError, KeyError):
            raise ProbeFault("malformed reply to parameters") from None

    def buffers(self) -> dict:
        return _checked_dict(self.session.request("buffers", handle=self.handle))

    def assign(self, values: dict) -> None:
        self.session.request("assign", handle=self.handle, values=dict(values))

    def state_dict(self) -> dict:
        return _checked_dict(self.session.request("state_dict", handle=self.handle))

    def load_state_dict(self, state: dict, strict: bool = True) -> dict:
        return self.session.request("load_state_dict", handle=self.handle, state=dict(state),
                                    strict=strict)

    def __repr__(self) -> str:
        return f"<answer {self.handle}>"


def _answer(value, session) -> Answer:
    if not isinstance(value, Answer) or value.session is not session:
        raise ProbeFault("expected a handle in the reply")
    return value


def _checked_info(info) -> dict:
    if type(info) is not dict or type(info.get("kind")) is not str:
        raise ProbeFault("malformed reply to describe")
    return info


def _tensor(value) -> torch.Tensor | None:
    if value is not None and type(value) is not torch.Tensor:
        raise TypeError("not a tensor")
    return value


def _checked_dict(value) -> dict:
    if type(value) is not dict:
        raise ProbeFault("expected a dict in the reply")
    return value


def _to_wire(value):
    """Arguments as wire values: handles for answers, plain tensors (parameters detached)."""
    if isinstance(value, Answer):
        return value.handle
    if isinstance(value, torch.Tensor):
        return value.detach()
    if type(value) in (list, tuple):
        return type(value)(_to_wire(v) for v in value)
    if type(value) is dict:
        return {k: _to_wire(v) for k, v in value.items()}
    if isinstance(value, torch.Size):
        return tuple(value)
    return value


def _from_wire(value, session):
    return wire.walk(value, lambda item: Answer(item, session) if type(item) is Handle else item)
