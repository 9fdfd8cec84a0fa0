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
"""

import ast
import copy
from collections import OrderedDict

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect, probe_seed
from course_utils.probes.client import Answer, AnswerRaised, ProbeFault


def expect_function(answer: Answer, what: str) -> None:
    if answer.kind in ("module", "class") or not answer.info.get("callable"):
        raise Incorrect(f"Pass the function `{what}` itself (defined with `def`), not "
                        f"{answer.type_name}.")


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


def children(model: Answer) -> list:
    """The answer's top-level layers in order, as ``ModuleEntry``: all of them, as iterating an
    ``nn.Sequential`` yields them (``named_children`` lists a layer used twice only once)."""
    return [entry for entry in model.tree() if entry.name and "." not in entry.name]


def child_names(model: Answer) -> list:
    """``[name for name, _ in model.named_children()]`` of the answer's model."""
    seen, names = set(), []
    for entry in children(model):
        if entry.identity not in seen:
            seen.add(entry.identity)
            names.append(entry.name)
    return names


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


def sequential_refusal(error: BaseException):
    """The course's message for ``nn.Sequential(dict)`` or ``nn.Sequential([pairs])``, else None."""
    text = str(error)
    if isinstance(error, TypeError) and "is not a Module subclass" in text:
        given = "a plain `dict`" if text.startswith("dict ") else \
            "a list of pairs" if text.startswith("list ") else "that container"
        return checks.mistake_in_your_code(
            error, f"`nn.Sequential` takes names only from an `OrderedDict`: it treats {given} as one "
                   "layer and refuses it. Write `nn.Sequential(OrderedDict(...))`.")
    return None


class NamingExercise(Exercise):
    """Lesson 04's solutions use ``OrderedDict``, as the notebook does: run them with it at hand."""

    def reference_answer(self):
        import ast

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

class NameTheLayers(NamingExercise):
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

    # names of the check's own, not the lesson's and different in each case: code that ignores
    # `names` cannot pass
    cases = [((6, 5, 4, 3), ("stem", "squash1", "body", "squash2", "readout")),
             ((4, 8, 2), ("encoder", "nonlinearity", "decoder"))]

    def check_answer(self, name_layers):
        expect_function(name_layers, "name_layers")
        own_stream(4041)
        for widths, names in self.cases:
            self._check_one(name_layers, widths, list(names))

    @staticmethod
    def _check_one(name_layers, widths, names):
        # the same numbered model on both sides: the check's copy gives the expected outputs
        local, model = name_layers.session.twin(numbered_mlp, tuple(widths))
        x = checks.hidden_input(5, local[0].in_features)
        with torch.no_grad():
            expected = local(x)
        try:
            renamed = checks.call(name_layers, model, list(names), what="`name_layers`")
        except TypeError as error:
            raise sequential_refusal(error) or error
        if renamed is None:
            raise Incorrect("`name_layers` returned None: end it with `return nn.Sequential(...)`.")
        if type(renamed) is dict or (isinstance(renamed, Answer) and renamed.kind == "other" and read_dict(
                name_layers.session.build(DictReader), renamed) is not None):
            raise Incorrect(f"`name_layers` returned a {checks.type_name(renamed)}; wrap it in a model: "
                            "`nn.Sequential(OrderedDict(...))`.")
        if not (isinstance(renamed, Answer) and renamed.is_module("Sequential")):
            raise Incorrect(f"`name_layers` returned a {checks.type_name(renamed)}; return an `nn.Sequential`.")
        got_names = child_names(renamed)
        if got_names != names:
            if got_names == [str(i) for i in range(len(got_names))]:
                raise Incorrect(f"Your layers are still numbered {got_names}: pass the names in, "
                                "as the keys of an `OrderedDict`.")
            if set(got_names) != set(names) and len(got_names) == len(names):
                raise Incorrect(f"Your model's layers are named {got_names}, but `name_layers` was given "
                                f"{names}: use the names it receives, not names of your own.")
            raise Incorrect(f"Your model's layers are named {got_names}; expected {names}, in that order.")
        try:
            got = renamed.run(x, no_grad=True).value
        except Exception as error:  # noqa: BLE001 - a layer out of place; said below, or re-raised
            got = error
        if checks.exactly_equal(got, expected):
            return
        got_kinds = [describe_entry(layer) for layer in children(renamed)]
        kinds = [describe(layer) for layer in local]
        if got_kinds != kinds:
            wrong = next((n for n, a, b in zip(names, got_kinds, kinds) if a != b), None)
            if wrong is not None:
                raise Incorrect(f"'{wrong}' holds {got_kinds[names.index(wrong)]}, but the original "
                                f"layer at that position is {kinds[names.index(wrong)]}: keep each "
                                "layer at its position.")
        if isinstance(got, Exception):
            raise got
        raise Incorrect("Your renamed model computes different outputs: its layers have new "
                        "weights. Put the original layer objects in (or copy their weights).")


# --- q2 ---------------------------------------------------------------------------------

class RemapKeys(NamingExercise):
    id = "lesson04.q2"
    points = 2
    title = "Rename the keys of a saved state_dict so it loads into the named model"
    why = ("A state_dict is a plain dictionary from names to tensors: renaming its keys is all it "
           "takes to move weights between two spellings of one network.")
    hints = [
        "Each key is `module name` + `.` + `parameter name`, e.g. `'10.weight'`. Split it once at "
        "the first dot: `module, rest = key.split('.', 1)`.",
        "Build a new dict: for every `key, value`, look `module` up in `mapping` (keep it when it "
        "is not there) and store `value` under `new_module + '.' + rest`. Do not use `str.replace`: "
        "`'10.weight'.replace('0', 'fc1')` gives `'1fc1.weight'`.",
    ]

    def check_answer(self, remap_keys):
        expect_function(remap_keys, "remap_keys")
        own_stream(4042)
        # 11 layers, so the keys '0.weight' and '10.weight' both occur
        numbered = numbered_mlp((5, 6, 7, 6, 5, 4, 3))
        mapping = {str(i): name for i, name in enumerate(mlp_names(numbered)) if name.startswith("fc")}
        del mapping["4"]  # one layer the mapping leaves alone: its keys must stay as they are
        self._check_one(remap_keys, numbered, mapping)
        # '1' is a prefix of '10' and '11', and '11.0.weight' has two dots; both mapping orders,
        # so neither "first prefix wins" nor "last prefix wins" passes by luck
        nested = nn.Sequential(*(nn.Linear(3, 3) for _ in range(11)), nn.Sequential(nn.Linear(3, 2)))
        self._check_one(remap_keys, nested, {"1": "encoder", "10": "decoder", "11": "head"})
        self._check_one(remap_keys, nested, {"11": "head", "10": "decoder", "1": "encoder"})

    def _check_one(self, remap_keys, numbered, mapping):
        names = [mapping.get(str(i), str(i)) for i in range(len(numbered))]
        saved = numbered.state_dict()
        expected = OrderedDict()
        for key, value in saved.items():
            module, rest = key.split(".", 1)
            expected[mapping.get(module, module) + "." + rest] = value
        given = saved_on_answer_side(remap_keys, saved)
        reader = remap_keys.session.build(DictReader)
        got = self._call(remap_keys, given, mapping, list(saved))
        if got is None:
            raise Incorrect("`remap_keys` returned None: return the new dictionary.")
        got_dict = read_dict(reader, got)
        if got_dict is None:
            raise Incorrect(f"`remap_keys` returned a {checks.type_name(got)}; return a dictionary of tensors.")
        after = read_dict(reader, given)
        if after is None or list(after) != list(saved):
            raise Incorrect("`remap_keys` changed the dictionary it was given: build and return a new "
                            "dictionary, and leave the saved one as it is.")
        got = got_dict
        missing = [key for key in expected if key not in got]
        unexpected = [key for key in got if key not in expected]
        if unexpected or missing:
            raise Incorrect(self._explain_keys(missing, unexpected, mapping, list(saved)))
        for key, value in expected.items():
            if not checks.exactly_equal(got[key], value):
                raise Incorrect(f"The tensor under '{key}' is not the saved one: rename the keys, keep the values.")
        if any(not checks.exactly_equal(after[key], saved[key]) for key in saved):
            raise Incorrect("`remap_keys` changed the saved tensors; rename the keys, keep the values.")
        target = nn.Sequential(OrderedDict(zip(names, copy.deepcopy(numbered))))
        for param in target.parameters():
            nn.init.zeros_(param)
        target.load_state_dict({key: checks.plain(value) for key, value in got.items()})  # strict: keys match
        x = checks.hidden_input(3, numbered[0].in_features)
        with torch.no_grad():
            if not checks.exactly_equal(target(x), numbered(x)):
                raise Incorrect("The named model, loaded with your dictionary, computes different outputs.")

    @staticmethod
    def _call(remap_keys, given, mapping, saved_keys):
        """Call the answer; the exceptions two common slips raise become the course's message."""
        try:
            return checks.call(remap_keys, given, dict(mapping), what="`remap_keys`")
        except ValueError as error:
            if "values to unpack" not in str(error):
                raise
            raise checks.mistake_in_your_code(
                error, "`key.split('.')` splits at EVERY dot, so a key with more dots, such as "
                       "'11.0.weight', gives more than two parts. Split once, at the first dot: "
                       "`module, rest = key.split('.', 1)`.") from None
        except KeyError as error:
            missing = missing_key(error)
            modules = {key.split(".", 1)[0] for key in saved_keys}
            if missing in mapping or not isinstance(missing, str) or missing not in modules:
                raise
            raise checks.mistake_in_your_code(
                error, f"KeyError {missing!r}: `mapping` does not mention every layer, and layers it leaves "
                       f"out keep their keys. Look the module name up with a default, "
                       f"`mapping.get(module, module)`.") from None

    @staticmethod
    def _explain_keys(missing, unexpected, mapping, saved_keys):
        for key in unexpected:
            for original in saved_keys:
                module = original.split(".", 1)[0]
                for prefix, name in mapping.items():
                    if prefix != module and module.startswith(prefix) and key == name + original[len(prefix):]:
                        return (f"Your dictionary has '{key}' for the saved '{original}': '{module}' starts "
                                f"with '{prefix}', but it is another layer. Compare the whole module name "
                                "(the part before the first dot), not its beginning.")
        for key in unexpected:
            module = key.split(".", 1)[0]
            if module in mapping and key.count(".") > 1:
                return (f"Your dictionary still has '{key}', although its module '{module}' is in "
                        f"`mapping`: the module name is the part before the FIRST dot, even in a key "
                        f"with more dots ('{key}' → '{mapping[module]}.{key.split('.', 1)[1]}').")
        for key in unexpected:
            module = key.split(".", 1)[0]
            if module not in mapping.values() and any(name in key for name in mapping.values()):
                return (f"Your dictionary has the key '{key}': a text replacement also changed digits "
                        "inside other names (e.g. the '0' in '10.weight'). Replace only the module name, "
                        "the part before the first dot.")
        dropped = [key for key in missing if key.split(".", 1)[0] not in mapping.values()]
        if dropped:
            return f"The key '{dropped[0]}' is gone: layers that `mapping` does not mention keep their keys."
        if missing and unexpected:
            return (f"The named model expects '{missing[0]}', but your dictionary has '{unexpected[0]}' "
                    "instead: rename every key whose module is in `mapping`, weights and biases alike.")
        if missing:
            return f"Your dictionary lacks '{missing[0]}': keep one entry for every saved tensor."
        return f"Your dictionary has a key the named model does not know: '{unexpected[0]}'."


# --- q3 ---------------------------------------------------------------------------------

class FreezeByName(NamingExercise):
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

    def check_answer(self, freeze):
        expect_function(freeze, "freeze")
        own_stream(4043)
        self._check_one(freeze, "twelve", ["layer1", "layer2"])
        # other names, a prefix trap ('encoder' / 'encoder_head') and a nested layer (freeze_model)
        self._check_one(freeze, "nested", ["block", "encoder"])

    @staticmethod
    def _check_one(freeze, kind, frozen):
        # the model lives on the answer's side, with the check's weights: `before` is the check's copy
        local, model = freeze.session.twin(freeze_model, kind)
        before = {name: p.detach().clone() for name, p in local.named_parameters()}
        checks.call(freeze, model, list(frozen), what="`freeze`")
        if any(entry.settings.get("training") is not True for entry in model.tree()):
            raise Incorrect("Your function switched (part of) the model to eval mode: `eval()` changes "
                            "how dropout and batch norm behave, it does not stop gradients. Set "
                            "`requires_grad` to False instead.")
        flags = {}
        seen = set()
        for param in model.parameters():   # as named_parameters(): a shared parameter once
            if param.identity not in seen:
                seen.add(param.identity)
                flags[param.name] = param.requires_grad
        if all(flags.values()):
            raise Incorrect(f"No parameter has `requires_grad == False` after `freeze(model, {frozen})` ran: "
                            "call `param.requires_grad_(False)` on the model's own parameters (not on a "
                            "copy, `.data` or `.detach()`) of the layers named in `names`.")
        for name, trainable in flags.items():
            module = name.split(".")[0]
            if module in frozen and trainable:
                raise Incorrect(f"'{name}' is still trainable: freeze every parameter of '{module}', "
                                "weight and bias, at any depth inside it.")
            if module not in frozen and not trainable:
                if any(module.startswith(f) for f in frozen):
                    raise Incorrect(f"You also froze '{name}': '{module}' starts with "
                                    f"'{next(f for f in frozen if module.startswith(f))}'. Compare the "
                                    "whole module name (the part before the first dot).")
                raise Incorrect(f"You froze '{name}', but '{module}' is not in the names you were given "
                                f"({frozen}).")
        # behaviour: one optimizer step (on the answer's side) moves the trainable weights and
        # leaves the frozen ones; the loss is output.pow(2).sum(), whose gradient is 2 * output
        optimizer = freeze.session.build(sgd_for, model)
        x = checks.hidden_input(4, 3)
        output = checks.expect_tensor(model(x), "the model's output")
        model.run(x, backward=2 * output)
        optimizer.method("step")
        for param in model.parameters():
            if param.name not in before:
                continue
            moved = not checks.exactly_equal(param.value, before[param.name])
            if param.name.split(".")[0] in frozen and moved:
                raise Incorrect(f"'{param.name}' changed in an optimizer step although it should be frozen.")


# --- q4 (debugging) ------------------------------------------------------------------------

NAMED_LAYERS = ("fc1", "relu1", "fc2", "relu2", "head")
SAVED_MODULE_OF = {"fc1": "0", "fc2": "2", "head": "4"}  # named layer -> module number in the saved keys


def saved_numbered_model() -> nn.Sequential:
    """The colleague's numbered model whose ``state_dict`` the debugging exercise loads."""
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))


class DebugLoadNamed(NamingExercise):
    id = "lesson04.q4"
    points = 2
    title = "Debug: a named model that never receives its saved weights"
    why = ("A repeated name silently drops a layer, and `strict=False` silently loads nothing: "
           "both errors stay quiet, so compare layer names and outputs after every load.")
    hints = [
        "Print the model that `broken_load_named` returns and what `load_state_dict` returns: "
        "how many layers are there, and which keys were missing or unexpected?",
        "Give each ReLU its own name (`relu1`, `relu2`), and rename the saved keys before loading "
        "with the default `strict=True`: `{'0': 'fc1', '2': 'fc2', '4': 'head'}` maps the module "
        "numbers to names (split each key once at the first dot).",
    ]

    def check_answer(self, load_named):
        expect_function(load_named, "load_named")
        own_stream(4044)
        numbered = saved_numbered_model()
        saved = numbered.state_dict()
        model = self._call(load_named, saved_on_answer_side(load_named, saved))
        if model is None:
            raise Incorrect("`load_named` returned None: end it with `return model`.")
        if not (isinstance(model, Answer) and model.is_module("Sequential")):
            raise Incorrect(f"`load_named` returned a {checks.type_name(model)}; return the named `nn.Sequential`.")
        names = child_names(model)
        if names != list(NAMED_LAYERS):
            repeated = sorted({n for n in ("relu", "fc") if n in names})
            if len(names) < len(NAMED_LAYERS) and repeated:
                raise Incorrect(f"Your model has {len(names)} layers, {names}: the name '{repeated[0]}' is used "
                                "twice, and an OrderedDict keeps one entry per name, so a layer silently "
                                f"disappears. Give every layer its own name: {list(NAMED_LAYERS)}.")
            raise Incorrect(f"Your model's layers are named {names}; expected {list(NAMED_LAYERS)}, in that order.")
        arrived = [name for name, number in SAVED_MODULE_OF.items()
                   if checks.exactly_equal(self._tensor(model, f"{name}.weight"), saved[number + ".weight"])
                   and checks.exactly_equal(self._tensor(model, f"{name}.bias"), saved[number + ".bias"])]
        if not arrived:
            raise Incorrect("None of the saved weights reached your model: `load_state_dict(saved, strict=False)` "
                            "skips every key it does not know, and the saved keys ('0.weight', ...) are not your "
                            "layer names ('fc1.weight', ...). Its return value lists them. Rename the keys, "
                            "then load with the default `strict=True`.")
        for name, number in SAVED_MODULE_OF.items():
            if name not in arrived:
                raise Incorrect(f"'{name}' does not hold the saved weights of layer '{number}' "
                                f"('{number}.weight', '{number}.bias'): rename those keys to '{name}.weight' "
                                f"and '{name}.bias'.")
        x = checks.hidden_input(4, 6)
        with torch.no_grad():
            expected = numbered(x)
        if not checks.exactly_equal(model.run(x, no_grad=True).value, expected):
            raise Incorrect("Your model holds the saved weights but computes something else than the "
                            "saved model: keep the layers in the order Linear, ReLU, Linear, ReLU, Linear.")

    @staticmethod
    def _tensor(model, path):
        """``getattr(getattr(model, layer), "weight", None)`` on the answer's side: a tensor or None."""
        try:
            return model.attribute(path)
        except AttributeError:
            return None

    @staticmethod
    def _call(load_named, saved):
        try:
            return checks.call(load_named, saved, what="`load_named`")
        except TypeError as error:
            raise sequential_refusal(error) or error
        except RuntimeError as error:
            if "Error(s) in loading state_dict" not in str(error):
                raise
            raise checks.mistake_in_your_code(
                error, "`load_state_dict` refused the saved weights: they are keyed by number ('0.weight', "
                       "'2.bias', ...) and your model expects its layer names ('fc1.weight', ...). Rename "
                       "the keys first (split each key once at the first dot).") from None


q1 = NameTheLayers()
q2 = RemapKeys()
q3 = FreezeByName()
q4 = DebugLoadNamed()
