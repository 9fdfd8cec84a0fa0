"""``TrainToTarget``: the answer trained or evaluated on its own side, its ``Score`` compared exactly with
a target (285 of 300 is 95 %, never 0.94999)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.probes.client import Answer


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
