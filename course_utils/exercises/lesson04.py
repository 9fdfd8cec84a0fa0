"""Exercises of lesson 04 (naming layers): rename a Sequential, remap saved keys, freeze by name,
and debug a named model whose saved weights never arrive.

Names are part of these exercises (the student is given them), so the checks do compare names,
always with names of their own, other than the lesson's and different in each case, so code that ignores the names it is
given cannot pass; they compare weights by value and behaviour by running the models on hidden
inputs, exactly where the statement says "exactly".

Every exercise is probed: the check holds an ``Answer`` handle, never the student's function.
The models and saved dictionaries the function receives are built on the answer's side
(``session.twin``, ``session.build``) from the check's own weights and tensors; expected values
come from the check's local copies; what the function made or changed (a model, a dictionary,
``requires_grad`` flags, weights after an optimizer step) is read back through the handle.

All four are ``FunctionOnCases`` (``kinds``), their mistakes and messages data, in the order the student's
answer is judged: the model handed in is a ``Twin`` and the returned one is run on hidden inputs with its
tree read (q1); the saved dict handed in is ``Built`` and read back after the call (q2); q3 reads back the
``requires_grad`` flags of the model it was given, then one optimizer step on the answer's side must leave
the frozen weights; q4 runs the returned model and reads its state_dict, and when the saved weights did
not arrive, the loads the function made (``RecordingLoads``) say why.
"""

import ast
import inspect
import re
import weakref
from collections import OrderedDict

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect, probe_seed
from course_utils.exercises.kinds import Built, Case, FunctionOnCases, Mistake, Raised, Twin
from course_utils.probes.client import Answer, AnswerRaised, ProbeFault


def describe(layer: nn.Module) -> str:
    """'Linear(6→5)' or 'ReLU()' for one of the check's own layers."""
    if isinstance(layer, nn.Linear):
        return f"Linear({layer.in_features}→{layer.out_features})"
    return f"{type(layer).__name__}()"


def describe_entry(entry) -> str:
    """The same words for a layer of the answer's model (a ``ModuleEntry`` of its tree)."""
    settings = entry.settings
    if "in_features" in settings and "out_features" in settings:
        return f"Linear({settings['in_features']}→{settings['out_features']})"
    return f"{entry.type}()"


class DictReader:
    """Built on the answer's side: reads a dictionary there (one the answer returned, or the one
    it was given) as plain ``[key, value]`` pairs, or None for anything that is not a dict."""

    def __call__(self, value):
        if not isinstance(value, dict):
            return None
        return [[key, item] for key, item in dict.items(value)]


def read_dict(reader: Answer, value):
    """A dictionary of the answer's side as a plain dict of the check's side, or None when the
    value is not a dict. A plain dict arrives as it is; any other dict (an ``OrderedDict``) as a
    handle, read through ``reader``."""
    if type(value) is dict:
        return value
    if not isinstance(value, Answer):
        return None
    pairs = reader(value)
    if pairs is None:
        return None
    if type(pairs) is not list or not all(type(pair) in (list, tuple) and len(pair) == 2 for pair in pairs):
        raise ProbeFault("malformed reply when reading a dictionary")
    found = {}
    for key, item in pairs:
        try:
            found[key] = item
        except TypeError:
            raise ProbeFault("malformed reply when reading a dictionary") from None
    return found


_READERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _reader(session) -> Answer:
    """One ``DictReader`` per check, built on the answer's side when first needed."""
    if session not in _READERS:
        _READERS[session] = session.build(DictReader)
    return _READERS[session]


def numbered_mlp(widths) -> nn.Sequential:
    """Linear, ReLU, Linear, ReLU, ..., Linear: the unnamed model the exercises start from."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


def mlp_names(model: nn.Sequential) -> list:
    """fc1, relu1, fc2, relu2, ... for the layers of ``numbered_mlp`` (the names the lesson uses)."""
    names, counts = [], {"fc": 0, "relu": 0}
    for layer in model:
        kind = "fc" if isinstance(layer, nn.Linear) else "relu"
        counts[kind] += 1
        names.append(f"{kind}{counts[kind]}")
    return names


def freeze_model(kind: str) -> nn.Sequential:
    """The models the freezing exercise hands to ``freeze`` (built on both sides of the probe)."""
    if kind == "twelve":
        return nn.Sequential(OrderedDict((f"layer{i}", nn.Linear(3, 3)) for i in range(1, 13)))
    # other names, a prefix trap ('encoder' / 'encoder_head') and a nested layer whose
    # parameters are 'block.0.weight', 'block.2.weight', ...
    return nn.Sequential(OrderedDict([
        ("encoder", nn.Linear(3, 3)), ("block", nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3))),
        ("encoder_head", nn.Linear(3, 3)), ("decoder", nn.Linear(3, 3))]))


def sgd_for(model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer of the freezing exercise's step, made on the answer's side for its model."""
    return torch.optim.SGD(model.parameters(), lr=0.1)


def missing_key(error: KeyError):
    """The key a ``KeyError`` of the answer's side names. It arrives as its message, which is the
    key's repr (``"'4'"``): read back as a literal, or None when it is not one."""
    if not isinstance(error, AnswerRaised):
        return error.args[0] if error.args else None
    text = error.args[0] if error.args else ""
    try:
        return ast.literal_eval(text) if type(text) is str and len(text) < 1000 else None
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _sequential_refused(error: BaseException) -> str | None:
    """What ``nn.Sequential(dict)`` or ``nn.Sequential([pairs])`` raising means here, else None."""
    text = str(error)
    if isinstance(error, TypeError) and "is not a Module subclass" in text:
        given = "a plain `dict`" if text.startswith("dict ") else \
            "a list of pairs" if text.startswith("list ") else "that container"
        return (f"`nn.Sequential` takes names only from an `OrderedDict`: it treats {given} as one "
                "layer and refuses it. Write `nn.Sequential(OrderedDict(...))`.")
    return None


class NamingExercise(Exercise):
    """Lesson 04's solutions use ``OrderedDict``, as the notebook does: run them with it at hand."""

    def reference_answer(self):
        namespace = {"torch": torch, "nn": nn, "OrderedDict": OrderedDict}
        exec(compile(self.solution_code, f"<solution of {self.id}>", "exec"), namespace)
        last = [node.name for node in ast.parse(self.solution_code).body if isinstance(node, ast.FunctionDef)][-1]
        return namespace[last]


def own_stream(seed: int) -> None:
    """Draw the check's own models from a stream of their own. Why: the answer's side starts its
    random stream from the check's seed, so a layer the student builds afresh there would get
    exactly the weights of the check's same-shaped model made from that seed, and "the saved
    weights arrived" or "new weights" could not be told apart. (The engine restores the global
    random state after the check.)"""
    torch.manual_seed(probe_seed(seed))


def saved_on_answer_side(answer: Answer, state_dict) -> Answer:
    """The check's saved tensors as an ``OrderedDict`` on the answer's side (what ``state_dict()``
    gives), so what the student's function does to it can be read back."""
    return answer.session.build(OrderedDict, {key: value.detach().clone() for key, value in state_dict.items()})


# --- q1 ---------------------------------------------------------------------------------

class NameTheLayers(NamingExercise, FunctionOnCases):
    id = "lesson04.q1"
    points = 2
    title = "Give an unnamed nn.Sequential names, keeping its weights"
    why = ("Names change how you reach layers and how the state_dict is keyed — never what the "
           "network computes: same layers, same outputs.")
    hints = [
        "Pair each name with the layer at the same position: `zip(names, model)` gives "
        "`('fc1', Linear(...))`, `('relu1', ReLU())`, ...",
        "Build the new model from those pairs: `nn.Sequential(OrderedDict(zip(names, model)))`. "
        "Reusing the layer objects keeps their weights.",
    ]
    function = "name_layers"
    raised = [Raised(lambda s: _sequential_refused(s.error), (TypeError,),
                     when=lambda error, s: _sequential_refused(error) is not None)]
    refuse = [
        Mistake("`name_layers` returned None: end it with `return nn.Sequential(...)`.", when=lambda s: s.got is None),
        Mistake(lambda s: f"`name_layers` returned a {checks.type_name(s.got)}; wrap it in a model: "
                          "`nn.Sequential(OrderedDict(...))`.", when=lambda s: _a_dict(s.got)),
        Mistake(lambda s: f"`name_layers` returned a {checks.type_name(s.got)}; return an `nn.Sequential`.",
                when=lambda s: s.tree is None or not s.tree[0].is_a("Sequential")),
        Mistake(lambda s: f"Your layers are still numbered {_names(s)}: pass the names in, as the keys of an "
                          "`OrderedDict`.",
                when=lambda s: _names(s) != s.args[1] and _names(s) == [str(i) for i in range(len(_names(s)))]),
        Mistake(lambda s: f"Your model's layers are named {_names(s)}, but `name_layers` was given {s.args[1]}: use "
                          "the names it receives, not names of your own.",
                when=lambda s: set(_names(s)) != set(s.args[1]) and len(_names(s)) == len(s.args[1])),
        Mistake(lambda s: f"Your model's layers are named {_names(s)}; expected {s.args[1]}, in that order.",
                when=lambda s: _names(s) != s.args[1]),
    ]
    mistakes = [
        Mistake(lambda s: "'{}' holds {}, but the original layer at that position is {}: keep each layer at its "
                          "position.".format(*_moved(s)), when=lambda s: _moved(s) is not None),
        Mistake(lambda s: str(_explained(s)), when=lambda s: _explained(s) is not None),
    ]
    otherwise = ("Your renamed model computes different outputs: its layers have new weights. Put the original layer "
                 "objects in (or copy their weights).")

    def make_cases(self):
        # names of the check's own, not the lesson's and different in each case: code that ignores `names` cannot
        # pass; the numbered model on both sides, the check's copy for the expected outputs
        own_stream(4041)
        return [Case((Twin(numbered_mlp, (6, 5, 4, 3)), ["stem", "squash1", "body", "squash2", "readout"])),
                Case((Twin(numbered_mlp, (4, 8, 2)), ["encoder", "nonlinearity", "decoder"]))]

    def inputs(self, model, names):
        return (checks.hidden_input(5, model[0].in_features),)

    def expected(self, model, names):
        return model

    def same(self, got, expected):
        return checks.exactly_equal(got, expected)


def _a_dict(value) -> bool:
    """A dict returned (a plain one arrives as it is; an ``OrderedDict`` is read on the answer's side)."""
    return type(value) is dict or (isinstance(value, Answer) and value.kind == "other"
                                   and read_dict(_reader(value.session), value) is not None)


def _names(seen) -> list:
    """``[name for name, _ in model.named_children()]`` of the model the answer returned."""
    return [entry.name for entry in checks.unique(seen.children)]


def _moved(seen):
    """(name, what it holds, what the original holds there) for the first layer out of place, or None."""
    got_kinds, kinds = [describe_entry(layer) for layer in seen.children], [describe(layer) for layer in seen.args[0]]
    names = seen.args[1]
    wrong = next((n for n, a, b in zip(names, got_kinds, kinds) if a != b), None) if got_kinds != kinds else None
    return None if wrong is None else (wrong, got_kinds[names.index(wrong)], kinds[names.index(wrong)])


def _explained(seen):
    """PyTorch's error of the renamed model's run, in the course's words (None: not an error it knows)."""
    if not isinstance(seen.output, Exception):
        return None
    return checks.explain(seen.output, seen.got, f"your renamed model, run on an input of shape "
                                                 f"{tuple(seen.inputs[0].shape)},",
                          "Keep every layer as it was, at its position.", dims=checks.dims_of(seen.inputs))


# --- q2 ---------------------------------------------------------------------------------

class RemapKeys(NamingExercise, FunctionOnCases):
    id = "lesson04.q2"
    points = 2
    title = "Rename modules, at any depth, in the keys of a saved state_dict"
    why = ("A state_dict is a plain dictionary from module paths to tensors: renaming paths, at any depth, is "
           "all it takes to move weights between two spellings of one network, nested or not.")
    hints = [
        "A key is a module's path, a dot, then the tensor's name: `'0.2.weight'` is the weight of module `'0.2'` "
        "(layer 2 inside layer 0), and `'11.0.bias'` lies inside module `'11'`. The lesson's `rename_keys` "
        "looks only at the part before the first dot: which keys does that miss?",
        "A key lies inside the module `old` exactly when it starts with `old + '.'` (the dot matters: "
        "`'10.weight'` starts with `'1'` but is not inside module `'1'`). Then the new key is "
        "`mapping[old] + key[len(old):]`; a key inside no module of `mapping` stays as it is.",
    ]
    function = "remap_keys"
    raised = [
        Raised(lambda s: "`key.split('.')` splits at EVERY dot, so a key with more dots, such as "
                         f"'{next(k for k in s.args[0] if k.count('.') > 1)}', gives more than two parts. And a "
                         "module's path may hold dots of its own: compare the beginning of the key with each path "
                         "of `mapping`, followed by a dot.", (ValueError,),
               when=lambda error, s: "values to unpack" in str(error)),
        Raised(lambda s: f"KeyError {missing_key(s.error)!r}: `mapping` does not mention every module, and keys "
                         "outside the modules it renames keep their names. Look the path up only when `mapping` has "
                         "it (`in`, or `mapping.get`).", (KeyError,),
               when=lambda error, s: _a_path_not_mapped(missing_key(error), s)),
    ]
    refuse = [
        Mistake("`remap_keys` returned None: return the new dictionary.", when=lambda s: s.got is None),
        Mistake(lambda s: f"`remap_keys` returned a {checks.type_name(s.got)}; return a dictionary of tensors.",
                when=lambda s: _read(s, "got") is None),
        Mistake("`remap_keys` changed the dictionary it was given: build and return a new dictionary, and leave "
                "the saved one as it is.", when=lambda s: _read(s, "given") is None
                or list(_read(s, "given")) != list(s.args[0])),
        # said only where the result is right, as before: a wrong key or tensor is named first
        Mistake("`remap_keys` changed the saved tensors; rename the keys, keep the values.",
                when=lambda s: any(not checks.exactly_equal(_read(s, "given")[key], value)
                                   for key, value in s.args[0].items()) and s.exercise.same(_read(s, "got"), s.expected)),
    ]
    mistakes = [
        Mistake(lambda s: RemapKeys._explain_keys(*_keys_apart(s), s.args[1], list(s.args[0])),
                when=lambda s: any(_keys_apart(s))),
        Mistake(lambda s: f"The tensor under '{_first_changed(s)}' is not the saved one: rename the keys, keep the "
                          "values.", when=lambda s: _first_changed(s) is not None),
    ]

    def make_cases(self):
        own_stream(4042)
        # 11 layers, so the keys '0.weight' and '10.weight' both occur
        numbered = numbered_mlp((5, 6, 7, 6, 5, 4, 3))
        mapping = {str(i): name for i, name in enumerate(mlp_names(numbered)) if name.startswith("fc")}
        del mapping["4"]  # one layer the mapping leaves alone: its keys must stay as they are
        # paths with dots ('0.2' is layer 2 inside layer 0), a renamed container ('11' holds '11.0' and the
        # buffers of '11.1'), and '1' a prefix of '10'; both mapping orders, so that neither "first prefix
        # wins" nor "last prefix wins" passes by luck
        # the saved dict on both sides, as state_dict() gives it: the answer's copy is read back after the call
        nested = dict(nested_model().state_dict())
        return [Case((Built(OrderedDict, dict(numbered.state_dict())), mapping)),
                Case((Built(OrderedDict, nested), {"0.2": "encoder.out", "1": "first", "11": "head"})),
                Case((Built(OrderedDict, nested), {"11": "head", "10": "last", "1": "first", "0.0": "encoder.inp"}))]

    def expected(self, saved, mapping):
        return OrderedDict((renamed_key(key, mapping), value) for key, value in saved.items())

    def returns(self, got, seen):
        return _read(seen, "got")

    def same(self, got, expected):
        return set(got) == set(expected) and all(checks.exactly_equal(got[key], value)
                                                 for key, value in expected.items())

    @staticmethod
    def _explain_keys(missing, unexpected, mapping, saved_keys):
        for key in unexpected:
            for original in saved_keys:
                for path, name in mapping.items():
                    if original.startswith(path) and not original.startswith(path + ".") \
                            and key == name + original[len(path):]:
                        other = original.split(".", 1)[0]
                        return (f"Your dictionary has '{key}' for the saved '{original}': '{other}' starts with "
                                f"'{path}', but it is another layer. A key lies inside the module '{path}' only "
                                f"when it starts with '{path}.', the path followed by a dot.")
        for key in unexpected:
            inside = [path for path in mapping if key.startswith(path + ".")]
            if key in saved_keys and inside:
                path = inside[0]
                new = mapping[path] + key[len(path):]
                if "." in path and key.split(".", 1)[0] != path:
                    return (f"Your dictionary still has '{key}', although it lies inside the module '{path}', which "
                            f"`mapping` renames: a module's path can hold dots of its own ('{path}' is a layer inside "
                            f"layer '{path.split('.', 1)[0]}'), so it is not the part before the first dot. "
                            f"'{key}' → '{new}'.")
                if key.rsplit(".", 1)[0] == path:
                    return (f"Your dictionary still has '{key}', although its module '{path}' is renamed to "
                            f"'{mapping[path]}': every key of a renamed module moves with it, weights, biases and "
                            f"buffers alike ('{key}' → '{new}').")
                return (f"Your dictionary still has '{key}', although it lies inside the module '{path}', which "
                        f"`mapping` renames to '{mapping[path]}': every key inside a renamed module moves with it, "
                        f"at any depth ('{key}' → '{new}').")
        for key in unexpected:
            if key not in saved_keys and any(name in key for name in mapping.values()) \
                    and not any(key.startswith(name + ".") for name in mapping.values()):
                return (f"Your dictionary has the key '{key}': a text replacement also changed digits "
                        "inside other names (e.g. the '0' in '10.weight'). Replace only a whole module path at "
                        "the start of the key.")
        dropped = [key for key in missing if key in saved_keys]
        if dropped:
            return (f"The key '{dropped[0]}' is gone: keys outside every module of `mapping` keep their names "
                    "(and their tensors).")
        if missing and unexpected:
            return (f"The renamed model expects '{missing[0]}', but your dictionary has '{unexpected[0]}' "
                    "instead: rename every key inside a module of `mapping`, weights, biases and buffers alike.")
        if missing:
            return f"Your dictionary lacks '{missing[0]}': keep one entry for every saved tensor."
        return f"Your dictionary has a key the renamed model does not know: '{unexpected[0]}'."


def _read(seen, which: str):
    """The dict the answer returned (``got``), or the one it was given as it is after the call (``given``),
    read once per case: a plain dict, or None for anything that is not a dict."""
    found = vars(seen).setdefault("read", {})
    if which not in found:
        found[which] = read_dict(_reader(seen.answer.session), seen.run.value if which == "got" else seen.given[0])
    return found[which]


def _keys_apart(seen) -> tuple[list, list]:
    """(the renamed model's keys the result lacks, the result's keys it does not know)."""
    got, expected = _read(seen, "got"), seen.expected
    return [key for key in expected if key not in got], [key for key in got if key not in expected]


def _first_changed(seen):
    got = _read(seen, "got")
    return next((key for key, value in seen.expected.items() if not checks.exactly_equal(got[key], value)), None)


def _a_path_not_mapped(missing, seen) -> bool:
    """A ``KeyError`` for a module path of the saved keys that ``mapping`` leaves alone."""
    saved_keys = list(seen.args[0])
    paths = {key.rsplit(".", 1)[0] for key in saved_keys} | {key.split(".", 1)[0] for key in saved_keys}
    return isinstance(missing, str) and missing not in seen.args[1] and missing in paths


def nested_model() -> nn.Sequential:
    """A saved model whose keys have dots inside their module paths: '0.2.weight', '11.1.running_mean'."""
    return nn.Sequential(nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3)),
                         *(nn.Linear(3, 3) for _ in range(10)),
                         nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)))


def renamed_key(key: str, mapping: dict) -> str:
    """``key`` with the path of the module of ``mapping`` it lies in replaced (no path lies in another)."""
    for path, name in mapping.items():
        if key.startswith(path + "."):
            return name + key[len(path):]
    return key


# --- q3 ---------------------------------------------------------------------------------

def _flags(seen) -> dict:
    """``{name: requires_grad}`` of the model `freeze` was given, read after the call on the answer's side,
    as ``named_parameters()`` lists them (a shared parameter once)."""
    flags, known = {}, set()
    for param in seen.given[0].parameters():
        if param.identity not in known:
            known.add(param.identity)
            flags[param.name] = param.requires_grad
    return flags


def _wrong_flag(flags: dict, frozen: list):
    """(parameter, its module, the name it starts with or None) for the first parameter frozen or left
    trainable against the names given, or None."""
    for name, trainable in flags.items():
        module = name.split(".")[0]
        if (module in frozen) == trainable:
            return name, module, next((f for f in frozen if module.startswith(f)), None)
    return None


class FreezeByName(NamingExercise, FunctionOnCases):
    id = "lesson04.q3"
    points = 2
    title = "Freeze the layers whose names you are given"
    why = ("A frozen parameter gets no gradient, so the optimizer step leaves it exactly as it was: "
           "that is how you fine-tune only part of a network.")
    hints = [
        "`model.named_parameters()` yields `('layer1.weight', tensor)`: the module name is the part "
        "before the first dot. Beware `'layer10.weight'.startswith('layer1')`: it is True.",
        "For each `name, param`: `if name.split('.')[0] in names: param.requires_grad_(False)`. "
        "(Or `getattr(model, name).requires_grad_(False)` for each name.)",
    ]
    function = "freeze"
    raised = [Raised(lambda s: f"`freeze` fails ({s.error}): square brackets on an `nn.Sequential` mean a position, an "
                               "int or a slice, never a name. Reach a layer by its name with `getattr(model, name)` or "
                               "`model.get_submodule(name)`, or read the names from `named_parameters()`.",
                     (TypeError,), when=lambda error, s: "cannot be interpreted as an integer" in str(error))]
    refuse = [Mistake("Your function switched (part of) the model to eval mode: `eval()` changes how dropout and batch "
                      "norm behave, it does not stop gradients. Set `requires_grad` to False instead.",
                      when=lambda s: any(e.settings.get("training") is not True for e in s.given[0].tree()))]
    mistakes = [   # got: the flags after the call, {name: requires_grad}; wrong: what _wrong_flag found
        Mistake("No parameter has `requires_grad == False` after `freeze(model, {args[1]})` ran: call "
                "`param.requires_grad_(False)` on the model's own parameters (not on a copy, `.data` or `.detach()`) "
                "of the layers named in `names`.", when=lambda s: all(s.got.values())),
        Mistake("'{wrong[0]}' is still trainable: freeze every parameter of '{wrong[1]}', weight and bias, at any "
                "depth inside it.", when=lambda s: s.wrong and s.got[s.wrong[0]]),
        Mistake("You also froze '{wrong[0]}': '{wrong[1]}' starts with '{wrong[2]}'. Compare the whole module name "
                "(the part before the first dot).", when=lambda s: s.wrong and s.wrong[2]),
        Mistake("You froze '{wrong[0]}', but '{wrong[1]}' is not in the names you were given ({args[1]}).",
                when=lambda s: s.wrong),
    ]
    otherwise = ("After `freeze(model, {args[1]})` the model has other parameters than it was given: `freeze` changes "
                 "`requires_grad`, it neither adds nor removes parameters.")

    def make_cases(self):
        # other names, a prefix trap ('encoder' / 'encoder_head') and a nested layer (freeze_model); the model
        # on both sides with the check's weights, read back after the call
        own_stream(4043)
        return [Case((Twin(freeze_model, "twelve"), ["layer1", "layer2"])),
                Case((Twin(freeze_model, "nested"), ["block", "encoder"]))]

    def expected(self, model, names):
        return {name: name.split(".")[0] not in names for name, _ in model.named_parameters()}

    def returns(self, got, seen):
        """The flags, compared; the first wrong one kept for the messages (``{wrong[0]}``)."""
        flags = _flags(seen)
        seen.wrong = _wrong_flag(flags, seen.args[1])
        return flags

    def check_case(self, seen, run):
        """The flags are right: one optimizer step must then leave the frozen weights as they were."""
        super().check_case(seen, run)
        moved = _moved_in_a_step(seen)
        if moved:
            raise Incorrect(f"'{moved[0]}' changed in an optimizer step although it should be frozen.")


def _moved_in_a_step(seen) -> list:
    """The frozen parameters one optimizer step (on the answer's side) moves away from the check's copy;
    the loss is output.pow(2).sum(), whose gradient is 2 * output."""
    model, frozen = seen.given[0], seen.args[1]
    before = dict(seen.args[0].named_parameters())   # the check's copy: the weights before the call
    optimizer = seen.answer.session.build(sgd_for, model)
    x = checks.hidden_input(4, 3)
    output = checks.expect_tensor(model(x), "the model's output")
    model.run(x, backward=2 * output)
    optimizer.method("step")
    return [p.name for p in model.parameters() if p.name in before and p.name.split(".")[0] in frozen
            and not checks.exactly_equal(p.value, before[p.name].detach())]


# --- q4 (debugging) ------------------------------------------------------------------------

NAMED_LAYERS = ("fc1", "relu1", "fc2", "relu2", "head")
SAVED_MODULE_OF = {"fc1": "0", "fc2": "2", "head": "4"}  # named layer -> module number in the saved keys
_SIZE_MISMATCH = re.compile(r"size mismatch for ([\w.]+): copying a param with shape torch\.Size\(\[([\d, ]*)\]\) "
                            r"from checkpoint, the shape in current model is torch\.Size\(\[([\d, ]*)\]\)")
_KEYS = re.compile(r"(Missing|Unexpected) key\(s\) in state_dict: ((?:\"[^\"]*\"(?:, )?)+)")


def saved_numbered_model() -> nn.Sequential:
    """The colleague's numbered model whose ``state_dict`` the debugging exercise loads."""
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))


class RecordingLoads:
    """Built on the answer's side: calls a function and records every ``load_state_dict`` it makes
    (``strict``, the keys reported missing and unexpected, or what it raised), as plain data in
    ``loads``.

    Why: "none of the saved weights arrived" has several causes that look the same from outside
    (`strict=False` skipping every key, a refused load whose error was caught, no load at all);
    the record tells the student which one is theirs. The method is put back when the call ends."""

    def __init__(self, function):
        self.function, self.loads = function, []

    def __call__(self, *args):
        original, loads = nn.Module.load_state_dict, self.loads
        signature = inspect.signature(original)

        def load_state_dict(module, *given, **options):
            try:
                strict = bool(signature.bind(module, *given, **options).arguments.get("strict", True))
            except TypeError:
                strict = True
            entry = {"strict": strict, "raised": "", "missing": [], "unexpected": []}
            loads.append(entry)
            try:
                result = original(module, *given, **options)
            except Exception as error:
                entry["raised"] = str(error)[:2000]
                raise
            entry["missing"], entry["unexpected"] = list(result.missing_keys), list(result.unexpected_keys)
            return result

        nn.Module.load_state_dict = load_state_dict
        try:
            return self.function(*args)
        finally:
            nn.Module.load_state_dict = original


def recorded_loads(load_named: Answer, saved) -> list:
    """What ``load_named(saved)`` does with ``load_state_dict``, run again on the answer's side."""
    recorder = load_named.session.build(RecordingLoads, load_named)
    try:
        recorder(saved_on_answer_side(load_named, saved))
    except Exception:  # noqa: BLE001 - the first call did not raise; a second one is only read for its record
        pass
    loads = recorder.attribute("loads")
    if type(loads) is not list or not all(type(entry) is dict for entry in loads):
        raise ProbeFault("malformed record of the loads")
    return loads


def _quoted(keys, limit=4) -> str:
    shown = ", ".join(f"'{key}'" for key in keys[:limit])
    return shown + (", ..." if len(keys) > limit else "")


def _repeated(seen) -> list:
    """The kinds of layer ('fc', 'relu') whose names the returned model has (one may be left of a repeated name)."""
    return sorted({n for n in ("relu", "fc") if n in _names(seen)})


def _arrived(seen) -> list:
    """The named layers whose weight and bias are the saved ones in the returned model's state_dict (read once)."""
    found = vars(seen)
    if "arrived" not in found:
        state, saved = seen.run.value.state_dict(), seen.args[0]
        found["arrived"] = [name for name, number in SAVED_MODULE_OF.items() if all(
            checks.exactly_equal(state.get(f"{name}.{kind}"), saved[f"{number}.{kind}"]) for kind in ("weight", "bias"))]
    return found["arrived"]


def _loads(seen) -> list:
    """What ``load_named`` does with ``load_state_dict`` (``recorded_loads``: called once more), once per case."""
    found = vars(seen)
    if "loads" not in found:
        found["loads"] = recorded_loads(seen.answer, seen.args[0])
    return found["loads"]


def _caught(seen) -> str | None:
    """Why PyTorch refused a load the answer then caught (the line of its report that says it), or None."""
    said = next((entry["raised"].strip().splitlines() for entry in _loads(seen) if entry["raised"]), None)
    return None if said is None else said[1].strip() if len(said) > 1 else said[0]


def _skipped(seen) -> tuple | None:
    """(how many, which) saved keys a load with ``strict=False`` skipped as unexpected and (how many, which) of
    the model's keys it reported missing, for the first such load, or None."""
    entry = next((e for e in _loads(seen) if not e["strict"] and (e["unexpected"] or e["missing"])), None)
    return None if entry is None else (len(entry["unexpected"]), _quoted(entry["unexpected"]),
                                       len(entry["missing"]), _quoted(entry["missing"]))


def _not_arrived(seen) -> str:
    """What to say of the first named layer without its saved weights (what the load skipped of them)."""
    name, number = next((name, number) for name, number in SAVED_MODULE_OF.items() if name not in _arrived(seen))
    skipped = [key for entry in _loads(seen) for key in entry["unexpected"] if key.split(".", 1)[0] == number]
    said = f": the load skipped {_quoted(skipped)} as unexpected keys" if skipped else ""
    return (f"'{name}' does not hold the saved weights of layer '{number}' ('{number}.weight', '{number}.bias'){said}. "
            f"Its keys in your model are '{name}.weight' and '{name}.bias'.")


NOTHING_ARRIVED = ("None of the saved weights reached your model: its layers keep the random weights they were built "
                   "with, so it predicts something else than the saved model. ")


def _refused(text: str) -> str:
    """What a refused load means here, read from PyTorch's report of it."""
    said = "`load_state_dict` refused the saved weights"
    mismatch = _SIZE_MISMATCH.search(text)
    if mismatch is not None:
        key, given, own = mismatch.groups()
        return (f"{said}: the saved tensor you put under '{key}' has shape ({given}), but your '{key}' has shape "
                f"({own}), so it belongs to another layer. Your renaming sends a saved layer to the wrong "
                "name: which saved number is which named layer?")
    keys = {kind: re.findall(r"\"([^\"]*)\"", found) for kind, found in _KEYS.findall(text)}
    unexpected, missing = keys.get("Unexpected", []), keys.get("Missing", [])
    if unexpected and all(key.split(".", 1)[0].isdigit() for key in unexpected):
        return (f"{said}: the keys it received are numbered ({_quoted(unexpected)}) and your model expects its "
                f"layer names ({_quoted(missing)}).")
    if unexpected:
        return (f"{said}: your dictionary has keys your model does not know ({_quoted(unexpected)}) and lacks "
                f"keys it needs ({_quoted(missing)}).")
    if missing:
        return f"{said}: your dictionary lacks keys your model needs ({_quoted(missing)})."
    return f"{said} ({text.strip().splitlines()[-1].strip()})."


class DebugLoadNamed(NamingExercise, FunctionOnCases):
    id = "lesson04.q4"
    points = 2
    title = "Debug: a named model that never receives its saved weights"
    why = ("A repeated name silently drops a layer, and `strict=False` silently loads nothing: "
           "both errors stay quiet, so compare layer names and outputs after every load.")
    hints = [
        "Look at what you get: print the model `broken_load_named(saved)` returns, and print what "
        "`load_state_dict` returns (its report of missing and unexpected keys). How many layers are there, and "
        "which keys did the load use?",
        "Two things fail without a word. An `OrderedDict` keeps one entry per name, so a name given twice keeps "
        "one layer. And `strict=False` skips every key it does not know: the saved keys are numbered "
        "('0.weight'), the model's keys named ('fc1.weight').",
        "Give each ReLU its own name (`relu1`, `relu2`), rename the saved keys before loading — "
        "`{'0': 'fc1', '2': 'fc2', '4': 'head'}` maps the module numbers to names (split each key once at the "
        "first dot) — and load with the default `strict=True`, which says when keys do not match.",
    ]
    function = "load_named"
    raised = [Raised(lambda s: _sequential_refused(s.error), (TypeError,),
                     when=lambda error, s: _sequential_refused(error) is not None),
              Raised(lambda s: _refused(str(s.error)), (RuntimeError,),
                     when=lambda error, s: "Error(s) in loading state_dict" in str(error))]
    refuse = [   # the returned model: its layers' names, then whether the saved weights arrived
        Mistake("`load_named` returned None: end it with `return model`.", when=lambda s: s.got is None),
        Mistake(lambda s: f"`load_named` returned a {checks.type_name(s.got)}; return the named `nn.Sequential`.",
                when=lambda s: s.tree is None or not s.tree[0].is_a("Sequential")),
        Mistake(lambda s: f"Your model has {len(_names(s))} layers, {_names(s)}, where the saved model has 5 (Linear, "
                          f"ReLU, Linear, ReLU, Linear): a layer you listed is missing, and only one "
                          f"'{_repeated(s)[0]}' is left. Compare the names you gave with the layers you got.",
                when=lambda s: _names(s) != list(NAMED_LAYERS) and len(_names(s)) < len(NAMED_LAYERS) and _repeated(s)),
        Mistake(lambda s: f"Your model's layers are named {_names(s)}; expected {list(NAMED_LAYERS)}, in that order.",
                when=lambda s: _names(s) != list(NAMED_LAYERS)),
        Mistake(NOTHING_ARRIVED + "Your function never calls `load_state_dict`.",
                when=lambda s: not _arrived(s) and not _loads(s)),
        Mistake(lambda s: NOTHING_ARRIVED + f"`load_state_dict` refused them ({_caught(s)}) and your function went on as "
                          "if nothing had happened: the error was caught and dropped (a `try`/`except` around the "
                          "load?). Read what it says instead of silencing it.",
                when=lambda s: not _arrived(s) and _caught(s) is not None),
        Mistake(lambda s: NOTHING_ARRIVED + "`load_state_dict(..., strict=False)` loaded nothing and said so only in "
                          "what it returns: {} saved keys were unexpected ({}) and {} keys of your model missing ({}). "
                          "Compare the two lists.".format(*_skipped(s)), when=lambda s: not _arrived(s) and _skipped(s)),
        Mistake(NOTHING_ARRIVED + "A load ran without complaint, but into another model than the one `load_named` "
                "returns.", when=lambda s: not _arrived(s)),
        Mistake(_not_arrived, when=lambda s: len(_arrived(s)) < len(SAVED_MODULE_OF)),
    ]
    otherwise = ("Your model holds the saved weights but computes something else than the saved model: keep the "
                 "layers in the order Linear, ReLU, Linear, ReLU, Linear.")

    def make_cases(self):
        # the colleague's saved weights, on both sides as state_dict() gives them (an OrderedDict)
        own_stream(4044)
        return [Case((Built(OrderedDict, dict(saved_numbered_model().state_dict())),))]

    def inputs(self, saved):
        return (checks.hidden_input(4, 6),)

    def expected(self, saved):
        """The saved model itself, rebuilt from its weights: the outputs the named model must give."""
        numbered = saved_numbered_model()
        numbered.load_state_dict(saved)
        return numbered

    def same(self, got, expected):
        return checks.exactly_equal(got, expected)


q1 = NameTheLayers()
q2 = RemapKeys()
q3 = FreezeByName()
q4 = DebugLoadNamed()
