"""Moved to ``course_utils.exercises.checks.structure`` (use ``checks.modules_of_type`` etc.);
this name stays so that existing imports keep working."""

from course_utils.exercises.checks.structure import (  # noqa: F401
    _type_names, autograd_ops, calls_per_module, expect_autograd_op, expect_optimizer_covers, expect_submodules,
    modules_of_type)
