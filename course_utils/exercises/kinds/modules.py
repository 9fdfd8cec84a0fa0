"""``ModuleWithCopiedWeights``: the student's module class built beside the check's reference, structure
checked first, then the reference's weights copied in and outputs compared; ``DebugModel``: the same for
the fixed version of a broken model, whose symptoms are checked first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.exercises.kinds.parts import Case, Message, Mistake, Raised, Seen, first_fitting
from course_utils.probes.client import Answer, Run


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
        first_fitting(self.refuse, seen, prefix="")
        if checks.copy_weights_until(reference, model, lambda: self.same(self._output(model, inputs, seen),
                                                                        seen.expected)):
            self.matched(seen)
            return
        self._output(model, inputs, seen)    # the first pairing is back in place: its output names the mistake
        first_fitting(self.mistakes, seen, prefix="")
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
