"""The hidden checks of the exercises accept the reference solutions and reject known-wrong functions.

The reference solutions are the solution cells of ``autograder/sources/<assignment>.py``, run (with the locked
set-up cell) in a fresh namespace; the wrong functions are the bugs learners actually write.
"""
from __future__ import annotations

import copy
from pathlib import Path

import jupytext
import numpy as np
import pytest

SOURCES = Path(__file__).resolve().parents[1] / "autograder" / "sources"


def solutions(assignment: str) -> dict:
    """Run the set-up cell and every solution cell of an exercise source; return the namespace."""
    nb = jupytext.read(SOURCES / f"{assignment}.py")
    namespace: dict = {"__name__": f"solutions_{assignment}"}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("grade_id") == "setup" or meta.get("solution")):
            exec(compile(cell.source, f"{assignment}:{meta.get('grade_id')}", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.fixture(scope="module")
def checks():
    from prunerl.grading import checks

    checks.setup("torch")
    return checks


@pytest.fixture(scope="module")
def ex1(checks):
    return solutions("ex1_threshold_torch")


def test_threshold_checks_accept_reference(checks, ex1):
    for check in (checks.threshold_keys, checks.threshold_masks, checks.threshold_zeroes, checks.threshold_ties,
                  checks.threshold_biases, checks.threshold_conv):
        check(ex1["threshold_prune"])
    checks.global_threshold(ex1["global_threshold"])


def test_threshold_checks_reject_ge_and_biases(checks, ex1):
    import torch

    def keeps_ties(model, threshold):
        masks = {}
        with torch.no_grad():
            for name, m in model.named_modules():
                if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                    keep = m.weight.abs() >= threshold
                    m.weight.mul_(keep)
                    masks[f"{name}.weight"] = keep.numpy()
        return masks

    def prunes_biases(model, threshold):
        masks = ex1["threshold_prune"](model, threshold)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith("bias"):
                    p.mul_(p.abs() > threshold)
        return masks

    checks.threshold_masks(keeps_ties)  # no ties in real weights: only the tie check can see this bug
    with pytest.raises(AssertionError, match="== threshold were kept"):
        checks.threshold_ties(keeps_ties)
    with pytest.raises(AssertionError, match="biases must be left untouched"):
        checks.threshold_biases(prunes_biases)
    checks.threshold_zeroes(prunes_biases)


def test_global_threshold_rejects_layerwise(checks):
    import torch

    def layerwise(model, sparsity):
        return float(np.mean([torch.quantile(m.weight.detach().abs().flatten(), sparsity).item()
                              for m in model.modules() if isinstance(m, torch.nn.Linear)]))

    with pytest.raises(AssertionError, match="all layers pooled"):
        checks.global_threshold(layerwise)


def test_reference_calls_trip(checks):
    import prunerl

    def cheat(model, threshold):
        masks = {n: np.abs(w) > threshold for n, w in prunerl.metrics.prunable_weights(model).items()}
        prunerl.pruning.apply_masks(model, masks)
        return masks

    with pytest.raises(AssertionError, match="prunerl.pruning.apply_masks"):
        checks.threshold_keys(cheat)
    # the tripwires are gone afterwards: the reference works again
    net = prunerl.load_agent("cartpole-dqn")
    prunerl.pruning.prune(net, "global_magnitude", 0.5)
    assert abs(prunerl.metrics.sparsity(net) - 0.5) < 1e-4


def test_structured_checks(checks):
    import torch

    ns = solutions("ex2_structured_torch")
    checks.scores_mlp(ns["neuron_scores"])
    checks.scores_conv(ns["neuron_scores"])
    for check in (checks.prune_shapes, checks.prune_which, checks.prune_outputs, checks.prune_input_unchanged,
                  checks.prune_conv_shapes, checks.prune_conv_outputs):
        check(ns["prune_neurons"])

    def zeroes(model, layer, n):
        new = copy.deepcopy(model)
        module = [m for m in new.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))][layer]
        gone = torch.as_tensor(np.argsort(ns["neuron_scores"](model, layer), kind="stable")[:n])
        with torch.no_grad():
            module.weight[gone] = 0
            module.bias[gone] = 0
        return new

    with pytest.raises(AssertionError, match="removed, not zeroed"):
        checks.prune_shapes(zeroes)
    checks.prune_outputs(zeroes)
    checks.prune_which(zeroes)


def test_sparse_checks(checks):
    ns = solutions("ex3_sparsify_torch")
    checks.to_csr(ns["to_csr"])
    checks.to_csr_edge(ns["to_csr"])
    checks.csr_matmul(ns["csr_matmul"])
    checks.sparsify_format(ns["sparsify"])
    checks.sparsify_outputs(ns["sparsify"])
    checks.storage_bytes(ns["storage_bytes"], ns["sparsify"])

    def off_by_one(matrix):
        values, cols, ptr = ns["to_csr"](matrix)
        return values, cols, ptr[1:]

    with pytest.raises(AssertionError, match="row_ptr"):
        checks.to_csr(off_by_one)


def test_sweep_and_finetune_checks(checks):
    import torch

    import prunerl

    ns = solutions("ex4_prune_agent_torch")
    for check in (checks.sweep_table, checks.sweep_sparsity, checks.sweep_returns, checks.sweep_unchanged):
        check(ns["sparsity_sweep"])

    def cumulative(agent, env_id, sparsities, episodes, seed):
        import pandas as pd

        pruned, rows = copy.deepcopy(agent), []
        for s in sparsities:
            ns["global_magnitude_prune"](pruned, s)
            r = prunerl.evaluate(pruned, env_id, episodes=episodes, seed=seed)
            rows.append({"sparsity": s, "achieved_sparsity": prunerl.metrics.sparsity(pruned),
                         "mean_return": r.mean, "std_return": r.std})
        return pd.DataFrame(rows)

    with pytest.raises(AssertionError, match="achieved_sparsity"):
        checks.sweep_sparsity(cumulative)
    checks.sweep_returns(cumulative)

    def fake_evaluate(agent, env_id, sparsities, episodes, seed):
        prunerl.evaluate = lambda *a, **k: None
        return ns["sparsity_sweep"](agent, env_id, sparsities, episodes, seed)

    with pytest.raises(AssertionError, match="replaced"):
        checks.sweep_table(fake_evaluate)
    assert "evaluate" not in vars(prunerl)  # the check put the original back

    def not_held(agent, masks, env_id, steps, seed):
        with torch.no_grad():
            for name, p in agent.named_parameters():
                if name in masks:
                    p.mul_(torch.as_tensor(masks[name]))
        prunerl.finetune(agent, env_id, steps, seed=seed)
        return agent

    checks.finetune_masks(ns["finetune_pruned"])
    checks.finetune_trains(ns["finetune_pruned"])
    with pytest.raises(AssertionError, match="re-apply the masks"):
        checks.finetune_masks(not_held)


def test_compare_checks(checks):
    ns = solutions("ex5_compare_torch")
    checks.schedule(ns["polynomial_sparsity"])
    checks.schedule_hold(ns["polynomial_sparsity"])
    for check in (checks.prune_random, checks.prune_layerwise, checks.prune_global, checks.prune_structured):
        check(ns["prune"])
    checks.compare_table(ns["compare_strategies"], ns["prune"])
    checks.compare_gradual(ns["compare_strategies"])
    checks.plot(ns["plot_comparison"])

    with pytest.raises(AssertionError, match="expected"):
        checks.schedule(lambda step, i, f, b, e, power=3: ns["polynomial_sparsity"](step, i, f, b, e, power=2))

    def layerwise_as_global(agent, strategy, sparsity, seed=0):
        return ns["prune"](agent, "layerwise_magnitude" if strategy == "global_magnitude" else strategy, sparsity, seed)

    with pytest.raises(AssertionError, match="one threshold for all layers"):
        checks.prune_global(layerwise_as_global)

    def one_shot_gradual(agent, env_id, strategies, sparsities, seeds, episodes, gradual_steps=2000):
        strategies = ["global_magnitude" if s == "gradual" else s for s in strategies]
        df = ns["compare_strategies"](agent, env_id, strategies, sparsities, seeds, episodes)
        df["strategy"] = df["strategy"].replace({"global_magnitude": "gradual"})
        return df

    with pytest.raises(AssertionError, match="prunerl.finetune"):
        checks.compare_gradual(one_shot_gradual)


def test_tensorflow_track_threshold(checks):
    ns = solutions("ex1_threshold_tf")
    try:
        checks.threshold_biases(ns["threshold_prune"])
        checks.global_threshold(ns["global_threshold"])

        def get_weights_bug(model, threshold):
            import keras

            masks = {}
            for layer in model.layers:
                if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
                    arrays = layer.get_weights()
                    masks[f"{layer.name}/kernel"] = np.abs(arrays[0]) > threshold
                    layer.set_weights([np.where(np.abs(a) > threshold, a, 0) for a in arrays])
            return masks

        with pytest.raises(AssertionError, match="biases must be left untouched"):
            checks.threshold_biases(get_weights_bug)
    finally:
        checks.setup("torch")
