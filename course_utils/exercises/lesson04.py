"""Exercises of lesson 04 (naming layers): rename a Sequential, remap saved keys, freeze by name.

Names are part of these exercises (the student is given them), so the checks do compare names;
they compare weights by value and behaviour by running the models on hidden inputs.
"""

import copy
from collections import OrderedDict

import torch
from torch import nn

from course_utils.exercises.engine import Exercise, Incorrect


def close(a, b) -> bool:
    return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(a, b, atol=1e-6)


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
    """fc1, relu1, fc2, relu2, ... for the layers of ``numbered_mlp``."""
    names, counts = [], {"fc": 0, "relu": 0}
    for layer in model:
        kind = "fc" if isinstance(layer, nn.Linear) else "relu"
        counts[kind] += 1
        names.append(f"{kind}{counts[kind]}")
    return names


# --- q1 ---------------------------------------------------------------------------------

class NameTheLayers(Exercise):
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

    def check_answer(self, name_layers):
        expect_function(name_layers, "name_layers")
        for widths in [(6, 5, 4, 3), (4, 8, 2)]:
            model = numbered_mlp(widths)
            names = mlp_names(model)
            x = torch.randn(5, widths[0])
            with torch.no_grad():
                expected = model(x)
            renamed = name_layers(model, list(names))
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
                raise Incorrect(f"Your model's layers are named {got_names}; expected {names}, in that order.")
            got_kinds = [describe(layer) for layer in renamed]
            kinds = [describe(layer) for layer in model]
            if got_kinds != kinds:
                wrong = next(n for n, a, b in zip(names, got_kinds, kinds) if a != b)
                raise Incorrect(f"'{wrong}' holds {got_kinds[names.index(wrong)]}, but the original "
                                f"layer at that position is {kinds[names.index(wrong)]}: keep each "
                                "layer at its position.")
            with torch.no_grad():
                got = renamed(x)
            if not close(got, expected):
                raise Incorrect("Your renamed model computes different outputs: its layers have new "
                                "weights. Put the original layer objects in (or copy their weights).")


# --- q2 ---------------------------------------------------------------------------------

class RemapKeys(Exercise):
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
        got = remap_keys(saved, dict(mapping))
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
            if not isinstance(got[key], torch.Tensor) or not torch.equal(got[key], value):
                raise Incorrect(f"The tensor under '{key}' is not the saved one: rename the keys, keep the values.")
        if any(not torch.equal(saved[key], before[key]) for key in before):
            raise Incorrect("`remap_keys` changed the saved tensors; rename the keys, keep the values.")
        target = nn.Sequential(OrderedDict(zip(names, copy.deepcopy(numbered))))
        for param in target.parameters():
            nn.init.zeros_(param)
        target.load_state_dict(got)  # strict: the key sets already match
        x = torch.randn(3, numbered[0].in_features)
        with torch.no_grad():
            if not close(target(x), numbered(x)):
                raise Incorrect("The named model, loaded with your dictionary, computes different outputs.")

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

class FreezeByName(Exercise):
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
        model = nn.Sequential(OrderedDict(
            (f"layer{i}", nn.Linear(3, 3)) for i in range(1, 13)))
        frozen = ["layer1", "layer2"]
        before = {name: p.detach().clone() for name, p in model.named_parameters()}
        freeze(model, list(frozen))
        if not model.training or any(not m.training for m in model.modules()):
            raise Incorrect("Your function switched (part of) the model to eval mode: `eval()` changes "
                            "how dropout and batch norm behave, it does not stop gradients. Set "
                            "`requires_grad` to False instead.")
        flags = {name: p.requires_grad for name, p in model.named_parameters()}
        if all(flags.values()):
            raise Incorrect("No parameter has `requires_grad == False` after your function ran: call "
                            "`param.requires_grad_(False)` on the model's own parameters (not on a "
                            "copy, `.data` or `.detach()`).")
        for name, trainable in flags.items():
            module = name.split(".")[0]
            if module in frozen and trainable:
                raise Incorrect(f"'{name}' is still trainable: freeze every parameter of '{module}', "
                                "weight and bias.")
            if module not in frozen and not trainable:
                if any(module.startswith(f) for f in frozen):
                    raise Incorrect(f"You also froze '{name}': '{module}' starts with "
                                    f"'{next(f for f in frozen if module.startswith(f))}'. Compare the "
                                    "whole module name (the part before the first dot).")
                raise Incorrect(f"You froze '{name}', but '{module}' is not in the names you were given.")
        # behaviour: one optimizer step moves the trainable weights and leaves the frozen ones
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        loss = model(torch.randn(4, 3)).pow(2).sum()
        loss.backward()
        optimizer.step()
        for name, p in model.named_parameters():
            moved = not torch.equal(p.detach(), before[name])
            if name.split(".")[0] in frozen and moved:
                raise Incorrect(f"'{name}' changed in an optimizer step although it should be frozen.")


q1 = NameTheLayers()
q2 = RemapKeys()
q3 = FreezeByName()
