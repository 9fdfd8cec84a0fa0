"""Answers to lesson 04's exercises, as data: right ones in other idioms, wrong ones with the
words the student must read. ``tests/unit/test_every_exercise.py`` judges every entry (on the
notebook's inputs and on a grader's fresh ones); ``tests/unit/test_lesson04.py`` keeps the tests
of special behaviour (the student's line, the record of the loads, the first message)."""

import copy
import re
from collections import OrderedDict

import torch
from torch import nn

from course_utils.exercises import lesson04 as ex
from course_utils.exercises.testing import Right, Status, Wrong


# --- q1: name_layers ---------------------------------------------------------------------------

def add_one_by_one(model, names):
    renamed = nn.Sequential()
    for name, layer in zip(names, model):
        renamed.add_module(name, layer)
    return renamed


def copy_weights_into_new(model, names):
    return nn.Sequential(OrderedDict((name, copy.deepcopy(layer)) for name, layer in zip(names, model)))


def via_state_dict(model, names):
    fresh = nn.Sequential(OrderedDict(
        (name, nn.Linear(layer.in_features, layer.out_features) if isinstance(layer, nn.Linear) else nn.ReLU())
        for name, layer in zip(names, model)))
    numbered = model.state_dict()
    fresh.load_state_dict({names[int(k.split(".")[0])] + "." + k.split(".", 1)[1]: v for k, v in numbered.items()})
    return fresh


def name_with_add_module(model, names):   # a second student's answer, written like add_one_by_one
    renamed = nn.Sequential()
    for name, layer in zip(names, model):
        renamed.add_module(name, layer)
    return renamed


def name_children_of_deep_copies(model, names):
    return nn.Sequential(OrderedDict((name, copy.deepcopy(layer)) for name, layer in zip(names, model.children())))


def renamed_in_place(model, names):  # the given layers themselves, under new keys of the same model
    model._modules = OrderedDict(zip(names, model._modules.values()))
    return model


def fresh_layers(model, names):
    return nn.Sequential(OrderedDict(
        (name, nn.Linear(layer.in_features, layer.out_features) if isinstance(layer, nn.Linear) else nn.ReLU())
        for name, layer in zip(names, model)))


def hard_coded_names(model, names):  # ignores `names`: passed while the check used the lesson's own names
    return nn.Sequential(OrderedDict(zip(ex.mlp_names(model), model)))


def nearly_the_same_weights(model, names):
    renamed = copy.deepcopy(nn.Sequential(OrderedDict(zip(names, model))))
    with torch.no_grad():
        for param in renamed.parameters():
            param.add_(1e-7)
    return renamed


NAMES_IN_ORDER = "expected ['stem', 'squash1', 'body', 'squash2', 'readout'], in that order"

Q1 = [
    Right(add_one_by_one),
    Right(copy_weights_into_new),
    Right(via_state_dict),
    Right(name_with_add_module),
    Right(name_children_of_deep_copies),
    Right(renamed_in_place),
    Wrong(lambda model, names: OrderedDict(zip(names, model)), "returned a OrderedDict; wrap it", name="ordereddict"),
    Wrong(lambda model, names: nn.Sequential(*model), "still numbered", name="unpacked"),
    Wrong(fresh_layers, "its layers have new weights"),
    Wrong(lambda model, names: nn.Sequential(OrderedDict(zip(names, reversed(model)))),
          "keep each layer at its position", name="reversed"),
    Wrong(lambda model, names: nn.Sequential(OrderedDict(zip(names, model[::-1]))),
          "keep each layer at its position", name="sliced-backwards"),
    Wrong(lambda model, names: nn.Sequential(OrderedDict(zip(sorted(names), model))),
          "Your model's layers are named ['body', 'readout', 'squash1', 'squash2', 'stem']; " + NAMES_IN_ORDER,
          name="sorted-names"),
    Wrong(lambda model, names: None, "returned None", name="none"),
    Wrong(lambda model, names: list(zip(names, model)), "return an `nn.Sequential`", name="list"),
    Wrong(nn.Sequential(), "You passed a module (a Sequential); pass your function `name_layers` itself.",
          name="module"),
    Wrong(lambda model, names: nn.Sequential(list(zip(names, model))),
          "`nn.Sequential` takes names only from an `OrderedDict`: it treats a list of pairs", name="list-of-pairs"),
    Wrong(lambda model, names: nn.Sequential(dict(zip(names, model))),
          "`nn.Sequential` takes names only from an `OrderedDict`: it treats a plain `dict`", name="plain-dict"),
    Wrong(lambda model, names: nn.ModuleDict(OrderedDict(zip(names, model))),
          "returned a ModuleDict; return an `nn.Sequential`", name="moduledict"),
    Wrong(lambda model, names: nn.Sequential(OrderedDict(list(zip(names, model)) + [("out", nn.ReLU())])),
          NAMES_IN_ORDER, name="extra-layer"),
    Wrong(lambda model, names: model, "Your layers are still numbered", name="unchanged"),
    Wrong(hard_coded_names, "but `name_layers` was given ['stem', 'squash1', 'body', 'squash2', 'readout']: use the "
                            "names"),
    Wrong(nearly_the_same_weights, "Your renamed model computes different outputs"),
]


# --- q2: remap_keys (module paths at any depth) --------------------------------------------------

def remap_reference_style(state_dict, mapping):
    renamed = OrderedDict()
    for key, value in state_dict.items():
        for old, new in mapping.items():
            if key.startswith(old + "."):
                key = new + key[len(old):]
                break
        renamed[key] = value
    return renamed


def remap_by_parts(state_dict, mapping):   # the longest path of the key that mapping knows
    out = {}
    for key, value in state_dict.items():
        parts = key.split(".")
        for i in range(len(parts) - 1, 0, -1):
            path = ".".join(parts[:i])
            if path in mapping:
                key = ".".join([mapping[path]] + parts[i:])
                break
        out[key] = value
    return out


def remap_with_regex(state_dict, mapping):
    pattern = re.compile(r"^(" + "|".join(re.escape(path) for path in mapping) + r")\.")
    return {pattern.sub(lambda m: mapping[m.group(1)] + ".", key): value for key, value in state_dict.items()}


def remap_with_next(state_dict, mapping):  # equal tensors are as good as the same ones
    return {next((new + key[len(old):] for old, new in mapping.items() if key.startswith(f"{old}.")), key): v.clone()
            for key, v in state_dict.items()}


def rename_keys(state_dict, mapping):
    """Lesson 04's cell, pasted: the module name is the part before the first dot."""
    renamed = OrderedDict()
    for key, tensor in state_dict.items():
        module, rest = key.split('.', 1)
        renamed[mapping.get(module, module) + '.' + rest] = tensor
    return renamed


def remap_at_last_dot(state_dict, mapping):
    renamed = {}
    for key, value in state_dict.items():
        module, rest = key.rsplit(".", 1)
        renamed[mapping.get(module, module) + "." + rest] = value
    return renamed


def remap_first_prefix(state_dict, mapping):  # '10.weight'.startswith('1')
    renamed = {}
    for key, value in state_dict.items():
        new_key = key
        for old, new in mapping.items():
            if key.startswith(old):
                new_key = new + key[len(old):]
                break
        renamed[new_key] = value
    return renamed


def remap_last_prefix(state_dict, mapping):
    renamed = {}
    for key, value in state_dict.items():
        new_key = key
        for old, new in mapping.items():
            if key.startswith(old):
                new_key = new + key[len(old):]
        renamed[new_key] = value
    return renamed


def naive_replace(state_dict, mapping):
    out = {}
    for key, value in state_dict.items():
        for old, new in mapping.items():
            key = key.replace(old, new)
        out[key] = value
    return out


def only_weights(state_dict, mapping):
    out = {}
    for key, value in state_dict.items():
        module, rest = key.rsplit(".", 1)
        out[(mapping.get(module, module) if rest == "weight" else module) + "." + rest] = value
    return out


def drops_unmapped(state_dict, mapping):
    return {remap_reference_style({k: v}, mapping).popitem()[0]: v for k, v in state_dict.items()
            if any(k.startswith(old + ".") for old in mapping)}


def fresh_values(state_dict, mapping):
    return {k: torch.zeros_like(v) for k, v in remap_reference_style(state_dict, mapping).items()}


def remap_in_place(state_dict, mapping):
    for key in list(state_dict):
        for old, new in mapping.items():
            if key.startswith(old + "."):
                state_dict[new + key[len(old):]] = state_dict.pop(key)
    return state_dict


def remap_then_zero_the_saved(state_dict, mapping):   # right keys and values, but the saved tensors wiped
    renamed = {key: value.clone() for key, value in remap_reference_style(state_dict, mapping).items()}
    for value in state_dict.values():
        value.zero_()
    return renamed


def returns_nothing(state_dict, mapping):
    remap_in_place(state_dict, mapping)


def remap_two_way_split(state_dict, mapping):
    renamed = {}
    for key, value in state_dict.items():
        module, rest = key.split(".")
        renamed[mapping.get(module, module) + "." + rest] = value
    return renamed


def remap_without_default(state_dict, mapping):
    renamed = {}
    for key, value in state_dict.items():
        module, rest = key.split(".", 1)
        renamed[mapping[module] + "." + rest] = value
    return renamed


def remap_with_a_typo(state_dict, mapping):
    return {key: valeu for key, value in state_dict.items()}  # noqa: F821


Q2 = [
    Right(remap_reference_style),
    Right(remap_by_parts),
    Right(remap_with_regex),
    Right(remap_with_next),
    # the answer: the lesson's cell 33, word for word
    Wrong(rename_keys, "Your dictionary still has '0.2.weight', although it lies inside the module '0.2', which "
                       "`mapping` renames: a module's path can hold dots of its own ('0.2' is a layer inside layer "
                       "'0'), so it is not the part before the first dot. '0.2.weight' → 'encoder.out.weight'."),
    Wrong(remap_at_last_dot, "Your dictionary still has '11.0.weight', although it lies inside the module '11', which "
                             "`mapping` renames to 'head': every key inside a renamed module moves with it, at any "
                             "depth ('11.0.weight' → 'head.0.weight')."),
    Wrong(remap_first_prefix, "Your dictionary has 'first0.weight' for the saved '10.weight': '10' starts with '1', "
                              "but it is another layer. A key lies inside the module '1' only when it starts with "
                              "'1.'"),
    Wrong(remap_last_prefix, "Your dictionary has 'first0.weight' for the saved '10.weight'"),
    Wrong(naive_replace, "a text replacement also changed digits inside other names"),
    Wrong(only_weights, "Your dictionary still has '0.bias', although its module '0' is renamed to 'fc1': every key "
                        "of a renamed module moves with it, weights, biases and buffers alike ('0.bias' → "
                        "'fc1.bias')."),
    Wrong(drops_unmapped, "The key '4.weight' is gone: keys outside every module of `mapping` keep their names"),
    Wrong(fresh_values, "The tensor under 'fc1.weight' is not the saved one"),
    Wrong(remap_in_place, "`remap_keys` changed the dictionary it was given: build and return a new dictionary"),
    Wrong(remap_then_zero_the_saved, "`remap_keys` changed the saved tensors; rename the keys, keep the values."),
    Wrong(returns_nothing, "returned None"),
    Wrong(lambda sd, m: list(remap_reference_style(sd, m)), "returned a list", name="list"),
    Wrong(lambda sd, m: {**remap_reference_style(sd, m), "extra.weight": torch.zeros(1)}, "'extra.weight'",
          name="extra-key"),
    Wrong(remap_two_way_split, "`key.split('.')` splits at EVERY dot, so a key with more dots, such as "
                               "'0.0.weight', gives more than two parts."),
    Wrong(remap_without_default, "KeyError '4': `mapping` does not mention every module, and keys outside the "
                                 "modules it renames keep their names."),
    Wrong(remap_with_a_typo, "NameError: name 'valeu' is not defined", Status.ERROR),
]


# --- q3: freeze ----------------------------------------------------------------------------------

def freeze_modules(model, names):
    for name in names:
        getattr(model, name).requires_grad_(False)


def freeze_with_children(model, names):
    for name, child in model.named_children():
        if name in names:
            for p in child.parameters():
                p.requires_grad = False


def freeze_with_prefix_dot(model, names):
    for name, p in model.named_parameters():
        if any(name.startswith(n + ".") for n in names):
            p.requires_grad_(False)


def freeze_through_named_modules(model, names):
    modules = dict(model.named_modules())
    for name in names:
        modules[name].requires_grad_(False)
    return model


def prefix_without_dot(model, names):
    for name, p in model.named_parameters():
        if any(name.startswith(n) for n in names):
            p.requires_grad_(False)


def weights_only(model, names):
    for name in names:
        getattr(model, name).weight.requires_grad_(False)


def with_eval(model, names):
    for name in names:
        getattr(model, name).eval()


def on_detached(model, names):
    for name, p in model.named_parameters():
        if name.split(".")[0] in names:
            p.detach().requires_grad_(False)


def freeze_all(model, names):
    model.requires_grad_(False)


def moves_weights(model, names):
    freeze_modules(model, names)
    with torch.no_grad():
        model.layer1.weight.add_(1.0)


def freeze_by_substring(model, names):  # 'layer1' in 'layer12.weight'
    for name, param in model.named_parameters():
        if any(n in name for n in names):
            param.requires_grad = False


def freeze_the_others(model, names):
    for name, module in model.named_children():
        if name not in names:
            module.requires_grad_(False)


def zero_instead_of_freeze(model, names):
    with torch.no_grad():
        for name in names:
            for param in getattr(model, name).parameters():
                param.zero_()


def freeze_hard_coded(model, names):
    for name in ["layer1", "layer2"]:
        if hasattr(model, name):
            getattr(model, name).requires_grad_(False)


def freeze_at_last_dot(model, names):  # 'block.0.weight' -> 'block.0', not 'block'
    for name, param in model.named_parameters():
        if name.rsplit(".", 1)[0] in names:
            param.requires_grad_(False)


def freeze_names_starting_with(model, names):  # 'encoder_head'.startswith('encoder')
    for name, param in model.named_parameters():
        if any(name.startswith(n) for n in names) and not name.startswith("layer"):
            param.requires_grad_(False)
        elif name.split(".")[0] in names:
            param.requires_grad_(False)


def freeze_by_indexing(model, names):
    for name in names:
        model[name].requires_grad_(False)


def freeze_and_add_a_layer(model, names):
    freeze_modules(model, names)
    model.extra = nn.Linear(3, 3)


Q3 = [
    Right(freeze_modules),
    Right(freeze_with_children),
    Right(freeze_with_prefix_dot),
    Right(lambda model, names: [model.get_submodule(n).requires_grad_(False) for n in names], "get-submodule"),
    Right(freeze_through_named_modules),
    Wrong(prefix_without_dot, "You also froze 'layer10.weight'"),
    Wrong(weights_only, "'layer1.bias' is still trainable"),
    Wrong(with_eval, "switched (part of) the model to eval mode"),
    Wrong(on_detached, "No parameter has `requires_grad == False`"),
    Wrong(freeze_all, "You froze 'layer3.weight', but 'layer3' is not in the names"),
    Wrong(moves_weights, "'layer1.weight' changed"),
    Wrong(nn.Linear(2, 2), "You passed a module (a Linear); pass your function `freeze` itself.", name="module"),
    Wrong(freeze_by_substring, "You also froze 'layer10.weight': 'layer10' starts with 'layer1'"),
    Wrong(freeze_the_others, "'layer1.weight' is still trainable"),
    Wrong(zero_instead_of_freeze, "No parameter has `requires_grad == False` after `freeze(model, ['layer1', "
                                  "'layer2'])` ran"),
    Wrong(freeze_hard_coded, "No parameter has `requires_grad == False` after `freeze(model, ['block', 'encoder'])` "
                             "ran"),
    Wrong(freeze_at_last_dot, "'block.0.weight' is still trainable: freeze every parameter of 'block'"),
    Wrong(freeze_names_starting_with, "You also froze 'encoder_head.weight': 'encoder_head' starts with 'encoder'"),
    Wrong(freeze_by_indexing, "`freeze` fails ('str' object cannot be interpreted as an integer): square brackets on "
                              "an `nn.Sequential` mean a position"),
    Wrong(freeze_and_add_a_layer, "After `freeze(model, ['layer1', 'layer2'])` the model has other parameters than it "
                                  "was given: `freeze` changes `requires_grad`, it neither adds nor removes parameters."),
]


# --- q4 (debugging): load_named ------------------------------------------------------------------

def named_model(relu_names=("relu1", "relu2")):
    return nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(6, 8)), (relu_names[0], nn.ReLU()),
        ("fc2", nn.Linear(8, 8)), (relu_names[1], nn.ReLU()),
        ("head", nn.Linear(8, 3)),
    ]))


def load_by_position(saved):
    model = named_model()
    model.load_state_dict(OrderedDict(zip(model.state_dict().keys(), saved.values())))
    return model


def load_numbered_then_name(saved):
    numbered = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    numbered.load_state_dict(saved)
    return nn.Sequential(OrderedDict(zip(["fc1", "relu1", "fc2", "relu2", "head"], numbered)))


def load_layer_by_layer(saved):
    model = named_model()
    for name, number in [("fc1", "0"), ("fc2", "2"), ("head", "4")]:
        getattr(model, name).load_state_dict({"weight": saved[f"{number}.weight"], "bias": saved[f"{number}.bias"]})
    return model


def broken_load_named(saved):  # the notebook's broken version, as handed out
    model = named_model(("relu", "relu"))
    model.load_state_dict(saved, strict=False)
    return model


def names_fixed_still_not_strict(saved):
    model = named_model()
    model.load_state_dict(saved, strict=False)
    return model


def names_fixed_strict_without_renaming(saved):
    model = named_model()
    model.load_state_dict(saved)
    return model


def head_left_out_of_the_mapping(saved):
    model = named_model()
    mapping = {"0": "fc1", "2": "fc2"}
    model.load_state_dict({mapping.get(k.split(".")[0], k.split(".")[0]) + "." + k.split(".", 1)[1]: v
                           for k, v in saved.items()}, strict=False)
    return model


def built_from_a_plain_dict(saved):
    return nn.Sequential({"fc1": nn.Linear(6, 8)})


def mapping_swapped(saved):
    model = named_model()
    mapping = {"0": "fc1", "2": "head", "4": "fc2"}
    model.load_state_dict({mapping[k.split(".")[0]] + "." + k.split(".", 1)[1]: v for k, v in saved.items()})
    return model


def mapping_to_a_name_the_model_lacks(saved):
    model = named_model()
    mapping = {"0": "fc1", "2": "fc2", "4": "fc3"}
    model.load_state_dict({mapping[k.split(".")[0]] + "." + k.split(".", 1)[1]: v for k, v in saved.items()})
    return model


def strict_load_in_try(saved):
    model = named_model()
    try:
        model.load_state_dict(saved)
    except RuntimeError:
        pass
    return model


def never_loads(saved):
    return named_model()


def tanh_for_a_relu(saved):
    model = nn.Sequential(OrderedDict([("fc1", nn.Linear(6, 8)), ("relu1", nn.Tanh()), ("fc2", nn.Linear(8, 8)),
                                       ("relu2", nn.ReLU()), ("head", nn.Linear(8, 3))]))
    mapping = {"0": "fc1", "2": "fc2", "4": "head"}
    model.load_state_dict({mapping[key.split(".", 1)[0]] + "." + key.split(".", 1)[1]: value
                           for key, value in saved.items()})
    return model


def a_relu_named_fc1(saved):  # a layer without weights where the first Linear belongs: the check must not crash
    model = nn.Sequential(OrderedDict([("fc1", nn.ReLU()), ("relu1", nn.ReLU()), ("fc2", nn.Linear(8, 8)),
                                       ("relu2", nn.ReLU()), ("head", nn.Linear(8, 3))]))
    for name, number in [("fc2", "2"), ("head", "4")]:
        getattr(model, name).load_state_dict({"weight": saved[f"{number}.weight"], "bias": saved[f"{number}.bias"]})
    return model


def loads_into_another_model(saved):
    named_model().load_state_dict(OrderedDict(zip(named_model().state_dict().keys(), saved.values())))
    return named_model()


Q4 = [
    Right(load_by_position),
    Right(load_numbered_then_name),
    Right(load_layer_by_layer),
    Wrong(broken_load_named, "Your model has 4 layers, ['fc1', 'relu', 'fc2', 'head'], where the saved model has 5 "
                             "(Linear, ReLU, Linear, ReLU, Linear): a layer you listed is missing, and only one 'relu' "
                             "is left. Compare the names you gave with the layers you got."),
    Wrong(names_fixed_still_not_strict,
          "None of the saved weights reached your model: its layers keep the random weights they were built with, so "
          "it predicts something else than the saved model. `load_state_dict(..., strict=False)` loaded nothing and "
          "said so only in what it returns: 6 saved keys were unexpected ('0.weight', '0.bias', '2.weight', "
          "'2.bias', ...) and 6 keys of your model missing ('fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias', "
          "...). Compare the two lists."),
    Wrong(names_fixed_strict_without_renaming,
          "`load_state_dict` refused the saved weights: the keys it received are numbered ('0.weight', '0.bias', "
          "'2.weight', '2.bias', ...) and your model expects its layer names ('fc1.weight', 'fc1.bias', "
          "'fc2.weight', 'fc2.bias', ...).", absent="strict=False"),
    Wrong(head_left_out_of_the_mapping, "'head' does not hold the saved weights of layer '4' ('4.weight', '4.bias'): "
                                        "the load skipped '4.weight', '4.bias' as unexpected keys."),
    Wrong(built_from_a_plain_dict, "`nn.Sequential` takes names only from an `OrderedDict`"),
    Wrong(lambda saved: None, "`load_named` returned None", name="none"),
    # was told its keys are still numbered
    Wrong(mapping_swapped, "`load_state_dict` refused the saved weights: the saved tensor you put under 'fc2.weight' "
                           "has shape (3, 8), but your 'fc2.weight' has shape (8, 8), so it belongs to another layer. "
                           "Your renaming sends a saved layer to the wrong name", absent="strict=False"),
    Wrong(mapping_to_a_name_the_model_lacks, "`load_state_dict` refused the saved weights: your dictionary has keys "
                                             "your model does not know ('fc3.weight', 'fc3.bias') and lacks keys it "
                                             "needs ('head.weight', 'head.bias').", absent="strict=False"),
    # was told it used strict=False
    Wrong(strict_load_in_try, "None of the saved weights reached your model: its layers keep the random weights they "
                              "were built with, so it predicts something else than the saved model. "
                              "`load_state_dict` refused them (Missing key(s) in state_dict: \"fc1.weight\"",
          absent="strict=False"),
    Wrong(never_loads, "Your function never calls `load_state_dict`.", absent="strict=False"),
    Wrong(loads_into_another_model, "A load ran without complaint, but into another model than the one `load_named` "
                                    "returns.", absent="strict=False"),
    Wrong(a_relu_named_fc1, "'fc1' does not hold the saved weights of layer '0' ('0.weight', '0.bias'). Its keys in "
                            "your model are 'fc1.weight' and 'fc1.bias'."),
    Wrong(tanh_for_a_relu, "Your model holds the saved weights but computes something else than the saved model: keep "
                           "the layers in the order Linear, ReLU, Linear, ReLU, Linear."),
]

BANK = {"q1": Q1, "q2": Q2, "q3": Q3, "q4": Q4}
