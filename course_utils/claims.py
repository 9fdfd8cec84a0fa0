"""State what the text claims about a result, check it, print it the same way everywhere.

Training logs differ in their last digits from one CPU, BLAS or torch build to the next, and
training amplifies the difference: a loss printed as 0.0008 here reads 0.0010 there, a network
grows at step 427 here and at step 458 there. The lessons show such logs without comparing
them (the cell tag ``nbval-ignore-output``) and then check, in a visible cell, what the text
says about them with a tolerance that holds on every machine:

    check_claims({
        "the network grew twice": len(history.growth_steps) == 2,
        "the loss ended below 0.01": history.losses[-1] < 0.01,
    })

prints one line per claim (``✓ the network grew twice``), the same on every machine, so
``pytest --nbval`` compares it. A claim that does not hold is printed with ``✗`` and raises
``ClaimError``: the lesson's text would then be wrong here, and the cell says so.
"""

from __future__ import annotations

from collections.abc import Mapping


class ClaimError(AssertionError):
    """A claim the lesson's text makes does not hold on this machine."""


def check_claims(claims: Mapping[str, object]) -> None:
    """Print ``✓ claim`` for each claim that holds; raise ``ClaimError`` if any does not."""
    failed = []
    for claim, holds in claims.items():
        if not isinstance(holds, bool):
            holds = bool(holds)  # a one-element tensor or a numpy bool
        print(f"{'✓' if holds else '✗'} {claim}")
        if not holds:
            failed.append(claim)
    if failed:
        raise ClaimError("the text of this lesson claims what this run did not show: "
                         + "; ".join(failed) + ". Please report it, with the output above.")
