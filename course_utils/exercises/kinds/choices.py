"""``ModuleOnChoices``: a module whose forward takes, after the input, an argument that chooses what runs
(a switch that turns a layer on, the name of the head to use).

The student's class is built with each of ``sizes``; its structure is judged first (``takes_choice``: the
choice must be forward's second argument; ``refuse``; then the parameter count of ``parameter_count(*sizes)``).
Its ``layers`` are found by their weight shapes (never by attribute name or registration order, so a
ModuleDict, a Sequential or another order passes) and given the check's own weights, in one round trip.
Then the model is called on one hidden input with every choice, all in one round trip; every output is
refused on its shape first (``wrong_shape``, then ``checks.expect_shape``), and each is compared with what
``expected(layers, x, choice)`` computes from the check's weights. When one differs, the first of ``mistakes``
that fits names what went wrong, judged on that choice's ``ChoicesSeen``, which also holds every other
choice's output (``outputs``) and reference (``wanted``): a switch that works the wrong way round shows only
when both are read together.

Why a kind: a forward that branches on an argument is checked the same way whatever it chooses between;
the reference is computed from weights the check chose itself, never from what the answer's side reports.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.exercises.kinds.parts import Case, Message, Mistake, Seen, first_fitting
from course_utils.probes.client import Answer, BindError


@dataclass(frozen=True)
class LinearLayer:
    """A layer the answer must register, ``nn.Linear(in_features, out_features)``: ``role`` names it in
    messages; ``under`` (a module's name) says where it must sit, anywhere when empty."""

    in_features: int
    out_features: int
    role: str
    under: str = ""


@dataclass
class ChoicesSeen(Seen):
    """The answer built with ``sizes`` (``model``). After the runs, one per choice: ``choice``, ``got`` (its
    output), ``expected`` (the reference's), and for every choice ``outputs`` and ``wanted``; ``layers`` are
    the check's own copies of the layers found (by the names ``layers()`` gave them), ``x`` the input."""

    model: Answer | None = None
    sizes: tuple = ()
    layers: dict = field(default_factory=dict)
    choice: object = None
    outputs: dict = field(default_factory=dict)
    wanted: dict = field(default_factory=dict)
    _found: dict = field(default_factory=dict, repr=False)

    @property
    def expected(self) -> torch.Tensor:
        """The reference's output for this choice."""
        return self.wanted[self.choice]

    @property
    def x(self) -> torch.Tensor:
        return self.args[0]

    @property
    def signature(self) -> str:
        return self.model.info.get("signature")

    @property
    def count(self) -> int:
        """The answer's registered parameters (read once)."""
        if "count" not in self._found:
            self._found["count"] = checks.parameter_count(self.model)
        return self._found["count"]

    @property
    def hidden(self) -> list:
        """Attributes that hide modules from PyTorch, as ``checks.unregistered_modules`` (read once)."""
        if "hidden" not in self._found:
            self._found["hidden"] = checks.unregistered_modules(self.model)
        return self._found["hidden"]

    def modules(self, module_type: type) -> list:
        """The answer's registered modules of ``module_type``, as ``checks.modules_of_type`` (read once)."""
        if module_type not in self._found:
            self._found[module_type] = checks.modules_of_type(self.model, module_type)
        return self._found[module_type]


class ModuleOnChoices(Exercise):
    """The student's ``nn.Module`` class, called as ``model(x, choice)`` for every choice and compared with
    the check's own computation on the weights it gave the layers it found."""

    sizes: Sequence[tuple] = ()
    takes_choice: Message = ""              # set: forward must take a second positional argument; else this
    refuse: Sequence[Mistake] = ()          # the built model's structure, before its layers are looked for
    wrong_shape: Sequence[Mistake] = ()     # an output of the wrong shape, before ``checks.expect_shape``
    output_named: str = "the output for {choice!r}"    # how ``checks.expect_shape`` names an output
    mistakes: Sequence[Mistake] = ()        # an output differs: the first that fits, on that choice's Seen
    otherwise: Message = "`model(x, {choice!r})` differs from the expected output."

    def choices(self, *sizes) -> list:
        """The second arguments forward is called with."""
        raise TypeError(f"{type(self).__name__} must define choices(*sizes)")

    def inputs(self, *sizes) -> torch.Tensor:
        """The hidden input every choice is called on."""
        raise TypeError(f"{type(self).__name__} must define inputs(*sizes)")

    def parameter_count(self, *sizes) -> int:
        """The registered parameters the model must have (``checks.expect_parameter_count``)."""
        raise TypeError(f"{type(self).__name__} must define parameter_count(*sizes)")

    def layers(self, seen: ChoicesSeen) -> dict[str, LinearLayer]:
        """The layers the answer must register, by the names ``expected`` uses for them."""
        raise TypeError(f"{type(self).__name__} must define layers(seen)")

    def expected(self, layers: dict, x: torch.Tensor, choice) -> torch.Tensor:
        """What ``model(x, choice)`` must give, from the check's own copies of the layers (under no_grad)."""
        raise TypeError(f"{type(self).__name__} must define expected(layers, x, choice)")

    def check_answer(self, answer):
        for sizes in self.sizes:
            model = checks.instantiate(answer, *_copies(sizes))
            seen = ChoicesSeen(self, answer, Case(sizes), (self.inputs(*sizes),), model=model, sizes=tuple(sizes))
            self.check_model(seen)

    def check_model(self, seen: ChoicesSeen) -> None:
        if self.takes_choice and (positional := _positional(seen.signature)) is not None and positional < 2:
            raise Incorrect(seen.say(self.takes_choice))
        first_fitting(self.refuse, seen, prefix="")
        checks.expect_parameter_count(seen.model, self.parameter_count(*seen.sizes))
        seen.layers = _with_our_weights(seen.model, self.layers(seen))
        choices = self.choices(*seen.sizes)
        runs = seen.model.runs([(seen.x, choice) for choice in choices])
        seen.outputs = {choice: _value(seen.model, (seen.x, choice), run) for choice, run in zip(choices, runs)}
        with torch.no_grad():
            seen.wanted = {choice: self.expected(seen.layers, seen.x, choice) for choice in choices}
            for choice in choices:
                seen.choice, seen.got = choice, seen.outputs[choice]
                first_fitting(self.wrong_shape, seen, prefix="")
                checks.expect_shape(seen.got, tuple(seen.expected.shape), self.output_named.format(choice=choice))
            for choice in choices:
                seen.choice, seen.got = choice, seen.outputs[choice]
                if not checks.close(seen.got, seen.expected):
                    first_fitting(self.mistakes, seen, prefix="")
                    raise Incorrect(seen.say(self.otherwise))


def _copies(sizes) -> tuple:
    """The sizes the answer is built with: containers copied, so an answer that changes them changes no case."""
    return tuple(dict(s) if isinstance(s, dict) else list(s) if isinstance(s, list) else s for s in sizes)


def _positional(signature) -> int | None:
    """How many positional arguments a signature such as ``(x, use_extra=False)`` takes (None when the
    text cannot be read: the call then decides)."""
    try:
        definition = ast.parse(f"def _f{signature}: pass").body[0]
    except (SyntaxError, TypeError, ValueError):
        return None
    arguments = definition.args
    return len(arguments.posonlyargs) + len(arguments.args) + (arguments.vararg is not None)


def _with_our_weights(model: Answer, wanted: dict[str, LinearLayer]) -> dict[str, nn.Linear]:
    """For each wanted layer, the answer's registered ``nn.Linear`` of that shape (inside ``under``), and a
    local layer with the check's own weights, which are assigned into the answer's: one round trip reads
    the tree, one assigns every layer's weights."""
    entries = [e for e in checks.unique(model.tree()) if e.is_a("Linear")]
    local, values = {}, {}
    for name, layer in wanted.items():
        entry = next((e for e in entries if (not layer.under or e.name == layer.under
                                             or e.name.startswith(layer.under + "."))
                      and checks.weight_shape(e) == (layer.out_features, layer.in_features)), None)
        if entry is None:
            shapes = ", ".join(f"Linear({e.settings.get('in_features')}, {e.settings.get('out_features')})"
                               for e in entries) or "none"
            raise Incorrect(f"No registered `nn.Linear({layer.in_features}, {layer.out_features})` for {layer.role}; "
                            f"your registered Linear layers: {shapes}.")
        has_bias = any(parameter == "bias" for parameter, _, _ in entry.parameters)
        local[name] = nn.Linear(layer.in_features, layer.out_features, bias=has_bias)
        prefix = f"{entry.name}." if entry.name else ""
        values.update({prefix + parameter: value for parameter, value in local[name].named_parameters()})
    model.assign(values)
    return local


def _value(model: Answer, case: tuple, run):
    """One call's value, or what it raised in the course's words (a signature that cannot take the case:
    ``checks.call_model`` says why)."""
    if isinstance(run, BindError):
        return checks.call_model(model, *case)
    if isinstance(run, Exception):
        with checks.worded(model, "your model", dims=checks.dims_of(case)):
            raise run
    return run.value
