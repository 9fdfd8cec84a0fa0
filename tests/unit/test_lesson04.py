"""Lesson 04 checks on the reference, alternative correct answers and a bank of wrong answers."""

import copy
import re
from collections import OrderedDict

import pytest
import torch
from torch import nn

from course_utils.exercises import lesson04 as ex
from course_utils.exercises.testing import assert_check_errored, assert_check_failed, assert_check_passed


# --- q1: name_layers --------------------------------------------------------------------

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


@pytest.mark.parametrize("answer", [add_one_by_one, copy_weights_into_new, via_state_dict])
def test_q1_alternatives(answer):
    assert_check_passed(ex.q1, answer)


def fresh_layers(model, names):
    return nn.Sequential(OrderedDict(
        (name, nn.Linear(layer.in_features, layer.out_features) if isinstance(layer, nn.Linear) else nn.ReLU())
        for name, layer in zip(names, model)))


@pytest.mark.parametrize("answer, message", [
    (lambda model, names: OrderedDict(zip(names, model)), "returned a OrderedDict; wrap it"),
    (lambda model, names: nn.Sequential(*model), "still numbered"),
    (fresh_layers, "its layers have new weights"),
    (lambda model, names: nn.Sequential(OrderedDict(zip(names, reversed(model)))), "keep each layer at its position"),
    (lambda model, names: nn.Sequential(OrderedDict(zip(sorted(names), model))),
     "expected ['stem', 'squash1', 'body', 'squash2', 'readout'], in that order"),
    (lambda model, names: None, "returned None"),
    (lambda model, names: list(zip(names, model)), "return an `nn.Sequential`"),
    (nn.Sequential(), "Pass the function `name_layers`"),
])
def test_q1_wrong(answer, message):
    assert_check_failed(ex.q1, answer, match=message)


@pytest.mark.parametrize("container, said", [(list, "a list of pairs"), (dict, "a plain `dict`")],
                         ids=["list-of-pairs", "plain-dict"])
def test_q1_pairs_not_in_an_ordereddict_get_the_course_message_with_the_students_line(container, said):
    outcome = assert_check_failed(ex.q1, lambda model, names: nn.Sequential(container(zip(names, model))),
                                  match=f"`nn.Sequential` takes names only from an `OrderedDict`: it treats {said}")
    assert "(At test_lesson04.py, line" in outcome.message


# --- q2: remap_keys (module paths at any depth) -----------------------------------------------

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


@pytest.mark.parametrize("answer", [remap_reference_style, remap_by_parts, remap_with_regex, remap_with_next])
def test_q2_alternatives(answer):
    assert_check_passed(ex.q2, answer)


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


def returns_nothing(state_dict, mapping):
    remap_in_place(state_dict, mapping)


@pytest.mark.parametrize("answer, message", [
    # the answer: the lesson's cell 33, word for word
    (rename_keys, "Your dictionary still has '0.2.weight', although it lies inside the module '0.2', which `mapping` "
                  "renames: a module's path can hold dots of its own ('0.2' is a layer inside layer '0'), so it is "
                  "not the part before the first dot. '0.2.weight' → 'encoder.out.weight'."),
    (remap_at_last_dot, "Your dictionary still has '11.0.weight', although it lies inside the module '11', which "
                        "`mapping` renames to 'head': every key inside a renamed module moves with it, at any depth "
                        "('11.0.weight' → 'head.0.weight')."),
    (remap_first_prefix, "Your dictionary has 'first0.weight' for the saved '10.weight': '10' starts with '1', but it "
                         "is another layer. A key lies inside the module '1' only when it starts with '1.'"),
    (remap_last_prefix, "Your dictionary has 'first0.weight' for the saved '10.weight'"),
    (naive_replace, "a text replacement also changed digits inside other names"),
    (only_weights, "Your dictionary still has '0.bias', although its module '0' is renamed to 'fc1': every key of a "
                   "renamed module moves with it, weights, biases and buffers alike ('0.bias' → 'fc1.bias')."),
    (drops_unmapped, "The key '4.weight' is gone: keys outside every module of `mapping` keep their names"),
    (fresh_values, "The tensor under 'fc1.weight' is not the saved one"),
    (remap_in_place, "`remap_keys` changed the dictionary it was given: build and return a new dictionary"),
    (returns_nothing, "returned None"),
    (lambda sd, m: list(remap_reference_style(sd, m)), "returned a list"),
    (lambda sd, m: {**remap_reference_style(sd, m), "extra.weight": torch.zeros(1)}, "'extra.weight'"),
])
def test_q2_wrong(answer, message):
    assert_check_failed(ex.q2, answer, match=message)


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


def test_q2_two_way_split_gets_the_course_message_with_the_students_line():
    outcome = assert_check_failed(ex.q2, remap_two_way_split,
                                  match="`key.split('.')` splits at EVERY dot, so a key with more dots, such as "
                                        "'0.0.weight', gives more than two parts.")
    assert "in remap_two_way_split: `module, rest = key.split(\".\")`" in outcome.message


def test_q2_mapping_without_default_gets_the_course_message():
    assert_check_failed(ex.q2, remap_without_default,
                        match="KeyError '4': `mapping` does not mention every module, and keys outside the modules it "
                              "renames keep their names.")


def test_q2_an_unrelated_error_stays_an_error_in_the_students_code():
    outcome = assert_check_errored(ex.q2, remap_with_a_typo, match="NameError: name 'valeu' is not defined")
    assert outcome.location is not None


def test_q2_the_saved_model_has_the_keys_the_statement_promises():
    keys = list(ex.nested_model().state_dict())
    assert {"0.0.weight", "0.2.weight", "1.weight", "10.weight", "11.0.weight", "11.1.running_mean"} <= set(keys)
    assert ex.renamed_key("11.1.num_batches_tracked", {"11": "head"}) == "head.1.num_batches_tracked"
    assert ex.renamed_key("10.weight", {"1": "first"}) == "10.weight"



# --- q3: freeze -------------------------------------------------------------------------

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


@pytest.mark.parametrize("answer", [freeze_modules, freeze_with_children, freeze_with_prefix_dot,
                                    lambda model, names: [model.get_submodule(n).requires_grad_(False) for n in names]])
def test_q3_alternatives(answer):
    assert_check_passed(ex.q3, answer)


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


@pytest.mark.parametrize("answer, message", [
    (prefix_without_dot, "You also froze 'layer10.weight'"),
    (weights_only, "'layer1.bias' is still trainable"),
    (with_eval, "switched (part of) the model to eval mode"),
    (on_detached, "No parameter has `requires_grad == False`"),
    (freeze_all, "You froze 'layer3.weight', but 'layer3' is not in the names"),
    (moves_weights, "'layer1.weight' changed"),
    (nn.Linear(2, 2), "Pass the function `freeze`"),
])
def test_q3_wrong(answer, message):
    assert_check_failed(ex.q3, answer, match=message)


# --- a second review: more student answers ---------------------------------------------------

def name_with_add_module(model, names):
    renamed = nn.Sequential()
    for name, layer in zip(names, model):
        renamed.add_module(name, layer)
    return renamed


def name_children_of_deep_copies(model, names):
    return nn.Sequential(OrderedDict((name, copy.deepcopy(layer)) for name, layer in zip(names, model.children())))


@pytest.mark.parametrize("answer", [name_with_add_module, name_children_of_deep_copies])
def test_q1_more_alternatives(answer):
    assert_check_passed(ex.q1, answer)


@pytest.mark.parametrize("answer, message", [
    (lambda model, names: nn.ModuleDict(OrderedDict(zip(names, model))), "returned a ModuleDict; return an `nn.Sequential`"),
    (lambda model, names: nn.Sequential(OrderedDict(zip(sorted(names), model))),
     "Your model's layers are named ['body', 'readout', 'squash1', 'squash2', 'stem']"),
    (lambda model, names: nn.Sequential(OrderedDict(list(zip(names, model)) + [("out", nn.ReLU())])),
     "expected ['stem', 'squash1', 'body', 'squash2', 'readout'], in that order"),
    (lambda model, names: model, "Your layers are still numbered"),
])
def test_q1_more_wrong(answer, message):
    assert_check_failed(ex.q1, answer, match=message)


def freeze_through_named_modules(model, names):
    modules = dict(model.named_modules())
    for name in names:
        modules[name].requires_grad_(False)
    return model


@pytest.mark.parametrize("answer", [freeze_through_named_modules])
def test_q3_more_alternatives(answer):
    assert_check_passed(ex.q3, answer)


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


@pytest.mark.parametrize("answer, message", [
    (freeze_by_substring, "You also froze 'layer10.weight': 'layer10' starts with 'layer1'"),
    (freeze_the_others, "'layer1.weight' is still trainable"),
    (zero_instead_of_freeze, "No parameter has `requires_grad == False` after `freeze(model, ['layer1', 'layer2'])` ran"),
])
def test_q3_more_wrong(answer, message):
    assert_check_failed(ex.q3, answer, match=message)


# --- gaps closed: names of the check's own, exact outputs, the course's message for raw errors ----

def hard_coded_names(model, names):  # ignores `names`: passed while the check used the lesson's own names
    return nn.Sequential(OrderedDict(zip(ex.mlp_names(model), model)))


def nearly_the_same_weights(model, names):
    renamed = copy.deepcopy(nn.Sequential(OrderedDict(zip(names, model))))
    with torch.no_grad():
        for param in renamed.parameters():
            param.add_(1e-7)
    return renamed


def renamed_in_place(model, names):  # the given layers themselves, under new keys of the same model
    model._modules = OrderedDict(zip(names, model._modules.values()))
    return model


@pytest.mark.parametrize("answer, message", [
    (hard_coded_names, "but `name_layers` was given ['stem', 'squash1', 'body', 'squash2', 'readout']: use the names"),
    (nearly_the_same_weights, "Your renamed model computes different outputs"),
    (lambda model, names: nn.Sequential(OrderedDict(zip(names, model[::-1]))), "keep each layer at its position"),
])
def test_q1_wrong_answers_the_old_check_let_through_or_misreported(answer, message):
    assert_check_failed(ex.q1, answer, match=message)


@pytest.mark.parametrize("answer", [renamed_in_place, add_one_by_one, copy_weights_into_new])
def test_q1_correct_answers_in_other_styles(answer):
    assert_check_passed(ex.q1, answer)


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


@pytest.mark.parametrize("answer, message", [
    (freeze_hard_coded, "No parameter has `requires_grad == False` after `freeze(model, ['block', 'encoder'])` ran"),
    (freeze_at_last_dot, "'block.0.weight' is still trainable: freeze every parameter of 'block'"),
    (freeze_names_starting_with, "You also froze 'encoder_head.weight': 'encoder_head' starts with 'encoder'"),
])
def test_q3_wrong_answers_with_other_names(answer, message):
    assert_check_failed(ex.q3, answer, match=message)


# --- q4 (debugging): load_named ---------------------------------------------------------------

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


@pytest.mark.parametrize("answer", [load_by_position, load_numbered_then_name, load_layer_by_layer])
def test_q4_correct_answers_in_other_styles(answer):
    assert_check_passed(ex.q4, answer)


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


@pytest.mark.parametrize("answer, message", [
    (broken_load_named, "Your model has 4 layers, ['fc1', 'relu', 'fc2', 'head'], where the saved model has 5 "
                        "(Linear, ReLU, Linear, ReLU, Linear): a layer you listed is missing, and only one 'relu' is "
                        "left. Compare the names you gave with the layers you got."),
    (names_fixed_still_not_strict,
     "None of the saved weights reached your model: its layers keep the random weights they were built with, so it "
     "predicts something else than the saved model. `load_state_dict(..., strict=False)` loaded nothing and said so "
     "only in what it returns: 6 saved keys were unexpected ('0.weight', '0.bias', '2.weight', '2.bias', ...) and 6 "
     "keys of your model missing ('fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias', ...). Compare the two lists."),
    (names_fixed_strict_without_renaming,
     "`load_state_dict` refused the saved weights: the keys it received are numbered ('0.weight', '0.bias', "
     "'2.weight', '2.bias', ...) and your model expects its layer names ('fc1.weight', 'fc1.bias', 'fc2.weight', "
     "'fc2.bias', ...)."),
    (head_left_out_of_the_mapping, "'head' does not hold the saved weights of layer '4' ('4.weight', '4.bias'): the "
                                   "load skipped '4.weight', '4.bias' as unexpected keys."),
    (built_from_a_plain_dict, "`nn.Sequential` takes names only from an `OrderedDict`"),
    (lambda saved: None, "`load_named` returned None"),
])
def test_q4_wrong_answers_say_which_symptom_is_left(answer, message):
    assert_check_failed(ex.q4, answer, match=message)


def test_q4_strict_refusal_points_at_the_students_line():
    outcome = assert_check_failed(ex.q4, names_fixed_strict_without_renaming, match="refused")
    assert "in names_fixed_strict_without_renaming: `model.load_state_dict(saved)`" in outcome.message


# --- the answers: a wrong mapping, and a strict load whose error is caught -------------------

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


def loads_into_another_model(saved):
    named_model().load_state_dict(OrderedDict(zip(named_model().state_dict().keys(), saved.values())))
    return named_model()


@pytest.mark.parametrize("answer, message", [
    # was told its keys are still numbered
    (mapping_swapped, "`load_state_dict` refused the saved weights: the saved tensor you put under 'fc2.weight' has "
                      "shape (3, 8), but your 'fc2.weight' has shape (8, 8), so it belongs to another layer. Your "
                      "renaming sends a saved layer to the wrong name"),
    (mapping_to_a_name_the_model_lacks, "`load_state_dict` refused the saved weights: your dictionary has keys your "
                                        "model does not know ('fc3.weight', 'fc3.bias') and lacks keys it needs "
                                        "('head.weight', 'head.bias')."),
    # was told it used strict=False
    (strict_load_in_try, "None of the saved weights reached your model: its layers keep the random weights they were "
                         "built with, so it predicts something else than the saved model. `load_state_dict` refused "
                         "them (Missing key(s) in state_dict: \"fc1.weight\""),
    (never_loads, "Your function never calls `load_state_dict`."),
    (loads_into_another_model, "A load ran without complaint, but into another model than the one `load_named` "
                               "returns."),
])
def test_q4_each_way_of_losing_the_weights_is_named(answer, message):
    outcome = assert_check_failed(ex.q4, answer, match=message)
    assert "strict=False" not in outcome.message or "strict=False" in message


def test_q4_a_caught_refusal_is_told_so():
    assert "a `try`/`except` around the load?" in assert_check_failed(ex.q4, strict_load_in_try).message


def test_q4_the_record_of_the_loads_leaves_load_state_dict_as_it_was():
    original = nn.Module.load_state_dict
    recorder = ex.RecordingLoads(names_fixed_still_not_strict)
    recorder(ex.saved_numbered_model().state_dict())
    assert nn.Module.load_state_dict is original
    assert [entry["strict"] for entry in recorder.loads] == [False] and len(recorder.loads[0]["unexpected"]) == 6


def test_q4_the_first_message_for_the_handed_out_code_names_the_symptom_not_the_fix():
    message = assert_check_failed(ex.q4, broken_load_named).message
    assert "relu1" not in message and "relu2" not in message and "OrderedDict" not in message
    assert len(ex.q4.hints) >= 3 and "relu1" in ex.q4.hints[-1]
    assert not any("relu1" in hint or "strict=True" in hint for hint in ex.q4.hints[:-1])


def freeze_by_indexing(model, names):
    for name in names:
        model[name].requires_grad_(False)


def test_q3_indexing_a_sequential_by_name_is_explained_with_the_students_line():
    outcome = assert_check_failed(ex.q3, freeze_by_indexing,
                                  match="`freeze` fails ('str' object cannot be interpreted as an integer): square "
                                        "brackets on an `nn.Sequential` mean a position")
    assert "`model[name].requires_grad_(False)`" in outcome.message
