"""Shared checks that exercise classes call; each raises ``Incorrect`` in the student's terms.

Why here and not in each exercise: the same mistakes recur across lessons (a class passed as
an instance, a forgotten ``super().__init__()``, layers kept in a plain list, a wrong output
shape), and each deserves one well-worded message. Checks are behavioural (outputs on hidden
inputs against a reference, after copying weights) and structural (parameters, module types,
autograd ops); none requires an attribute name unless the exercise asks for it.

One vocabulary, ``checks.name``, in submodules that each read in one sitting:

- ``values``: ``plain`` (a value as what it is, never a lying subclass), ``close`` / ``equal`` (the
  one tolerance), hidden inputs (``generator``, ``hidden_input``), ``expect_tensor``/``int``/
  ``shape``/``close``, and the wording shared by messages (``kind_of``, ``first_line``);
- ``answers``: building and calling the answer (``instantiate``, ``expect_class``,
  ``expect_function``, ``call``, ``cannot_call``), ``mistake_in_your_code``, ``differentiated``;
- ``weights``: parameters (``parameter_count``, ``unregistered_modules``...) and copying the
  reference's weights into an answer (``copy_weights``, ``copy_weights_until``);
- ``structure``: module types, autograd ops, the optimizer, calls per layer;
- ``torch_errors``: PyTorch's errors in the course's words (``explain``, ``worded``, ``dims_of``).
"""

from course_utils.exercises.checks.answers import (  # noqa: F401
    FORGOT_SUPER, Differentiated, _cannot_call, _expect_accepts, _instantiate_probed, _where, _where_init, call,
    cannot_call, differentiated, expect_class, expect_function, instantiate, is_library_module, mistake_in_your_code,
    type_module, type_name)
from course_utils.exercises.checks.structure import (  # noqa: F401
    autograd_ops, calls_per_module, expect_autograd_op, expect_optimizer_covers, expect_submodules,
    modules_of_type, optimizer_missing)
from course_utils.exercises.checks.structure import children_of, not_in_optimizer, weight_shape  # noqa: F401
from course_utils.exercises.checks.torch_errors import dims_of, explain, worded  # noqa: F401
from course_utils.exercises.checks.torch_errors import call_model, run_model  # noqa: F401
from course_utils.exercises.checks.values import (  # noqa: F401
    ATOL, RTOL, _capital, _kind, _shape, _short, close, equal, exactly_equal, expect_close, expect_int,
    expect_shape, expect_tensor, first_line, generator, hidden_input, kind_of, plain, same)
from course_utils.exercises.checks.weights import (  # noqa: F401
    _MODULE_INTERNALS, Computed, copy_weights, copy_weights_by_shape, copy_weights_until, expect_connected_to_graph,
    expect_parameter_count, expect_registered, parameter_breakdown, parameter_count, unique, unregistered_modules,
    unregistered_tensors)
from course_utils.exercises.engine import Incorrect, StudentLine, fresh_inputs, probe_seed, student_line  # noqa: F401
