"""Moved to ``course_utils.exercises.checks.torch_errors`` (use ``checks.explain`` / ``checks.worded``);
this name stays so that existing imports (lessons 02-08) keep working."""

from course_utils.exercises.checks.torch_errors import (  # noqa: F401
    IMAGES, VECTORS, _capital, _layer, _what_happened, dims_of, explain, worded)
