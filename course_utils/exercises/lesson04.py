"""Exercises of lesson 04 (naming layers): rename a Sequential, remap saved keys, freeze by name,
and debug a named model whose saved weights never arrive.

Names are part of these exercises (the student is given them), so the checks do compare names,
always with names of their own, other than the lesson's and different in each case, so code that ignores the names it is
given cannot pass; they compare weights by value and behaviour by running the models on hidden
inputs, exactly where the statement says "exactly".
"""

import copy
from collections import OrderedDict

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect


def expect_function(answer, what: str) -> None:
    if isinstance(answer, nn.Module) or isinstance(answer, type) or not callable(answer):
        raise Incorrect(f"Pass the function `{what}` itself (defined with `def`), not "
                        f"{type(answer).__name__}.")


def describe(layer: nn.Module) -> str:
    if isinstance(layer, nn.Linear):
        return f"Linear({layer.in_features}→{layer.out_features})"
    return f"{type(layer).__name__}()"


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
    solution = '''
def name_layers(model, names):
    return nn.Sequential(OrderedDict(zip(names, model)))
'''

    # names of the check's own, not the lesson's and different in each case: code that ignores
    # `names` cannot pass
    cases = [((6, 5, 4, 3), ("stem", "squash1", "body", "squash2", "readout")),
             ((4, 8, 2), ("encoder", "nonlinearity", "decoder"))]

    def check_answer(self, name_layers):
        expect_function(name_layers, "name_layers")
        for widths, names in self.cases:
            self._check_one(name_layers, numbered_mlp(widths), list(names))

    @staticmethod
    def _check_one(name_layers, model, names):
        x = checks.hidden_input(5, model[0].in_features)
        with torch.no_grad():
            expected = model(x)
        try:
            renamed = name_layers(model, list(names))
        except TypeError as error:
            raise sequential_refusal(error) or error
        if renamed is None:
            raise Incorrect("`name_layers` returned None: end it with `return nn.Sequential(...)`.")
        if isinstance(renamed, dict):
            raise Incorrect(f"`name_layers` returned a {type(renamed).__name__}; wrap it in a model: "
                            "`nn.Sequential(OrderedDict(...))`.")
        if not isinstance(renamed, nn.Sequential):
            raise Incorrect(f"`name_layers` returned a {type(renamed).__name__}; return an `nn.Sequential`.")
        got_names = [name for name, _ in renamed.named_children()]
        if got_names != names:
            if got_names == [str(i) for i in range(len(got_names))]:
                raise Incorrect(f"Your layers are still numbered {got_names}: pass the names in, "
                                "as the keys of an `OrderedDict`.")
            if set(got_names) != set(names) and len(got_names) == len(names):
                raise Incorrect(f"Your model's layers are named {got_names}, but `name_layers` was given "
                                f"{names}: use the names it receives, not names of your own.")
            raise Incorrect(f"Your model's layers are named {got_names}; expected {names}, in that order.")
        try:
            with torch.no_grad():
                got = renamed(x)
        except Exception as error:  # noqa: BLE001 - a layer out of place; said below, or re-raised
            got = error
        if checks.exactly_equal(got, expected):
            return
        got_kinds = [describe(layer) for layer in renamed]
        kinds = [describe(layer) for layer in model]
        if got_kinds != kinds:
            wrong = next(n for n, a, b in zip(names, got_kinds, kinds) if a != b)
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
    solution = '''
def remap_keys(state_dict, mapping):
    renamed = OrderedDict()
    for key, value in state_dict.items():
        module, rest = key.split(".", 1)
        renamed[mapping.get(module, module) + "." + rest] = value
    return renamed
'''

    def check_answer(self, remap_keys):
        expect_function(remap_keys, "remap_keys")
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
        before = {key: value.clone() for key, value in saved.items()}
        got = self._call(remap_keys, saved, mapping)
        if got is None:
            raise Incorrect("`remap_keys` returned None: return the new dictionary.")
        if not isinstance(got, dict):
            raise Incorrect(f"`remap_keys` returned a {type(got).__name__}; return a dictionary of tensors.")
        if list(saved) != list(before):
            raise Incorrect("`remap_keys` changed the dictionary it was given: build and return a new "
                            "dictionary, and leave the saved one as it is.")
        missing = [key for key in expected if key not in got]
        unexpected = [key for key in got if key not in expected]
        if unexpected or missing:
            raise Incorrect(self._explain_keys(missing, unexpected, mapping, list(saved)))
        for key, value in expected.items():
            if not checks.exactly_equal(got[key], value):
                raise Incorrect(f"The tensor under '{key}' is not the saved one: rename the keys, keep the values.")
        if any(not checks.exactly_equal(saved[key], before[key]) for key in before):
            raise Incorrect("`remap_keys` changed the saved tensors; rename the keys, keep the values.")
        target = nn.Sequential(OrderedDict(zip(names, copy.deepcopy(numbered))))
        for param in target.parameters():
            nn.init.zeros_(param)
        target.load_state_dict(got)  # strict: the key sets already match
        x = checks.hidden_input(3, numbered[0].in_features)
        with torch.no_grad():
            if not checks.exactly_equal(target(x), numbered(x)):
                raise Incorrect("The named model, loaded with your dictionary, computes different outputs.")

    @staticmethod
    def _call(remap_keys, saved, mapping):
        """Call the answer; the exceptions two common slips raise become the course's message."""
        try:
            return remap_keys(saved, dict(mapping))
        except ValueError as error:
            if "values to unpack" not in str(error):
                raise
            raise checks.mistake_in_your_code(
                error, "`key.split('.')` splits at EVERY dot, so a key with more dots, such as "
                       "'11.0.weight', gives more than two parts. Split once, at the first dot: "
                       "`module, rest = key.split('.', 1)`.") from None
        except KeyError as error:
            missing = error.args[0] if error.args else None
            if missing in mapping or not isinstance(missing, str) or missing not in {k.split(".", 1)[0] for k in saved}:
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
    solution = '''
def freeze(model, names):
    for name, param in model.named_parameters():
        if name.split(".")[0] in names:
            param.requires_grad_(False)
'''

    def check_answer(self, freeze):
        expect_function(freeze, "freeze")
        twelve = nn.Sequential(OrderedDict((f"layer{i}", nn.Linear(3, 3)) for i in range(1, 13)))
        self._check_one(freeze, twelve, ["layer1", "layer2"])
        # other names, a prefix trap ('encoder' / 'encoder_head') and a nested layer whose
        # parameters are 'block.0.weight', 'block.2.weight', ...
        nested = nn.Sequential(OrderedDict([
            ("encoder", nn.Linear(3, 3)), ("block", nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3))),
            ("encoder_head", nn.Linear(3, 3)), ("decoder", nn.Linear(3, 3))]))
        self._check_one(freeze, nested, ["block", "encoder"])

    @staticmethod
    def _check_one(freeze, model, frozen):
        before = {name: p.detach().clone() for name, p in model.named_parameters()}
        freeze(model, list(frozen))
        if not model.training or any(not m.training for m in model.modules()):
            raise Incorrect("Your function switched (part of) the model to eval mode: `eval()` changes "
                            "how dropout and batch norm behave, it does not stop gradients. Set "
                            "`requires_grad` to False instead.")
        flags = {name: p.requires_grad for name, p in model.named_parameters()}
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
        # behaviour: one optimizer step moves the trainable weights and leaves the frozen ones
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        loss = model(checks.hidden_input(4, 3)).pow(2).sum()
        loss.backward()
        optimizer.step()
        for name, p in model.named_parameters():
            moved = not checks.exactly_equal(p, before[name])
            if name.split(".")[0] in frozen and moved:
                raise Incorrect(f"'{name}' changed in an optimizer step although it should be frozen.")


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
    solution = '''
def load_named(saved):
    model = nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(6, 8)), ("relu1", nn.ReLU()),
        ("fc2", nn.Linear(8, 8)), ("relu2", nn.ReLU()),
        ("head", nn.Linear(8, 3)),
    ]))
    mapping = {"0": "fc1", "2": "fc2", "4": "head"}
    renamed = OrderedDict()
    for key, tensor in saved.items():
        module, rest = key.split(".", 1)
        renamed[mapping[module] + "." + rest] = tensor
    model.load_state_dict(renamed)
    return model
'''

    def check_answer(self, load_named):
        expect_function(load_named, "load_named")
        numbered = saved_numbered_model()
        saved = numbered.state_dict()
        model = self._call(load_named, OrderedDict((k, v.clone()) for k, v in saved.items()))
        if model is None:
            raise Incorrect("`load_named` returned None: end it with `return model`.")
        if not isinstance(model, nn.Sequential):
            raise Incorrect(f"`load_named` returned a {type(model).__name__}; return the named `nn.Sequential`.")
        names = [name for name, _ in model.named_children()]
        if names != list(NAMED_LAYERS):
            repeated = sorted({n for n in ("relu", "fc") if n in names})
            if len(names) < len(NAMED_LAYERS) and repeated:
                raise Incorrect(f"Your model has {len(names)} layers, {names}: the name '{repeated[0]}' is used "
                                "twice, and an OrderedDict keeps one entry per name, so a layer silently "
                                f"disappears. Give every layer its own name: {list(NAMED_LAYERS)}.")
            raise Incorrect(f"Your model's layers are named {names}; expected {list(NAMED_LAYERS)}, in that order.")
        arrived = [name for name, number in SAVED_MODULE_OF.items()
                   if checks.exactly_equal(getattr(getattr(model, name), "weight", None), saved[number + ".weight"])
                   and checks.exactly_equal(getattr(getattr(model, name), "bias", None), saved[number + ".bias"])]
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
            if not checks.exactly_equal(model(x), numbered(x)):
                raise Incorrect("Your model holds the saved weights but computes something else than the "
                                "saved model: keep the layers in the order Linear, ReLU, Linear, ReLU, Linear.")

    @staticmethod
    def _call(load_named, saved):
        try:
            return load_named(saved)
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
