"""bench/bench_wide_pruned.py (Obando-Ceron et al. in miniature): the widened networks, the equal-count arm, and
the comparison that refuses unequal budgets and names a verdict only from paired intervals. No training here."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
_spec = importlib.util.spec_from_file_location("bench_wide_pruned", ROOT / "bench" / "bench_wide_pruned.py")
W = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(W)


def test_widening_scales_channels_and_hidden_units_and_keeps_the_rest():
    from prunerl import zoo

    base, wide = zoo.recipe(W.AGENT), W.widened(4)
    kinds = lambda spec: [layer["kind"] for layer in spec["layers"]]  # noqa: E731
    assert kinds(wide.spec) == kinds(base.spec) and wide.hparams == base.hparams and wide.env_id == base.env_id
    conv, hidden = wide.spec["layers"][0], [layer for layer in wide.spec["layers"] if layer["kind"] == "linear"]
    assert conv["out"] == 64 and hidden[0]["out"] == 512 and hidden[-1]["out"] == 3
    assert W.prunable(1) == 4 * 16 * 9 + 1024 * 128 + 128 * 3  # MinAtar's DQN network, the zoo agent's shape


def test_the_equal_count_arm_keeps_exactly_the_dense_x1_weights():
    import torch

    from prunerl import metrics, nets
    from prunerl.pruning import allocated_masks, apply_masks
    from prunerl.metrics import prunable_weights

    sparsity = W.equal_count_sparsity(4)
    assert 0.93 < sparsity < 0.94
    torch.manual_seed(0)
    net = nets.build_torch(W.widened(4).spec)
    apply_masks(net, allocated_masks(prunable_weights(net), sparsity, "erk", "allocate"))
    assert abs(metrics.count_params(net)["prunable_nonzero"] - W.prunable(1)) <= 3  # rounding per layer
    assert (4, round(sparsity, 4)) in W.arms(W.WIDTHS) and W.arms((1,)) == [(1, 0.0), (1, W.SPARSITY)]


def _rows(returns: dict[tuple[int, float], list[float]], steps: int = 1000) -> list[dict]:
    return [dict(width=w, sparsity=sp, seed=seed, hparams={"total_steps": steps}, prunable_nonzero=100, **{"return": r})
            for (w, sp), values in returns.items() for seed, r in enumerate(values)]


DENSE = [5.0, 6.0, 7.0, 6.5, 5.5]


@pytest.mark.parametrize("wide, expected", [
    ([d + 2 for d in DENSE], "held"),  # every seed's pruned x4 above dense x1
    ([d - 1 for d in DENSE], "not held"),
    ([d + s for d, s in zip(DENSE, (1, -1, 1, -1, 1))], "not shown at this budget"),
])
def test_the_verdict_follows_the_paired_interval_against_dense_x1(wide, expected):
    summary = W.summarize(_rows({(1, 0.0): DENSE, (4, 0.0): DENSE, (4, 0.95): wide}))
    cell = next(c for c in summary["cells"] if c["sparsity"] == 0.95)
    assert cell["vs_dense_x1"]["median_diff"] == pytest.approx(float(np.median(np.subtract(wide, DENSE))))
    assert cell["vs_dense_x1"]["level"] > 0.9 and W.verdict(summary) == expected


def test_unequal_budgets_or_seeds_are_refused():
    rows = _rows({(1, 0.0): DENSE, (2, 0.95): DENSE})
    rows[-1]["hparams"] = {"total_steps": 2000}
    with pytest.raises(ValueError, match="unequal env steps"):
        W.summarize(rows)
    with pytest.raises(ValueError, match="different seeds"):
        W.summarize(_rows({(1, 0.0): DENSE, (2, 0.95): DENSE[:4]}))
