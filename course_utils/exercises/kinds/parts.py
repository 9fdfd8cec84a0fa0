"""What every exercise kind declares and sees: arguments built on both sides (``Built``, ``Twin``), cases,
known mistakes and errors, and ``Seen`` (one case as the check saw it, the fields a message may quote);
with the helpers the kinds share to send a case's arguments and read its run. Imports no kind."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.probes.client import Answer, BindError, ModuleEntry, ProbeFault, Run

Message = str | Callable[["Seen"], str]


# --- the data an exercise declares ------------------------------------------------------------------

@dataclass(frozen=True)
class Built:
    """An argument built on both sides: ``factory(*args)`` for the check (the reference computes
    with it) and, through ``session.build``, for the answer (a model ``count_parameters`` counts)."""

    factory: Callable
    args: tuple = ()

    def __init__(self, factory, *args):
        object.__setattr__(self, "factory", factory)
        object.__setattr__(self, "args", args)


class Twin(Built):
    """A model on both sides with the check's weights (``Session.twin``): ``factory(*args)`` made here, for
    the reference (``seen.args``), and on the answer's side, where this copy's parameters and buffers
    are assigned (``seen.given``: its handle, to read back what the answer did to it). Every twin of a
    check is built with the ``Built`` ones in one round trip, and weighted in one more."""


@dataclass(frozen=True)
class Case:
    """One call of the student's function: its arguments, what to say when only this case is
    wrong (``advice``), and how messages name it (``label``, e.g. "RGB, channels last")."""

    args: tuple
    advice: str = ""
    label: str = ""


@dataclass(frozen=True)
class Mistake:
    """A known mistake: it fits when ``when(seen)`` holds and, if ``result`` is given, the answer's
    result equals what the mistake computes: ``result(*args)`` for a function's case,
    ``result(reference, *inputs)`` for a module's (one that cannot run does not fit)."""

    message: Message
    when: Callable[["Seen"], bool] | None = None
    result: Callable | None = None

    def fits(self, seen: Seen) -> bool:
        if self.when is not None and not self.when(seen):
            return False
        if self.result is not None:
            wrong = seen.known(self.result)
            return wrong is not None and seen.exercise.same(seen.compared, wrong)
        return True


@dataclass(frozen=True)
class Raised:
    """What an error the student's code raises means for this exercise. ``kinds`` are the builtin
    exception types it applies to; ``when(error, seen)`` narrows it; the message may use ``{said}``
    (the error's first line). The course's message ends with the student's line."""

    message: Message
    kinds: tuple = (RuntimeError, TypeError)
    when: Callable | None = None


@dataclass
class Seen:
    """One case as the check saw it: the arguments (the check's copies), the answer's result, the
    reference's, and the probe's record of the call (``run.changed``, ``run.connected``)."""

    exercise: Exercise
    answer: Answer
    case: Case
    args: tuple
    got: object = None
    run: Run | None = None
    error: BaseException | None = None
    given: tuple = ()                       # the arguments as the answer received them (Built, Twin: handles)
    inputs: tuple | None = None             # a result that is a model: what it ran on (``inputs(*args)``)
    output: object = None                   # ... its output (plain), or the error its run raised
    tree: list | None = None                # ... its registered modules (``Answer.tree()``); None: not a module
    _expected: object = field(default=None, repr=False)
    _has_expected: bool = False

    @property
    def expected(self):
        if not self._has_expected:
            expected = self.exercise.expected(*self.args)
            if isinstance(expected, nn.Module) and self.inputs is not None:   # the reference model's outputs
                with torch.no_grad():
                    expected = expected(*self.inputs)
            self._expected, self._has_expected = expected, True
        return self._expected

    @property
    def compared(self):
        """What is compared with the reference: the result, or the output of a result that is a model."""
        return self.output if self.inputs is not None else self.got

    @property
    def matches(self) -> bool:
        return self.exercise.same(self.compared, self.expected)

    @property
    def children(self) -> list:
        """A returned model's top-level layers in order, every position (as iterating a Sequential)."""
        return [entry for entry in self.tree or () if entry.name and "." not in entry.name]

    @property
    def shape(self) -> tuple | None:
        return tuple(self.got.shape) if type(self.got) is torch.Tensor else None

    @property
    def dtype(self):
        return self.got.dtype if type(self.got) is torch.Tensor else None

    @property
    def expected_shape(self) -> tuple | None:
        expected = self.expected
        return tuple(expected.shape) if isinstance(expected, torch.Tensor) else None

    def known(self, result):
        """What a known mistake computes on this case (None where its formula cannot run here)."""
        try:
            with torch.no_grad():
                return result(*self.args)
        except (RuntimeError, TypeError, ValueError, IndexError):   # the formula needs other shapes
            return None

    def again(self, *args):
        """The answer called once more (on ``args``, by default the case's): a plain value."""
        return checks.plain(self.answer(*_for_answer(self.answer, args or self.args)))

    def fields(self) -> dict:
        """The fields a message template may use, each computed only when the template asks for it."""
        return _Fields(self)

    def say(self, message: Message) -> str:
        return message(self) if callable(message) else message.format_map(self.fields())


class _Fields(dict):
    """``{case}``, ``{got}``, ``{expected}``...: looked up on first use (the reference's output is
    not computed for a message that does not quote it, nor after the answer raised)."""

    def __init__(self, seen: Seen):
        super().__init__()
        self.seen = seen

    def __missing__(self, name):
        seen = self.seen
        if name == "case":
            value = seen.exercise.describe(seen.case, seen.args)
        elif name == "said":
            value = checks.first_line(seen.error) if seen.error is not None else ""
        elif name in ("expected", "expected_shape"):
            value = getattr(seen, name) if seen.error is None else None
        elif name in ("label", "advice"):
            value = getattr(seen.case, name)
        elif name == "kind":
            value = checks.kind_of(seen.got)
        else:
            value = getattr(seen, name)    # got, shape, dtype, args, and a subclass's own (sizes, name)
        self[name] = value
        return value


def first_fitting(mistakes: Sequence[Mistake], seen: Seen, prefix: str) -> None:
    """The first of ``mistakes`` that fits this case, said (``Incorrect``); none fits: nothing."""
    for mistake in mistakes:
        if mistake.fits(seen):
            raise Incorrect(prefix + seen.say(mistake.message))


# --- sending a case's arguments, reading its run ----------------------------------------------------

def _expect_callable(answer: Answer, what: str) -> None:
    if not answer.info.get("callable"):
        raise Incorrect(f"Expected {what} to be callable (a function or a module), got {checks.kind_of(answer)}.")


def _ran(run, inputs: tuple, what: str) -> Run:
    """A call's ``Run``; what it raised, raised here (a wrong signature in the check's words)."""
    if isinstance(run, BindError):
        raise Incorrect(checks.cannot_call(what, inputs, {}, run, run.signature))
    if isinstance(run, Exception):
        raise run
    return run


def _entries(reply) -> list[ModuleEntry]:
    """An ``Answer.tree()`` reply read in a batch."""
    try:
        return [ModuleEntry(**{k: e[k] for k in ModuleEntry.__dataclass_fields__ if k in e}) for e in reply]
    except (TypeError, KeyError):
        raise ProbeFault("malformed reply to tree") from None


def _local(arg):
    if isinstance(arg, Built):
        return arg.factory(*arg.args)
    return arg.clone() if isinstance(arg, torch.Tensor) else arg


def _for_answer(answer: Answer, declared: tuple, local: tuple | None = None) -> tuple:
    """The arguments the answer receives: fresh copies of tensors, ``Built`` and ``Twin`` models made on its side."""
    return _arguments_for(answer, [(declared, declared if local is None else local)])[0]


def _arguments_for(answer: Answer, calls: list[tuple[tuple, tuple]]) -> list[tuple]:
    """For each call's (declared, local) arguments, what the answer receives: every ``Built`` and
    ``Twin`` model of all calls made in one round trip, every twin given the check's weights in one more."""
    pairs = [(d, l) for declared, local in calls for d, l in zip(declared, local) if isinstance(d, Built)]
    built = answer.session.build_all([(d.factory, *d.args) for d, _ in pairs])
    _weigh(answer.session, [(handle, l) for (d, l), handle in zip(pairs, built) if isinstance(d, Twin)])
    built = iter(built)
    return [tuple(next(built) if isinstance(d, Built) else l.clone() if isinstance(l, torch.Tensor) else l
                  for d, l in zip(declared, local)) for declared, local in calls]


def _weigh(session, twins: list) -> None:
    """The check's weights (parameters and buffers) assigned into each twin's handle, in one round trip."""
    if not twins:
        return
    for done in session.requests([("assign", {"handle": handle, "values": {
            **dict(local.named_parameters()), **dict(local.named_buffers())}}) for handle, local in twins]):
        if isinstance(done, Exception):
            raise done


def _shown(value) -> str:
    return repr(value) if not isinstance(value, torch.Tensor) else f"tensor of shape {tuple(value.shape)}"
