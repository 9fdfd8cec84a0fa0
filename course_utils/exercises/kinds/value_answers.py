"""``ValueAnswer``: the answer is a value the student wrote down (a shape, a layer), judged as it is.

Why a kind: such an exercise has the loop of a function's result in ``FunctionOnCases`` without the
call: refuse what the answer is not (the class instead of a layer, three numbers instead of four),
read what the check compares, compare it with the check's own ``expected()``, and when it differs
say the first known mistake that fits, else ``otherwise``. Nothing is called except in ``matched``
(a layer run on a hidden input), so the answer's code never runs before it is known to be a value
of the right kind."""

from __future__ import annotations

from collections.abc import Sequence

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.exercises.kinds.parts import Case, Message, Mistake, Seen, first_fitting
from course_utils.probes.client import Answer


class ValueAnswer(Exercise):
    """The answer itself: ``seen.answer`` its handle, ``seen.got`` its plain value where it is plain data
    (a tuple, a list, an int), else the handle; after ``refuse``, ``seen.got`` is what ``reads`` made."""

    refuse: Sequence[Mistake] = ()          # checked first, in order, on the answer as it is
    mistakes: Sequence[Mistake] = ()        # what it reads differs from ``expected()``: the first that fits
    otherwise: Message = ""                 # no mistake fits

    def expected(self):
        """What the check compares the answer with, computed by the check itself."""
        raise TypeError(f"{type(self).__name__} must define expected()")

    def reads(self, seen: Seen):
        """What the check compares (asked of the answer only once ``refuse`` let it through): by default
        the value itself."""
        return seen.got

    def same(self, got, expected) -> bool:
        """The same plain value, of the same type (an ``int`` subclass was made a plain int on the way)."""
        got, expected = checks.plain(got), checks.plain(expected)
        return type(got) is type(expected) and got == expected

    def matched(self, seen: Seen) -> None:
        """The value is right: what equality cannot show (a layer that must run): override."""

    def describe(self, case: Case, args: tuple) -> str:
        return "your answer"

    def check_answer(self, answer: Answer):
        seen = Seen(self, answer, Case(()), (), got=answer.info.get("value") if answer.kind == "value" else answer)
        first_fitting(self.refuse, seen, prefix="")
        seen.got = self.reads(seen)
        if not self.same(seen.got, seen.expected):
            first_fitting(self.mistakes, seen, prefix="")
            raise Incorrect(seen.say(self.otherwise))
        self.matched(seen)
