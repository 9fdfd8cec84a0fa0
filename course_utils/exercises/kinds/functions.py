"""``FunctionOnCases``: the student's function called on every case, in one round trip, and compared with
the check's own ``expected(*args)``; the first known mistake that fits names what went wrong."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.exercises.kinds.parts import (Case, Message, Mistake, Raised, Seen, _arguments_for, _entries,
                                                _expect_callable, _local, _ran, _shown, first_fitting)
from course_utils.probes.client import Answer, Run


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
        first_fitting(self.refuse, seen, prefix="")
        if isinstance(seen.output, NotImplementedError):
            raise seen.output                 # a stub inside the returned model (or no forward): never a mistake
        seen.got = self.returns(seen.got, seen)
        if seen.matches:
            return
        opening = seen.say(self.differs) if self.differs else ""
        first_fitting(self.mistakes, seen, prefix=opening)
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
