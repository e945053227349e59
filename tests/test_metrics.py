"""Metrics count what they say, identically for torch and Keras."""
import numpy as np
import pytest
import torch

import prunerl
from prunerl import metrics, pruning


def test_mlp_counts_by_hand():
    model = prunerl.load_agent("cartpole-dqn")  # 4-256-256-2
    assert metrics.count_params(model)["total"] == 4 * 256 + 256 + 256 * 256 + 256 + 256 * 2 + 2
    assert metrics.count_params(model)["prunable"] == 4 * 256 + 256 * 256 + 256 * 2
    assert metrics.flops(model) == 2 * (4 * 256 + 256 * 256 + 256 * 2)
    assert metrics.dense_bytes(model) == 4 * metrics.count_params(model)["total"]
    assert metrics.sparsity(model) == 0.0


def test_conv_flops_by_hand():
    model = prunerl.load_agent("minigrid-ppo")  # 7x7x3 -> conv2x2 16 -> conv2x2 32 -> 800 -> 64 -> 7
    macs = 6 * 6 * 16 * (3 * 2 * 2) + 5 * 5 * 32 * (16 * 2 * 2) + 800 * 64 + 64 * 7
    assert metrics.flops(model) == 2 * macs


def test_sparsity_ignores_biases_and_counts_exact_zeros():
    model = prunerl.load_agent("cartpole-dqn")
    with torch.no_grad():
        model[0].bias.zero_()
        model[2].weight[:128].zero_()  # half of the middle layer: 32,768 of 67,072 prunable weights
    assert metrics.sparsity(model) == pytest.approx(32_768 / 67_072)
    assert metrics.layer_sparsity(model) == {"0.weight": 0.0, "2.weight": 0.5, "4.weight": 0.0}
    counts = metrics.count_params(model)
    assert counts["nonzero"] == counts["total"] - 32_768 - 256
    assert metrics.dense_bytes(model) == 4 * counts["total"], "zeros stored densely cost as much as any value"


def test_nonzero_flops_follow_the_mask():
    model = prunerl.load_agent("cartpole-dqn")
    pruning.prune(model, "layerwise_magnitude", 0.75)
    assert metrics.flops(model, nonzero_only=True) == pytest.approx(0.25 * metrics.flops(model), rel=1e-3)


@pytest.mark.parametrize("name", ["cartpole-dqn", "minigrid-ppo"])
def test_frameworks_agree(name, keras):
    torch_model, keras_model = prunerl.load_agent(name), prunerl.load_agent(name, "tensorflow")
    pruning.prune(torch_model, "global_magnitude", 0.6)
    pruning.prune(keras_model, "global_magnitude", 0.6)
    torch_summary, keras_summary = metrics.summary(torch_model), metrics.summary(keras_model)
    assert torch_summary == pytest.approx(keras_summary)
    assert list(metrics.layer_sparsity(torch_model).values()) == pytest.approx(
        list(metrics.layer_sparsity(keras_model).values()))


def test_latency_is_a_positive_median():
    calls = []
    seconds = metrics.latency(lambda: calls.append(1), warmup=3, repeats=5, number=2)
    assert seconds > 0 and len(calls) == 3 + 5 * 2


def test_non_models_are_refused():
    with pytest.raises(TypeError, match="torch module or a Keras model"):
        metrics.sparsity(np.zeros(3))


def test_storage_formats_by_hand():
    w = np.zeros((4, 8), np.float32)
    w[0, :3] = 1.0
    assert metrics.csr_tensor_bytes(w) == 3 * (4 + 4) + (4 + 1) * 4  # values + column indices + row pointers
    assert metrics.bitmask_tensor_bytes(w) == 3 * 4 + 32 // 8


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_model_storage_in_each_format(framework, keras):
    model = prunerl.load_agent("cartpole-dqn", framework)
    biases = (256 + 256 + 2) * 4
    dense = metrics.storage_bytes(model)
    assert dense["dense"] == metrics.dense_bytes(model)
    assert dense["csr"] == biases + sum(w.size * 8 + (rows + 1) * 4 for w, rows in
                                        zip(metrics.prunable_weights(model).values(), (256, 256, 2)))
    pruning.prune(model, "global_magnitude", 0.9)
    nnz = metrics.count_params(model)["prunable_nonzero"]
    pruned = metrics.storage_bytes(model)
    assert pruned["dense"] == dense["dense"], "zeros stored densely cost as much as any value"
    assert pruned["csr"] == biases + nnz * 8 + (257 + 257 + 3) * 4
    bits = sum(w.size for w in metrics.prunable_weights(model).values())
    assert pruned["bitmask"] == biases + nnz * 4 + bits // 8
