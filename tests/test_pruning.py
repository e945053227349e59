"""The reference pruning methods: exact sparsity, the right entries, biases untouched, both frameworks."""
import numpy as np
import pytest
import torch
import torch.nn.utils.prune

import prunerl
from prunerl import metrics, pruning


@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9, 0.99])
def test_global_magnitude_prunes_the_smallest_pooled(sparsity):
    model = prunerl.load_agent("cartpole-dqn")
    before = metrics.prunable_weights(model)
    biases = {k: v.clone() for k, v in model.state_dict().items() if k.endswith("bias")}
    masks = pruning.prune(model, "global_magnitude", sparsity)
    after = metrics.prunable_weights(model)
    pooled = np.concatenate([np.abs(w).ravel() for w in before.values()])
    assert metrics.sparsity(model) == pytest.approx(round(sparsity * pooled.size) / pooled.size)
    kept = np.concatenate([np.abs(before[n][masks[n]]) for n in before])
    dropped = np.concatenate([np.abs(before[n][~masks[n]]) for n in before])
    if dropped.size and kept.size:
        assert dropped.max() <= kept.min()
    for n in before:
        np.testing.assert_array_equal(after[n][masks[n]], before[n][masks[n]])  # survivors untouched
    for k, v in biases.items():
        assert torch.equal(model.state_dict()[k], v), f"{k} changed"


def test_global_matches_torch_prune_global_unstructured():
    model, reference = prunerl.load_agent("acrobot-dqn"), prunerl.load_agent("acrobot-dqn")
    pruning.prune(model, "global_magnitude", 0.8)
    layers = [(m, "weight") for m in reference if isinstance(m, torch.nn.Linear)]
    torch.nn.utils.prune.global_unstructured(layers, torch.nn.utils.prune.L1Unstructured, amount=0.8)
    for (layer, _), name in zip(layers, metrics.prunable_weights(model)):
        np.testing.assert_array_equal(metrics.prunable_weights(model)[name] == 0, layer.weight.detach().numpy() == 0)


def test_layerwise_gives_each_layer_the_target():
    model = prunerl.load_agent("lunarlander-ppo")
    pruning.prune(model, "layerwise_magnitude", 0.7)
    for name, s in metrics.layer_sparsity(model).items():
        assert s == pytest.approx(0.7, abs=1 / metrics.prunable_weights(model)[name].size), name


def test_random_depends_on_seed_only():
    a, b, c = (prunerl.load_agent("cartpole-dqn") for _ in range(3))
    ma, mb, mc = (pruning.prune(m, "random", 0.5, seed=s) for m, s in ((a, 1), (b, 1), (c, 2)))
    assert all(np.array_equal(ma[n], mb[n]) for n in ma) and not all(np.array_equal(ma[n], mc[n]) for n in ma)


def test_l1_structured_removes_whole_hidden_units_only():
    model = prunerl.load_agent("cartpole-dqn")
    rows = model[0].weight.detach().abs().sum(1).numpy()
    masks = pruning.prune(model, "l1_structured", 0.5)
    zero_rows = np.flatnonzero(~masks["0.weight"].all(axis=1))
    assert len(zero_rows) == 128 and set(zero_rows) == set(np.argsort(rows, kind="stable")[:128])
    assert masks["4.weight"].all(), "the output layer keeps every action"


def test_l1_structured_same_units_in_keras(keras):
    torch_model, keras_model = prunerl.load_agent("minigrid-ppo"), prunerl.load_agent("minigrid-ppo", "tensorflow")
    tm = pruning.prune(torch_model, "l1_structured", 0.25)
    km = pruning.prune(keras_model, "l1_structured", 0.25)
    for (tn, t), (kn, k) in zip(tm.items(), km.items()):
        expected = t.T if t.ndim == 2 else t.transpose(2, 3, 1, 0)
        np.testing.assert_array_equal(k, expected, err_msg=f"{tn} vs {kn}")


def test_polynomial_schedule_matches_zhu_and_gupta():
    s = lambda t: pruning.polynomial_sparsity(t, 0.1, 0.9, 100, 1100)  # noqa: E731
    assert s(0) == pytest.approx(0.1) and s(100) == pytest.approx(0.1)
    assert s(600) == pytest.approx(0.9 + (0.1 - 0.9) * 0.5 ** 3)
    assert s(1100) == pytest.approx(0.9) and s(5000) == pytest.approx(0.9)
    with pytest.raises(ValueError):
        pruning.polynomial_sparsity(0, 0, 0.5, 10, 10)


def test_gradual_prune_ends_at_target_with_masks_held():
    from prunerl.recipes import gradual_prune  # it trains, so it lives beside the trainers, not in pruning

    model = prunerl.load_agent("cartpole-dqn")
    gradual_prune(model, "CartPole-v1", 0.9, steps=1_200, seed=0)
    assert metrics.sparsity(model) == pytest.approx(0.9, abs=1e-4)


def test_bad_arguments():
    model = prunerl.load_agent("cartpole-dqn")
    with pytest.raises(ValueError, match="unknown strategy"):
        pruning.prune(model, "magic", 0.5)
    with pytest.raises(ValueError, match="sparsity must be in"):
        pruning.prune(model, "global_magnitude", 1.5)


def _weights(name):
    return metrics.prunable_weights(prunerl.load_agent(name))


def test_erk_densities_follow_evci_et_al():
    shapes = {n: w.shape for n, w in _weights("cartpole-dqn").items()}  # 256x4, 256x256, 2x256
    d = pruning.layer_densities(shapes, 0.99, "erk")  # no layer saturates at 99 %
    raw = {n: (s[0] + s[1]) / (s[0] * s[1]) for n, s in shapes.items()}
    eps = 0.01 * 67_072 / sum(raw[n] * np.prod(s) for n, s in shapes.items())
    assert d == pytest.approx({n: eps * raw[n] for n in shapes})
    # At 90 % the small first and last layers would exceed density 1: they stay dense, the middle pays.
    d = pruning.layer_densities(shapes, 0.9, "erk")
    assert d["0.weight"] == d["4.weight"] == 1.0
    assert d["2.weight"] == pytest.approx((0.1 * 67_072 - 1_024 - 512) / 65_536)


@pytest.mark.parametrize("allocation", pruning.ALLOCATIONS)
@pytest.mark.parametrize("ends", pruning.ENDS)
@pytest.mark.parametrize("name, sparsity", [("cartpole-dqn", 0.95), ("minigrid-ppo", 0.9)])
def test_every_allocation_meets_the_network_sparsity(name, sparsity, allocation, ends):
    weights = _weights(name)
    masks = pruning.allocated_masks(weights, sparsity, allocation, ends)
    total = sum(w.size for w in weights.values())
    pruned = sum(int((~m).sum()) for m in masks.values())
    assert pruned / total == pytest.approx(sparsity, abs=len(weights) / total)
    names = list(weights)
    if ends in ("dense_first", "dense_both"):
        assert masks[names[0]].all()
    if ends in ("dense_last", "dense_both"):
        assert masks[names[-1]].all()
    for n, w in weights.items():  # within a tensor, magnitude decides
        if (~masks[n]).any() and masks[n].any():
            assert np.abs(w[~masks[n]]).max() <= np.abs(w[masks[n]]).min(), n


def test_uniform_and_global_allocations_are_the_existing_methods():
    weights = _weights("acrobot-dqn")
    for allocation, scope in (("uniform", "layer"), ("global", "global")):
        a, b = pruning.allocated_masks(weights, 0.8, allocation), pruning.magnitude_masks(weights, 0.8, scope)
        assert all(np.array_equal(a[n], b[n]) for n in weights), allocation


def test_erk_keeps_small_layers_denser_than_global():
    model = prunerl.load_agent("cartpole-dqn")
    pruning.prune(model, "erk", 0.95)
    layers = metrics.layer_sparsity(model)
    assert layers["4.weight"] == 0.0 and layers["0.weight"] < 0.1  # global magnitude: 99.6 % and 91 %
    assert metrics.sparsity(model) == pytest.approx(0.95, abs=1e-4)


def test_erk_same_masks_in_keras(keras):
    tm = pruning.prune(prunerl.load_agent("minigrid-ppo"), "erk", 0.9)
    km = pruning.prune(prunerl.load_agent("minigrid-ppo", "tensorflow"), "erk", 0.9)
    for (tn, t), (kn, k) in zip(tm.items(), km.items()):
        expected = t.T if t.ndim == 2 else t.transpose(2, 3, 1, 0)
        np.testing.assert_array_equal(k, expected, err_msg=f"{tn} vs {kn}")


def test_bad_allocation_arguments():
    weights = _weights("cartpole-dqn")
    with pytest.raises(ValueError, match="allocation must be one of"):
        pruning.allocated_masks(weights, 0.5, "magic")
    with pytest.raises(ValueError, match="ends must be one of"):
        pruning.allocated_masks(weights, 0.5, "erk", "middle")
