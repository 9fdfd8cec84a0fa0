"""Lesson 04 checks on the reference, alternative correct answers and a bank of wrong answers."""

import copy
from collections import OrderedDict

import pytest
import torch
from torch import nn

from course_utils.exercises import lesson04 as ex
from course_utils.exercises.testing import (assert_check_errored, assert_check_failed,
                                            assert_check_passed, assert_check_unattempted)


def solution(exercise, name):
    """The exercise's own solution text, run as a student pasting it would."""
    namespace = {"nn": nn, "torch": torch, "OrderedDict": OrderedDict}
    exec(exercise.solution_code, namespace)
    return namespace[name]


# --- q1: name_layers --------------------------------------------------------------------

def test_q1_reference():
    assert_check_passed(ex.q1, solution(ex.q1, "name_layers"))


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
    (lambda model, names: nn.Sequential(OrderedDict(zip(sorted(names), model))), "expected ['fc1', 'relu1'"),
    (lambda model, names: None, "returned None"),
    (lambda model, names: list(zip(names, model)), "return an `nn.Sequential`"),
    (nn.Sequential(), "Pass the function `name_layers`"),
])
def test_q1_wrong(answer, message):
    assert_check_failed(ex.q1, answer, match=message)


@pytest.mark.parametrize("container", [list, dict], ids=["list-of-pairs", "plain-dict"])
def test_q1_pairs_not_in_an_ordereddict_are_an_error_in_the_students_code(container):
    assert_check_errored(ex.q1, lambda model, names: nn.Sequential(container(zip(names, model))),
                         match="is not a Module subclass")


def test_q1_not_attempted():
    assert_check_unattempted(ex.q1, NotImplemented)


# --- q2: remap_keys ---------------------------------------------------------------------

def test_q2_reference():
    assert_check_passed(ex.q2, solution(ex.q2, "remap_keys"))


def remap_with_partition(state_dict, mapping):
    out = {}
    for key, value in state_dict.items():
        module, _, rest = key.partition(".")
        out[f"{mapping[module] if module in mapping else module}.{rest}"] = value
    return out


def remap_in_place(state_dict, mapping):
    for key in list(state_dict):
        module, rest = key.split(".", 1)
        if module in mapping:
            state_dict[mapping[module] + "." + rest] = state_dict.pop(key)
    return state_dict


@pytest.mark.parametrize("answer", [
    remap_with_partition,
    lambda sd, m: {".".join([m.get(k.split(".")[0], k.split(".")[0])] + k.split(".")[1:]): v for k, v in sd.items()},
])
def test_q2_alternatives(answer):
    assert_check_passed(ex.q2, answer)


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
        module, rest = key.split(".", 1)
        out[(mapping.get(module, module) if rest == "weight" else module) + "." + rest] = value
    return out


def drops_unmapped(state_dict, mapping):
    return {mapping[k.split(".", 1)[0]] + "." + k.split(".", 1)[1]: v
            for k, v in state_dict.items() if k.split(".", 1)[0] in mapping}


def fresh_values(state_dict, mapping):
    return {mapping.get(k.split(".", 1)[0], k.split(".", 1)[0]) + "." + k.split(".", 1)[1]: torch.zeros_like(v)
            for k, v in state_dict.items()}


def returns_nothing(state_dict, mapping):
    remap_in_place(state_dict, mapping)


def returns_keys(state_dict, mapping):
    return list(remap_with_partition(state_dict, mapping))


@pytest.mark.parametrize("answer, message", [
    (naive_replace, "a text replacement also changed digits"),
    (only_weights, "expects 'fc1.bias', but your dictionary has '0.bias'"),
    (drops_unmapped, "The key '4.weight' is gone"),
    (fresh_values, "is not the saved one"),
    (returns_nothing, "returned None"),
    (returns_keys, "returned a list"),
    (lambda sd, m: {**remap_with_partition(sd, m), "extra.weight": torch.zeros(1)}, "'extra.weight'"),
])
def test_q2_wrong(answer, message):
    assert_check_failed(ex.q2, answer, match=message)


def test_q2_not_attempted():
    assert_check_unattempted(ex.q2, NotImplemented)


# --- q3: freeze -------------------------------------------------------------------------

def test_q3_reference():
    assert_check_passed(ex.q3, solution(ex.q3, "freeze"))


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


def test_q3_not_attempted():
    assert_check_unattempted(ex.q3, NotImplemented)


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
     "Your model's layers are named ['fc1', 'fc2', 'fc3', 'relu1', 'relu2']"),
    (lambda model, names: nn.Sequential(OrderedDict(list(zip(names, model)) + [("out", nn.ReLU())])),
     "expected ['fc1', 'relu1', 'fc2', 'relu2', 'fc3'], in that order"),
    (lambda model, names: model, "Your layers are still numbered"),
])
def test_q1_more_wrong(answer, message):
    assert_check_failed(ex.q1, answer, match=message)


def remap_by_joining_parts(state_dict, mapping):
    renamed = {}
    for key in state_dict:
        parts = key.split(".")
        if parts[0] in mapping:
            parts[0] = mapping[parts[0]]
        renamed[".".join(parts)] = state_dict[key]
    return renamed


def remap_with_cloned_values(state_dict, mapping):  # equal tensors are as good as the same ones
    return {mapping.get(k.split(".")[0], k.split(".")[0]) + "." + k.split(".", 1)[1]: v.clone()
            for k, v in state_dict.items()}


@pytest.mark.parametrize("answer", [remap_by_joining_parts, remap_with_cloned_values])
def test_q2_more_alternatives(answer):
    assert_check_passed(ex.q2, answer)


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


def remap_at_last_dot(state_dict, mapping):
    renamed = {}
    for key, value in state_dict.items():
        module, rest = key.rsplit(".", 1)
        renamed[mapping.get(module, module) + "." + rest] = value
    return renamed


@pytest.mark.parametrize("answer, message", [
    (remap_in_place, "`remap_keys` changed the dictionary it was given: build and return a new dictionary"),
    (remap_first_prefix, "Your dictionary has 'encoder0.weight' for the saved '10.weight': '10' starts with '1'"),
    (remap_last_prefix, "starts with '1', but it is another layer. Compare the whole module name"),
    (remap_at_last_dot, "Your dictionary still has '11.0.weight', although its module '11' is in `mapping`"),
])
def test_q2_more_wrong(answer, message):
    assert_check_failed(ex.q2, answer, match=message)


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
    (zero_instead_of_freeze, "No parameter has `requires_grad == False` after your function ran"),
])
def test_q3_more_wrong(answer, message):
    assert_check_failed(ex.q3, answer, match=message)
