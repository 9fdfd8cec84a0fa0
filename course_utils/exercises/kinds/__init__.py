"""Exercise kinds: the checks that recur across lessons, written once; a lesson module declares data.

Why: every lesson had hand-written loops for the same few kinds of exercise. Here each kind is a
subclass of ``engine.Exercise`` whose ``check_answer`` is the loop; a lesson's exercise sets class
attributes (cases, mistakes and their messages, structure requirements) and, where it must, one
small method (``expected``: the check's own reference computation). Like every check, the kinds
reach the answer only through probes (``course_utils.probes.client.Answer``) and draw inputs from
``checks.generator``, so the same declaration judges a notebook's answer in-process and a
student's kernel under grading, on the notebook's inputs or a grader's fresh ones.

The kinds:

- ``FunctionOnCases``: the student's function is called on ``cases`` (data, or ``make_cases()``
  drawing hidden inputs) and compared with ``expected(*args)``. ``refuse`` is checked on every
  result first (wrong type, an input changed in place); when the result differs, the first of
  ``mistakes`` that fits names the mistake (a predicate, or a known wrong result computed from
  the same arguments), else ``otherwise``; what the student's code raises is said by ``raised``.
  An argument may be built on the answer's side: ``Built`` (made there too), ``Twin`` (made there with
  the check's weights); ``seen.given`` holds its handle, so a mistake reads back what the answer did
  to it (a dict renamed in place, a model's flags). A result that is a model is run on ``inputs(*args)``
  and its tree read, every case's in one round trip (``seen.output``, ``seen.tree``, ``seen.children``),
  and compared by its outputs (``expected`` may return the reference model).
- ``ModuleWithCopiedWeights``: the student's ``nn.Module`` class is built with each of ``sizes``
  beside ``reference(*sizes)``; ``requires`` (structure as data: parameter count, layers of a
  type, an autograd op) is checked, the reference weights are copied in, both run on hidden
  inputs, and ``mistakes`` with known results name what the output reproduces. ``refuse`` (in order,
  before any weight is copied) may read the answer's first output (``seen.first()``: one run, with
  its autograd ops and calls per module); ``raised`` says what its forward's errors mean here;
  ``matched(seen)`` checks what equal outputs cannot show (a gradient that must arrive).
- ``DebugModel``: a ``ModuleWithCopiedWeights`` whose statement hands out a broken model
  (``broken``, kept as source in the lesson module); ``symptoms`` are checked first, in order, and
  each names what the student would *see* (never the fix). ``broken_symptoms()`` lets a test
  prove the broken model really shows every one.
- ``ClassOnCases``: the student's module class built with each case's arguments (layers or functions made
  on both sides, settings, keyword arguments; ``Instance``) and called on the case's input; ``built`` reads the
  instance first (what it registered, what it called), then ``refuse``, the comparison with
  ``reference(*args, **kwargs)`` and ``mistakes``, as ``FunctionOnCases`` does for a function.
- ``TrainToTarget``: ``measure(answer)`` trains or evaluates on the answer's side and returns a
  ``Score`` (hits out of total, or a value); the verdict compares exactly (285/300 is 95 %, never
  0.94999), and ``short`` words the miss.
- ``ValueAnswer``: the answer is a value the student wrote down (a shape, a layer), never called
  before it is known to be one: ``refuse`` (what it is not), then ``reads(seen)`` (what the check
  compares with ``expected()``), ``mistakes`` in order, ``otherwise``; ``matched`` for what equality
  cannot show (the layer run on a hidden input).
- ``ModuleOnChoices``: a module whose forward takes, after the input, an argument choosing what runs
  (a switch, a head's name): ``refuse`` (structure), the parameter count, ``layers`` found by weight
  shape and given the check's weights, then every choice called at once and compared with
  ``expected(layers, x, choice)``; ``mistakes`` read every choice's output (``outputs``, ``wanted``).
- ``GrowingModel``: a model that grows while it trains (Adam and a ``Trainer`` built next to it, a
  step before each growth); ``mistakes`` read a ``Growth``, each fact fetched on first use: what was
  added, whether the output stayed, what the optimizer holds and remembers, what moves in training.

**Converting a lesson module** (lessons 02-08):

1. For each exercise, pick the kind whose loop its ``check_answer`` is; keep ``id``, ``points``,
   ``title``, ``why`` and ``hints`` as they are. An exercise that fits no kind stays a plain
   ``Exercise`` (lesson08.q2 does: three calls on one model, each judged on what the last one left),
   its mistakes still ``Mistake`` data said by ``first_fitting``: the kinds are for the loops, not a rule.
2. Move each ``if ...: raise Incorrect(...)`` into a ``Mistake(message, when=...)`` (or
   ``result=...``) in the same order: the first that fits is said, as before. Messages are
   ``str.format`` templates over the fields of ``Seen`` (``{case}``, ``{got}``, ``{expected}``,
   ``{shape}``, ``{expected_shape}``, ``{dtype}``, ``{kind}``, ``{advice}``, ``{label}``,
   ``{args[0]}``, ``{said}``; ``{shape[1]}`` and ``{got:,}`` work) or a function of the ``Seen``.
3. Replace every ``try/except`` around the student's call by ``Raised(message, kinds, when)``;
   ``NotImplementedError`` (the stub) is never caught.
4. Shared helpers go to ``checks`` (never a local copy); keep only exercise-specific
   computations (the reference, a known wrong formula) in the lesson module.
5. Move the answers of ``tests/unit/test_lessonNN.py`` into ``tests/exercise_answers/lessonNN.py``
   (``Right``/``Wrong`` entries, see ``course_utils.exercises.testing``); keep only tests of special
   behaviour in ``test_lessonNN.py``. Run the bank: every verdict and message must stay as it was.
"""

from course_utils.exercises.kinds.choices import ChoicesSeen, LinearLayer, ModuleOnChoices
from course_utils.exercises.kinds.classes import ClassOnCases, Instance
from course_utils.exercises.kinds.functions import FunctionOnCases
from course_utils.exercises.kinds.growing import GrowingModel, Growth
from course_utils.exercises.kinds.modules import (DebugModel, Layers, ModuleSeen, ModuleWithCopiedWeights, Op,
                                                  OutputDiffers, Requirement, SameParameterCount, Symptom)
from course_utils.exercises.kinds.parts import Built, Case, Message, Mistake, Raised, Seen, Twin
from course_utils.exercises.kinds.training import Score, TrainToTarget
from course_utils.exercises.kinds.value_answers import ValueAnswer

__all__ = ["Built", "Case", "ChoicesSeen", "ClassOnCases", "DebugModel", "FunctionOnCases", "GrowingModel",
           "Growth", "Instance", "Layers", "LinearLayer", "Message", "Mistake", "ModuleOnChoices",
           "ModuleSeen", "ModuleWithCopiedWeights", "Op", "OutputDiffers", "Raised", "Requirement",
           "SameParameterCount", "Score", "Seen", "Symptom", "TrainToTarget", "Twin", "ValueAnswer"]
