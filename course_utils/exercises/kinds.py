"""Exercise kinds: the checks that recur across lessons, written once; a lesson module declares data.

Why: every lesson had hand-written loops for the same few kinds of exercise. Here each kind is a
subclass of ``engine.Exercise`` whose ``check_answer`` is the loop; a lesson's exercise sets class
attributes (cases, mistakes and their messages, structure requirements) and, where it must, one
small method (``expected``: the check's own reference computation). Like every check, the kinds
reach the answer only through probes (``course_utils.probes.client.Answer``) and draw inputs from
``checks.generator``, so the same declaration judges a notebook's answer in-process and a
student's kernel under grading, on the notebook's inputs or a grader's fresh ones.

The kinds:

- ``FunctionOnCases``: the student's function is called on ``cases`` (data, or ``make_cases()``
  drawing hidden inputs) and compared with ``expected(*args)``. ``refuse`` is checked on every
  result first (wrong type, an input changed in place); when the result differs, the first of
  ``mistakes`` that fits names the mistake (a predicate, or a known wrong result computed from
  the same arguments), else ``otherwise``; what the student's code raises is said by ``raised``.
  An argument may be built on the answer's side: ``Built`` (made there too), ``Twin`` (made there with
  the check's weights); ``seen.given`` holds its handle, so a mistake reads back what the answer did
  to it (a dict renamed in place, a model's flags). A result that is a model is run on ``inputs(*args)``
  and its tree read, every case's in one round trip (``seen.output``, ``seen.tree``, ``seen.children``),
  and compared by its outputs (``expected`` may return the reference model).
- ``ModuleWithCopiedWeights``: the student's ``nn.Module`` class is built with each of ``sizes``
  beside ``reference(*sizes)``; ``requires`` (structure as data: parameter count, layers of a
  type, an autograd op) is checked, the reference weights are copied in, both run on hidden
  inputs, and ``mistakes`` with known results name what the output reproduces. ``refuse`` (in order,
  before any weight is copied) may read the answer's first output (``seen.first()``: one run, with
  its autograd ops and calls per module); ``raised`` says what its forward's errors mean here;
  ``matched(seen)`` checks what equal outputs cannot show (a gradient that must arrive).
- ``DebugModel``: a ``ModuleWithCopiedWeights`` whose statement hands out a broken model
  (``broken``, kept as source in the lesson module); ``symptoms`` are checked first, in order, and
  each names what the student would *see* (never the fix). ``broken_symptoms()`` lets a test
  prove the broken model really shows every one.
- ``TrainToTarget``: ``measure(answer)`` trains or evaluates on the answer's side and returns a
  ``Score`` (hits out of total, or a value); the verdict compares exactly (285/300 is 95 %, never
  0.94999), and ``short`` words the miss.

**Converting a lesson module** (lessons 02-08):

1. For each exercise, pick the kind whose loop its ``check_answer`` is; keep ``id``, ``points``,
   ``title``, ``why`` and ``hints`` as they are. An exercise that fits no kind stays a plain
   ``Exercise`` (lesson00.q2 does): the kinds are for the loops, not a rule.
2. Move each ``if ...: raise Incorrect(...)`` into a ``Mistake(message, when=...)`` (or
   ``result=...``) in the same order: the first that fits is said, as before. Messages are
   ``str.format`` templates over the fields of ``Seen`` (``{case}``, ``{got}``, ``{expected}``,
   ``{shape}``, ``{expected_shape}``, ``{dtype}``, ``{kind}``, ``{advice}``, ``{label}``,
   ``{args[0]}``, ``{said}``; ``{shape[1]}`` and ``{got:,}`` work) or a function of the ``Seen``.
3. Replace every ``try/except`` around the student's call by ``Raised(message, kinds, when)``;
   ``NotImplementedError`` (the stub) is never caught.
4. Shared helpers go to ``checks`` (never a local copy); keep only exercise-specific
   computations (the reference, a known wrong formula) in the lesson module.
5. Move the answers of ``tests/unit/test_lessonNN.py`` into ``tests/exercise_answers/lessonNN.py``
   (``Right``/``Wrong`` entries, see ``course_utils.exercises.testing``); keep only tests of special
   behaviour in ``test_lessonNN.py``. Run the bank: every verdict and message must stay as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

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


# --- a function compared with the reference on cases -----------------------------------------------

class FunctionOnCases(Exercise):
    """The student's function, called on each case and compared with ``expected(*args)``."""

    function: str = ""                      # the name the student defines: messages say `function`
    must_be_function: bool = True           # False: any callable (a lambda, a module) is called
    cases: Sequence[Case] = ()              # or make_cases() for inputs drawn from checks.generator
    refuse: Sequence[Mistake] = ()          # checked on every result, before comparing
    mistakes: Sequence[Mistake] = ()        # the result differs: the first that fits names it
    differs: Message = ""                   # the opening of every message about a differing result
    otherwise: Message = "{advice}"         # no mistake fits
    raised: Sequence[Raised] = ()           # the student's code raised
    worded: str = ""                        # set: other PyTorch errors in the course's words about it

    def expected(self, *args):
        """The reference result, computed by the check itself (never from the answer's reply)."""
        raise TypeError(f"{type(self).__name__} must define expected(*args)")

    def same(self, got, expected) -> bool:
        """Tensors: ``checks.close`` (shape, dtype, values); anything else: the same plain value."""
        got, expected = checks.plain(got), checks.plain(expected)
        if isinstance(expected, torch.Tensor):
            return checks.close(got, expected)
        return type(got) is type(expected) and got == expected

    def describe(self, case: Case, args: tuple) -> str:
        """How a message names the case: `` `name(5, 28, 20)` `` by default."""
        return f"`{self.function}({', '.join(map(_shown, args))})`"

    def returns(self, got, seen: Seen):
        """The result as the check compares it; may raise ``Incorrect`` (``checks.expect_int``)."""
        return got

    def inputs(self, *args) -> tuple | None:
        """Hidden inputs a result that is a model is run on (None: results are compared as they are)."""
        return None

    def make_cases(self) -> Sequence[Case]:
        return self.cases

    def after_cases(self, answer: Answer) -> None:
        """What the kind cannot say with cases (a gradient that must arrive): override."""

    def check_answer(self, answer):
        if self.must_be_function:
            checks.expect_function(answer, self.function)
        # every case is sent at once (under grading one round trip to the kernel, not one per
        # case), then judged in order as if called one at a time: the first that fails is said
        seens = []
        for case in self.make_cases():
            args = tuple(_local(a) for a in case.args)
            seens.append(Seen(self, answer, case, args))
        for seen, given in zip(seens, _arguments_for(answer, [(seen.case.args, seen.args) for seen in seens])):
            seen.given = given
        if seens:
            _expect_callable(answer, f"`{self.function}`")
        runs = answer.runs([seen.given for seen in seens])
        self._read_models(answer.session, seens, runs)
        for seen, run in zip(seens, runs):
            self.check_case(seen, run)
        self.after_cases(answer)

    def check_case(self, seen: Seen, run) -> None:
        """Judge one case from its ``run`` (or what the call raised)."""
        try:
            seen.run = _ran(run, seen.given, f"`{self.function}`")
        except (RuntimeError, TypeError, ValueError, IndexError, KeyError, AttributeError) as error:
            raise self._translated(error, seen) from None
        seen.got = checks.plain(seen.run.value)
        self._first_fitting(self.refuse, seen, prefix="")
        if isinstance(seen.output, NotImplementedError):
            raise seen.output                 # a stub inside the returned model (or no forward): never a mistake
        seen.got = self.returns(seen.got, seen)
        if seen.matches:
            return
        opening = seen.say(self.differs) if self.differs else ""
        self._first_fitting(self.mistakes, seen, prefix=opening)
        if isinstance(seen.output, Exception):  # the returned model's run raised, and no mistake names it
            raise self._translated(seen.output, seen) from None
        raise Incorrect(opening + seen.say(self.otherwise))

    def _read_models(self, session, seens, runs) -> None:
        """Each result that is a model (a handle), run on ``inputs(*args)`` and its tree read: every
        case's in one round trip, before any case is judged."""
        models = [(seen, run.value, inputs) for seen, run in zip(seens, runs) if isinstance(run, Run)
                  and isinstance(run.value, Answer) and (inputs := self.inputs(*seen.args)) is not None]
        if not models:
            return
        replies = session.requests([request for _, model, inputs in models for request in (
            ("tree", {"handle": model}), ("call", {"handle": model, "args": list(inputs), "no_grad": True}))])
        for (seen, _, inputs), tree, ran in zip(models, replies[::2], replies[1::2]):
            seen.inputs, seen.tree = inputs, None if isinstance(tree, Exception) else _entries(tree)
            ran = ran if isinstance(ran, Exception) else Answer._run(ran)
            seen.output = ran if isinstance(ran, Exception) else checks.plain(ran.value)

    @staticmethod
    def _first_fitting(mistakes, seen, prefix: str) -> None:
        for mistake in mistakes:
            if mistake.fits(seen):
                raise Incorrect(prefix + seen.say(mistake.message))

    def _translated(self, error, seen: Seen) -> BaseException:
        if isinstance(error, NotImplementedError) or not hasattr(error, "missing_forward"):
            return error                  # the stub (not attempted), or the check's own fault
        seen.error = error
        for said in self.raised:
            if isinstance(error, said.kinds) and (said.when is None or said.when(error, seen)):
                return checks.mistake_in_your_code(error, seen.say(said.message))
        if self.worded:
            return checks.explain(error, None, self.worded) or error
        return error


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


# --- a module compared with the reference, weights copied -----------------------------------------

@dataclass(frozen=True)
class OutputDiffers:
    """A message (an ``otherwise``) for an output that differs from the reference: its shape, its dtype
    or its largest difference, in ``checks.expect_close``'s words about ``what``."""

    what: str = "your module's output"

    def __call__(self, seen: Seen) -> str:
        try:
            checks.expect_close(seen.got, seen.expected, self.what)
        except Incorrect as differs:
            return str(differs)
        return f"{self.what[:1].upper()}{self.what[1:]} differs from the expected values."


class Requirement:
    """A structural requirement of a module answer, checked before any output is compared."""

    def check(self, model: Answer, reference: nn.Module) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class SameParameterCount(Requirement):
    """As many registered parameters as the reference (layers hidden in plain lists are named)."""

    def check(self, model, reference):
        checks.expect_parameter_count(model, checks.parameter_count(reference))


@dataclass(frozen=True)
class Layers(Requirement):
    """Registered layers of a type: exactly ``count``, or ``at_least``."""

    type: type
    count: int | None = None
    at_least: int | None = None

    def check(self, model, reference):
        checks.expect_submodules(model, self.type, count=self.count, at_least=self.at_least)


@dataclass(frozen=True)
class Op(Requirement):
    """An autograd operation the output must come from (``"AddBackward0"``), and why."""

    name: str
    message: str

    def check(self, model, reference):   # checked on the run: see ModuleWithCopiedWeights
        return None


@dataclass
class ModuleSeen(Seen):
    """A module case: ``args`` are the hidden inputs; ``model`` the answer built, ``reference`` the check's."""

    model: Answer | None = None
    reference: nn.Module | None = None
    sizes: tuple = ()
    _first: Run | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.answer.name

    def first(self) -> Run:
        """The answer's first run on the hidden inputs, with its own weights (autograd ops and calls per
        module recorded), made once, on first use; ``got`` is then its plain output."""
        if self._first is None:
            self._first = self.exercise._run(self.model, self.args, self, ops=True, calls=True)
            self.got = checks.plain(self._first.value)
        return self._first

    def known(self, result):
        return super().known(lambda *inputs: result(self.reference, *inputs))


class ModuleWithCopiedWeights(Exercise):
    """The student's ``nn.Module`` class, built with each of ``sizes``, against ``reference(*sizes)``:
    structure first (``requires``), then the reference's weights copied in and the outputs compared."""

    sizes: Sequence[tuple] = ()
    requires: Sequence[Requirement] = (SameParameterCount(),)
    refuse: Sequence[Mistake] = ()          # before any weight is copied, in order; ``seen.first()`` runs it once
    mistakes: Sequence[Mistake] = ()        # ``result(reference, *inputs)``: what a mistake computes
    otherwise: Message = "Your module's output differs from the expected values."
    raised: Sequence[Raised] = ()           # what the answer's forward raises means here, before ``advice``
    advice: Message = ""                    # added to PyTorch's errors, said in the course's words
    subject: Message = "your module"        # either may be a function of the ModuleSeen (sizes, input shape)

    def reference(self, *sizes) -> nn.Module:
        """The check's own module: by default the solution's class, built with the same sizes."""
        return self.solution_object()(*sizes)

    def inputs(self, *sizes) -> tuple:
        """Hidden inputs for one size set (from ``checks.hidden_input`` / ``checks.generator``)."""
        raise TypeError(f"{type(self).__name__} must define inputs(*sizes)")

    def same(self, got, expected) -> bool:
        return checks.close(got, expected)

    def describe(self, case, args) -> str:
        return f"`{case.label}`"

    def expected(self, *inputs):   # Seen.expected: the reference on the hidden inputs
        with torch.no_grad():
            return self._reference(*inputs)

    def check_answer(self, answer):
        for sizes in self.sizes:
            self.check_sizes(answer, tuple(sizes))

    def reference_for(self, model: Answer, sizes: tuple) -> nn.Module:
        """The reference this answer is compared with: ``reference(*sizes)``, unless it follows a
        choice the statement leaves free (a shortcut built with or without a bias)."""
        return self.reference(*sizes)

    def check_sizes(self, answer: Answer, sizes: tuple, model: Answer | None = None) -> None:
        """``model``: the answer already built with ``sizes`` (by a subclass that looked at it first)."""
        model = model if model is not None else checks.instantiate(answer, *sizes)
        reference = self._reference = self.reference_for(model, sizes)
        for requirement in self.requires:
            requirement.check(model, reference)
        inputs = self.inputs(*sizes)
        label = f"{answer.name}({', '.join(map(repr, sizes))})"
        seen = ModuleSeen(self, answer, Case(inputs, label=label), inputs, model=model, reference=reference,
                          sizes=sizes)
        ops = [r for r in self.requires if isinstance(r, Op)]
        if ops:
            run = self._run(model, inputs, seen, ops=True)
            for op in ops:
                checks.expect_autograd_op(run, op.name, op.message)
        FunctionOnCases._first_fitting(self.refuse, seen, prefix="")
        if checks.copy_weights_until(reference, model, lambda: self.same(self._output(model, inputs, seen),
                                                                        seen.expected)):
            self.matched(seen)
            return
        self._output(model, inputs, seen)    # the first pairing is back in place: its output names the mistake
        FunctionOnCases._first_fitting(self.mistakes, seen, prefix="")
        raise Incorrect(seen.say(self.otherwise))

    def matched(self, seen: ModuleSeen) -> None:
        """The outputs agree: what outputs cannot show (a gradient that must arrive): override."""

    def _output(self, model, inputs, seen):
        seen.got = checks.plain(self._run(model, inputs, seen, no_grad=True).value)
        return seen.got

    def _run(self, model, inputs, seen=None, **options) -> Run:
        subject, advice = (said(seen) if callable(said) else said for said in (self.subject, self.advice))
        with checks.worded(model, subject, advice, checks.dims_of(inputs)):
            try:
                return model.run(*inputs, **options)
            except (RuntimeError, TypeError, ValueError, IndexError) as error:
                if isinstance(error, NotImplementedError) or seen is None:
                    raise
                seen.error = error
                said = next((r for r in self.raised if isinstance(error, r.kinds)
                             and (r.when is None or r.when(error, seen))), None)
                if said is None:
                    raise
                raise checks.mistake_in_your_code(error, seen.say(said.message)) from None


# --- a broken model to fix ------------------------------------------------------------------------

@dataclass(frozen=True)
class Symptom:
    """What the student would see while the bug is there (a number, a silent no-op, a gradient that
    never arrives): ``present(model, seen)`` on the built answer; the message names the symptom."""

    message: Message
    present: Callable


class DebugModel(ModuleWithCopiedWeights):
    """A given broken model (``broken``: its source, quoted by the statement); the answer is the
    fixed class. Every symptom is checked first, in order, then the fix is compared like any module."""

    broken: str = ""
    symptoms: Sequence[Symptom] = ()

    def check_sizes(self, answer, sizes):
        model = checks.instantiate(answer, *sizes)
        seen = ModuleSeen(self, answer, Case(sizes, label=f"{answer.name}{sizes}"), sizes, model=model, sizes=sizes)
        for symptom in self.symptoms:
            if symptom.present(model, seen):
                raise Incorrect(seen.say(symptom.message))
        super().check_sizes(answer, sizes, model)     # the same model: its weights are copied over anyway

    def broken_class(self) -> type:
        """The broken model of the statement, built from ``broken`` (for tests and the lesson)."""
        namespace = {"torch": torch, "nn": nn, "F": torch.nn.functional}
        exec(compile(self.broken, f"<broken model of {self.id}>", "exec"), namespace)
        return [v for v in namespace.values() if isinstance(v, type) and issubclass(v, nn.Module)][-1]

    def broken_symptoms(self) -> list[int]:
        """Which symptoms (their indices) the broken model shows, checked through probes like an answer."""
        from course_utils.probes.client import LocalTransport, Session

        shown = []
        with Session(LocalTransport({"broken": self.broken_class()}), 0) as session:
            answer = session.target("broken")
            for sizes in self.sizes:
                model = checks.instantiate(answer, *sizes)
                seen = ModuleSeen(self, answer, Case(tuple(sizes)), tuple(sizes), model=model, sizes=tuple(sizes))
                shown += [i for i, s in enumerate(self.symptoms) if i not in shown and s.present(model, seen)]
        return sorted(shown)


# --- training or measuring to a target --------------------------------------------------------------

@dataclass(frozen=True)
class Score:
    """A measurement: ``hits`` out of ``total`` (compared exactly), or a plain ``value``."""

    hits: int = 0
    total: int = 0
    value: float | None = None
    details: dict = field(default_factory=dict, compare=False)   # more fields for ``short``

    @property
    def fraction(self) -> Fraction | float:
        return Fraction(self.hits, self.total) if self.value is None else self.value

    def percent(self) -> str:
        return f"{float(self.fraction) * 100:.1f} %"


class TrainToTarget(Exercise):
    """``measure(answer)`` trains or evaluates on the answer's side and returns a ``Score``; it must
    reach ``target`` (a ``Fraction`` for counts: 95/100 accepts 285 of 300), or ``higher_is_better``
    False for a loss. ``short`` words the miss (fields: ``{score}``, ``{target}`` and the score's ``details``)."""

    target: Fraction | float = Fraction(1)
    higher_is_better: bool = True
    short: str = "Your answer reached {score}; at least {target} is needed."

    def measure(self, answer: Answer) -> Score:
        raise TypeError(f"{type(self).__name__} must define measure(answer)")

    def reached(self, score: Score) -> bool:
        value = score.fraction
        return value >= self.target if self.higher_is_better else value <= self.target

    def check_answer(self, answer):
        score = self.measure(answer)
        if not self.reached(score):
            target = f"{float(self.target) * 100:g} %" if isinstance(self.target, Fraction) else f"{self.target:g}"
            shown = score.percent() if score.value is None else f"{score.value:.4g}"
            raise Incorrect(self.short.format(**score.details, score=shown, target=target))
