"""shrink(): a unit-pruned network rebuilt without its dead units computes the same function, smaller."""
import numpy as np
import pytest
import torch

import prunerl
from prunerl import pruning
from prunerl.nets import build_torch
from prunerl.specs import conv_spec, mlp_spec
from prunerl.structured import hidden_units, shrink

CASES = [(mlp_spec(4, [64, 64], 2), (4,)), (mlp_spec(8, [32, 32], 4, "tanh"), (8,)),
         (conv_spec([7, 7, 3], [16, 32], 2, 64, 7), (7, 7, 3))]


def random_net(spec, seed=0):
    torch.manual_seed(seed)
    net = build_torch(spec).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.3)  # biases far from zero: dead units' constant outputs matter
    return net


@pytest.mark.parametrize("spec, shape", CASES)
def test_torch_shrink_keeps_outputs(spec, shape):
    net = random_net(spec)
    pruning.prune(net, "l1_structured", 0.5)
    small = shrink(net)
    full = hidden_units(net)
    assert hidden_units(small) == [n // 2 for n in full[:-1]] + [full[-1]]
    x = torch.as_tensor(np.random.default_rng(0).normal(size=(64, *shape)), dtype=torch.float32)
    with torch.no_grad():
        np.testing.assert_allclose(small(x).numpy(), net(x).numpy(), rtol=1e-5, atol=1e-4)
    assert prunerl.metrics.flops(small) < 0.5 * prunerl.metrics.flops(net)


def test_units_with_no_outgoing_weights_are_dropped():
    net = random_net(mlp_spec(4, [16, 16], 2))
    with torch.no_grad():
        net[2].weight[:, :5] = 0  # units 0-4 of the first hidden layer feed nothing
    small = shrink(net)
    assert hidden_units(small) == [11, 16, 2]
    x = torch.randn(32, 4)
    with torch.no_grad():
        np.testing.assert_allclose(small(x).numpy(), net(x).numpy(), rtol=1e-5, atol=1e-5)


def test_zoo_agent_shrinks_and_plays_the_same():
    net = prunerl.load_agent("cartpole-dqn")
    pruning.prune(net, "l1_structured", 0.75)
    small = shrink(net)
    assert hidden_units(small) == [64, 64, 2]
    a = prunerl.evaluate(net, "CartPole-v1", episodes=3, seed=0)
    b = prunerl.evaluate(small, "CartPole-v1", episodes=3, seed=0)
    np.testing.assert_array_equal(a.returns, b.returns)


@pytest.mark.parametrize("spec, shape", [CASES[0], CASES[2]])
def test_keras_shrink_keeps_outputs(keras, spec, shape):
    from prunerl.keras_nets import build_keras

    weights = {k: v.detach().numpy() for k, v in random_net(spec, seed=1).state_dict().items()}
    model = build_keras(spec, weights)
    pruning.prune(model, "l1_structured", 0.5)
    small = shrink(model)
    assert isinstance(small, keras.Model)
    full = hidden_units(model)
    assert hidden_units(small) == [n // 2 for n in full[:-1]] + [full[-1]]
    x = np.random.default_rng(0).normal(size=(64, *shape)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(small(x)), np.asarray(model(x)), rtol=1e-5, atol=1e-4)
