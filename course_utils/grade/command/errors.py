"""The one exception of the grading pipeline."""


class GradingError(RuntimeError):
    """The grading itself failed (not a student's notebook): no gradebook is written."""
