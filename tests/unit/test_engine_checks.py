"""The shared checks: each raises Incorrect with a message in the student's terms."""

import pytest
import torch
from torch import nn

from course_utils.exercises import Incorrect, checks


class TwoLayers(nn.Module):
    def __init__(self, n_in=10, hidden=20, n_out=5):
        super().__init__()
        self.fc1 = nn.Linear(n_in, hidden)
        self.fc2 = nn.Linear(hidden, n_out)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class DefinedBackwards(nn.Module):
    """Same network, layers created in the other order and named differently."""

    def __init__(self, n_in=10, hidden=20, n_out=5):
        super().__init__()
        self.last = nn.Linear(hidden, n_out)
        self.first = nn.Linear(n_in, hidden)

    def forward(self, x):
        return self.last(torch.relu(self.first(x)))


class KeepsAList(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [nn.Linear(10, 20), nn.Linear(20, 5)]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


# --- instantiate and call ---------------------------------------------------------------------

def test_instantiate_builds_the_class_with_arguments():
    model = checks.instantiate(TwoLayers, 3, 4, n_out=2)
    assert model.fc2.out_features == 2


@pytest.mark.parametrize("answer, message", [
    (TwoLayers(), "Pass the class itself, not an instance: `check(TwoLayers)`"),
    (5, "Expected a class (an `nn.Module` subclass), got an int."),
    (None, "got None"),
    (int, "`int` does not subclass `nn.Module`"),
])
def test_instantiate_rejects_what_is_not_a_module_class(answer, message):
    with pytest.raises(Incorrect, match=message.replace("(", r"\(").replace(")", r"\)")):
        checks.instantiate(answer)


def test_instantiate_with_the_wrong_signature_names_the_signature():
    with pytest.raises(Incorrect) as wrong:
        checks.instantiate(KeepsAList, 10, 5)
    assert str(wrong.value).startswith("`KeepsAList(...)` cannot be called with (10, 5): too many positional")
    assert "Its signature is ()." in str(wrong.value)


def test_instantiate_notices_a_missing_super_init():
    class ForgotSuper(nn.Module):
        def __init__(self):
            pass

    with pytest.raises(Incorrect, match=r"must call `super\(\).__init__\(\)`"):
        checks.instantiate(ForgotSuper)


def test_call_reports_a_wrong_forward_signature():
    with pytest.raises(Incorrect, match=r"your model cannot be called with \(tensor of shape \(2, 10\), 3\)"):
        checks.call(TwoLayers(), torch.zeros(2, 10), 3, what="your model")


def test_hidden_input_is_repeatable_and_leaves_global_rng_alone():
    torch.manual_seed(1)
    expected = torch.rand(2)
    torch.manual_seed(1)
    assert torch.equal(checks.hidden_input(3, 4), checks.hidden_input(3, 4))
    assert torch.equal(torch.rand(2), expected)
    assert not torch.equal(checks.hidden_input(3, 4), checks.hidden_input(3, 4, seed=1))


# --- shapes and values ------------------------------------------------------------------------

def test_expect_shape_and_close():
    checks.expect_shape(torch.zeros(2, 3), (2, 3))
    with pytest.raises(Incorrect, match=r"^The output has shape \(3,\); expected \(2, 3\)\.$"):
        checks.expect_shape(torch.zeros(3), (2, 3))
    with pytest.raises(Incorrect, match="Expected your answer to be a tensor, got a list."):
        checks.expect_tensor([1, 2])
    with pytest.raises(Incorrect, match=r"differs from the expected values \(largest difference 0.5\)"):
        checks.expect_close(torch.tensor([1.0, 2.5]), torch.tensor([1.0, 2.0]))
    with pytest.raises(Incorrect, match="has dtype torch.int64; expected torch.float32"):
        checks.expect_close(torch.tensor([1, 2]), torch.tensor([1.0, 2.0]))


# --- parameters -------------------------------------------------------------------------------

def test_parameter_count_and_breakdown():
    model = TwoLayers()
    assert checks.parameter_count(model) == 325
    assert checks.parameter_breakdown(model) == "fc1 (Linear): 220, fc2 (Linear): 105"
    checks.expect_parameter_count(model, 325)
    with pytest.raises(Incorrect, match="has 325 registered parameters; expected 300. Where yours are: fc1"):
        checks.expect_parameter_count(model, 300)


def test_parameters_in_a_plain_list_are_named():
    assert checks.unregistered_modules(KeepsAList()) == ["layers"]
    with pytest.raises(Incorrect, match=r"plain Python list or dict \(`self.layers`\) are not registered"):
        checks.expect_parameter_count(KeepsAList(), 325)
    assert checks.unregistered_modules(TwoLayers()) == []


def test_a_plain_list_that_only_aliases_registered_layers_is_harmless():
    class Aliases(TwoLayers):
        def __init__(self):
            super().__init__()
            self.steps = [self.fc1, self.fc2]  # PyTorch already sees both layers

    assert checks.unregistered_modules(Aliases()) == []
    checks.expect_parameter_count(Aliases(), 325)


def test_a_hidden_list_inside_a_child_is_named_with_its_path():
    outer = nn.Module()
    outer.body = KeepsAList()
    assert checks.unregistered_modules(outer) == ["body.layers"]


def test_copy_weights_matches_by_shape_when_order_differs():
    reference, other = TwoLayers(), DefinedBackwards()
    checks.copy_weights(reference, other)
    x = checks.hidden_input(4, 10)
    assert torch.allclose(reference(x), other(x))
    with pytest.raises(Incorrect, match=r"No parameter of shape \(20, 10\) in your module"):
        checks.copy_weights(reference, TwoLayers(10, 21, 5))


def test_copy_weights_pairs_equal_shapes_in_registration_order_and_copies_buffers():
    source = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 4))
    source[1].running_mean.fill_(3.0)
    target = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 4))
    checks.copy_weights(source, target)
    assert torch.equal(target[0].weight, source[0].weight) and torch.equal(target[2].weight, source[2].weight)
    assert torch.equal(target[1].running_mean, torch.full((4,), 3.0))


# --- plain values: an answer cannot lie its way through a comparison ----------------------------

class LyingTensor(torch.Tensor):
    """Says True to every comparison a check could make."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.allclose, torch.Tensor.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


class AlwaysEqual(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


def test_plain_turns_subclasses_into_the_builtin_types():
    liar = torch.zeros(3).as_subclass(LyingTensor)
    assert torch.allclose(liar, torch.ones(3))                       # the lie works on torch itself
    assert type(checks.plain(liar)) is torch.Tensor
    assert type(checks.plain(AlwaysEqual(3))) is int and checks.plain(AlwaysEqual(3)) == 3
    assert type(checks.plain(type("F", (float,), {})(2.5))) is float
    assert checks.plain(True) is True
    assert [type(v) for v in checks.plain([liar, (AlwaysEqual(1),)])] == [torch.Tensor, tuple]
    assert checks.plain("text") == "text"


def test_plain_keeps_the_autograd_link():
    parameter = nn.Parameter(torch.ones(2))
    (checks.plain(parameter) * 3).sum().backward()
    assert torch.equal(parameter.grad, torch.full((2,), 3.0))


def test_comparisons_refuse_a_lying_tensor():
    liar = torch.zeros(3).as_subclass(LyingTensor)
    assert not checks.close(liar, torch.ones(3)) and not checks.equal(liar, torch.ones(3))
    assert checks.close(liar, torch.zeros(3))
    with pytest.raises(Incorrect, match="differs from the expected values"):
        checks.expect_close(liar, torch.ones(3))


def test_comparisons_do_not_use_a_patched_torch_allclose(monkeypatch):
    monkeypatch.setattr(torch, "allclose", lambda *args, **kwargs: True)
    monkeypatch.setattr(torch, "equal", lambda *args, **kwargs: True)
    assert not checks.close(torch.zeros(3), torch.ones(3))
    assert not checks.equal(torch.zeros(3), torch.ones(3))


def test_expect_int_refuses_floats_tensors_and_numpy_but_unwraps_int_subclasses():
    assert type(checks.expect_int(AlwaysEqual(7))) is int
    for value, message in [(7.0, "returned a float"), (torch.tensor(7), "returned a tensor"), (True, "returned a bool")]:
        with pytest.raises(Incorrect, match=message):
            checks.expect_int(value, "`count`")


def test_close_and_equal_compare_shape_dtype_and_values():
    a = torch.ones(2, 3)
    assert checks.close(a, a + 1e-7) and not checks.close(a, a + 1e-2)
    assert not checks.close(a.reshape(3, 2), a) and not checks.close(a.double(), a)
    assert not checks.close([1.0], a) and not checks.equal(None, a)
    assert checks.equal(a, a.clone()) and not checks.equal(a, a + 1e-7)


# --- what the answer is ---------------------------------------------------------------------------

@pytest.mark.parametrize("answer, message", [
    (nn.Linear(2, 2), "You passed a module (a Linear); pass your function `f` itself."),
    (nn.Linear, "Pass the function `f` (defined with `def`), not the class Linear."),
    (3, "Pass the function `f` (defined with `def`), not an int."),
])
def test_expect_function(answer, message):
    checks.expect_function(lambda x: x, "f")
    with pytest.raises(Incorrect, match=message.replace("(", r"\(").replace(")", r"\)")):
        checks.expect_function(answer, "f")


def test_instantiate_names_the_line_that_assigned_before_super_init():
    class Forgetful(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(Incorrect, match=r"before it assigns a layer: .*\(At test_engine_checks.py, line \d+, in __init__: "
                                        r"`self.fc = nn.Linear\(2, 2\)`\)"):
        checks.instantiate(Forgetful)


def test_unregistered_tensors_are_named():
    model = nn.Linear(2, 2)
    model.scale = torch.ones(2)
    model.register_buffer("kept", torch.zeros(2))
    assert checks.unregistered_tensors(model) == ["scale"]


# --- structure --------------------------------------------------------------------------------

def test_modules_of_type_and_expect_submodules():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert [name for name, _ in checks.modules_of_type(model, nn.Linear)] == ["0", "2"]
    checks.expect_submodules(model, nn.ReLU, count=1)
    with pytest.raises(Incorrect, match=r"Expected 3 registered `nn.Linear` layers; found 2 \(0, 2\)"):
        checks.expect_submodules(model, nn.Linear, count=3)
    with pytest.raises(Incorrect, match=r"at least 2 registered `nn.Tanh` layers; found 0 \(none\)"):
        checks.expect_submodules(model, nn.Tanh, at_least=2)


def test_autograd_ops_see_add_and_cat():
    layer = nn.Linear(3, 3)
    x = torch.ones(2, 3)
    assert "AddBackward0" in checks.autograd_ops(layer(x) + x)
    assert "CatBackward0" in checks.autograd_ops(torch.cat([layer(x), layer(x)], dim=1))
    assert "AddBackward0" not in checks.autograd_ops(layer(x) * 2)


def test_optimizer_must_know_every_parameter():
    model = nn.Sequential(nn.Linear(2, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    checks.expect_optimizer_covers(optimizer, model)
    model.append(nn.Linear(2, 2))
    with pytest.raises(Incorrect, match=r"does not know 2 parameters of the model \(1.weight, 1.bias\)"):
        checks.expect_optimizer_covers(optimizer, model)


def test_copy_weights_by_shape_ignores_names_and_order():
    source = TwoLayers()
    target = nn.Sequential()
    target.add_module("second", nn.Linear(20, 5))
    target.add_module("first", nn.Linear(10, 20))
    checks.copy_weights_by_shape(source, target)
    assert torch.equal(target.first.weight, source.fc1.weight)
    assert torch.equal(target.second.bias, source.fc2.bias)


def test_copy_weights_by_shape_matches_a_scalar_of_either_shape():
    source, target = nn.Module(), nn.Module()
    source.alpha = nn.Parameter(torch.tensor(0.25))
    target.alpha = nn.Parameter(torch.zeros(1))
    checks.copy_weights_by_shape(source, target)
    assert target.alpha.item() == 0.25


def test_copy_weights_by_shape_names_the_missing_shape():
    with pytest.raises(Incorrect, match=r"No parameter of shape \(20, 10\) in your module"):
        checks.copy_weights_by_shape(TwoLayers(), nn.Linear(3, 3))
