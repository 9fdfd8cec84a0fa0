"""``ClassOnCases``: the student's module class built with each case's arguments (the layers, functions
and settings the check hands in), the instance called on the case's input, and its result compared with
the check's own ``reference(*args, **kwargs)`` built from its copies of those arguments.

Why a kind of its own: a container (a ``Chain`` of the layers it is given) or a wrapper (a ``Lambda`` of
a function and its settings) has no weights of its own to copy and no reference class to compare with:
what it must compute is defined by what it receives. So a case declares the arguments (``Built`` and
``Twin``, made on both sides: the check's copies for the reference, handles for the answer; one declared
object passed twice is one object twice, as a layer shared by two positions) and the input, and the
check reads, case by case and in order: the instance as built (``built``: what it registered, what it
called while being built), what its call returned (``refuse``), the comparison, and the known mistakes
(``mistakes``), as ``FunctionOnCases`` does for a function. Every case's arguments are made on the
answer's side in one round trip; each case is then built, called and judged before the next is built,
so a mistake the first case shows is said before a later case's arguments can trip the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.exercises.kinds.parts import Built, Message, Mistake, Raised, Seen, _arguments_for, first_fitting
from course_utils.probes.client import Answer, AnswerRaised, BindError


@dataclass(frozen=True)
class Instance:
    """One case: the class built as ``Class(*args, **kwargs)``, then called on ``inputs``; ``label`` names
    it in messages (`` `Lambda(fn, 3.0)` ``). ``args`` may hold ``Built``/``Twin`` (the same object twice:
    one object, passed twice) and plain settings."""

    args: tuple
    inputs: tuple
    kwargs: dict = field(default_factory=dict)
    label: str = ""
    advice: str = ""


@dataclass
class InstanceSeen(Seen):
    """A case as the check saw it: ``args``/``kwargs`` the check's copies of what the class received,
    ``given`` the answer's handles for them, ``model`` the instance it built, ``inputs`` what it was called
    on, ``got`` what the call returned (plain), ``reference`` the check's own computation."""

    kwargs: dict = field(default_factory=dict)
    model: Answer | None = None
    reference: Callable | None = None

    @property
    def expected(self):
        if not self._has_expected:
            with torch.no_grad():
                self._expected, self._has_expected = self.reference(*self.inputs), True
        return self._expected

    @property
    def compared(self):
        return self.got

    def known(self, result):
        """What a known mistake computes: ``result(reference, *inputs)`` (None where it cannot run)."""
        return super().known(lambda *args: result(self.reference, *self.inputs))


class ClassOnCases(Exercise):
    """The student's module class, built with each case's arguments and called on its input."""

    cases: Sequence[Instance] = ()          # or make_cases() for inputs drawn from checks.generator
    advice: str = ""                        # said after "`Class(...)` cannot be called with (...)": the signature
    built: Sequence[Mistake] = ()           # the instance as built, before it is called (registered, called)
    refuse: Sequence[Mistake] = ()          # what the call returned, before comparing (a type, a length)
    mistakes: Sequence[Mistake] = ()        # the result differs: the first that fits names it
    otherwise: Message = "{case}(x) is not what it should compute."
    what: Message = "{case}"                # the call, in "cannot be called with" (e.g. "your Chain")
    subject: Message = ""                   # set: PyTorch's errors said about it (``checks.worded``) with ``worded``
    worded: str = ""                        # ... and this advice; then ``raised``, for errors it does not know
    raised: Sequence[Raised] = ()           # what the call's errors mean here

    def reference(self, *args, **kwargs) -> Callable:
        """The check's own computation with its copies of the arguments: called on a case's inputs."""
        raise TypeError(f"{type(self).__name__} must define reference(*args, **kwargs)")

    def same(self, got, expected) -> bool:
        return checks.close(got, expected)

    def describe(self, case: Instance, args: tuple) -> str:
        return case.label

    def make_cases(self) -> Sequence[Instance]:
        return self.cases

    def after_cases(self, answer: Answer, seens: list[InstanceSeen]) -> None:
        """What the cases cannot say (a gradient that must arrive through a built instance): override."""

    def check_answer(self, answer):
        checks.expect_class(answer)
        cases = list(self.make_cases())
        # the same declared object twice is one object twice: made once per case, on both sides
        unique = [list({id(a): a for a in case.args if isinstance(a, Built)}.values()) for case in cases]
        made = [[(a, a.factory(*a.args)) for a in declared] for declared in unique]
        handles = _arguments_for(answer, [(tuple(d for d, _ in pairs), tuple(m for _, m in pairs)) for pairs in made])
        seens = []
        for case, pairs, given in zip(cases, made, handles):
            local = {id(d): m for d, m in pairs}
            remote = {id(d): h for (d, _), h in zip(pairs, given)}
            args = tuple(local.get(id(a), a) for a in case.args)
            seen = InstanceSeen(self, answer, case, args, given=tuple(remote.get(id(a), a) for a in case.args),
                                inputs=tuple(x.clone() for x in case.inputs), kwargs=dict(case.kwargs),
                                reference=self.reference(*args, **case.kwargs))
            self.check_case(seen)
            seens.append(seen)
        self.after_cases(answer, seens)

    def build(self, answer: Answer, given: tuple, kwargs: dict, shown: tuple) -> Answer:
        """``checks.instantiate(answer, *given, **kwargs)``, a wrong signature said with the check's own
        copies of the arguments (``shown``: "the function affine", not a handle) and ``advice``."""
        try:
            return checks.instantiate(answer, *given, **kwargs)
        except Incorrect as error:
            if "cannot be called with" not in str(error):
                raise
            bind, message = error.__context__, str(error)
            if isinstance(bind, BindError):
                message = checks.cannot_call(f"`{answer.name}(...)`", shown, kwargs, bind, bind.signature)
            raise Incorrect(f"{message} {self.advice}") from None
        except AttributeError as error:
            # a module built without ``super().__init__()`` has no registries: its tree cannot be read
            if not (isinstance(error, AnswerRaised) and error.location is None and "'_modules'" in str(error)):
                raise
            raise Incorrect(f"`{answer.name}.__init__` must call `super().__init__()` before anything else"
                            f"{checks._where(answer.info.get('init'))}: without it the module has no registries "
                            "and cannot run.") from None

    def check_case(self, seen: InstanceSeen) -> None:
        seen.model = self.build(seen.answer, seen.given, seen.kwargs, seen.args)
        first_fitting(self.built, seen, prefix="")
        seen.run = self.call(seen)
        seen.got = checks.plain(seen.run.value)
        first_fitting(self.refuse, seen, prefix="")
        if seen.matches:
            return
        first_fitting(self.mistakes, seen, prefix="")
        raise Incorrect(seen.say(self.otherwise))

    def call(self, seen: InstanceSeen):
        """The instance called on the case's inputs: its ``Run``; its errors in the course's words."""
        try:
            if self.subject:
                with checks.worded(seen.model, seen.say(self.subject), self.worded, checks.dims_of(seen.inputs)):
                    return seen.model.run(*seen.inputs)
            return seen.model.run(*seen.inputs)
        except BindError as error:
            raise Incorrect(checks.cannot_call(seen.say(self.what), seen.inputs, {}, error, error.signature)) from None
        except (RuntimeError, TypeError, ValueError, IndexError) as error:
            if isinstance(error, NotImplementedError):
                raise
            seen.error = error
            for said in self.raised:
                if isinstance(error, said.kinds) and (said.when is None or said.when(error, seen)):
                    raise checks.mistake_in_your_code(error, seen.say(said.message)) from None
            raise
