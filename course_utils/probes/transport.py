"""What carries a probe, and how it can fail, without torch: the grading process imports this
before its first kernel starts, and torch only while that kernel runs its first notebook.

A ``Transport`` carries wire text to the answer's side: ``LocalTransport`` (``client``) in this
process, the grader's ``KernelTransport`` (``course_utils.grade.pytest_side.judge``) to a kernel.
"""

from __future__ import annotations


class ProbeFault(Exception):
    """The other side's reply was malformed, refused or late: the check cannot judge."""


class TransportFailed(Exception):
    """The answer's side stopped answering (a time-out, a dead kernel): a fault, not a verdict.
    The transport that raises it says which (its arguments)."""


class Transport:
    """Carries one request (wire text) to the answer's side and brings the reply back."""

    def send(self, text: str) -> str:
        raise NotImplementedError
