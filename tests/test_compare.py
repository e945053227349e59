"""`prunerl compare`: every strategy x sparsity, honest sparsity, dense baseline, determinism, outputs, errors."""
import numpy as np
import pandas as pd
import pytest

import prunerl
from prunerl import compare as cmp
from prunerl.cli import main

STRATEGIES = list(cmp.STRATEGIES)
SPARSITIES = [0.0, 0.5, 0.9]
SEEDS = [0, 1]
EPISODES = 2
STEPS = 300  # gradual: one DQN update burst on CartPole (128 optimizer steps)


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    return cmp.compare("cartpole-dqn", "torch", STRATEGIES, SPARSITIES, SEEDS, EPISODES, STEPS)


def test_tidy_frame_has_one_row_per_strategy_sparsity_seed(runs):
    assert len(runs) == len(STRATEGIES) * len(SPARSITIES) * len(SEEDS)
    combos = set(zip(runs["strategy"], runs["target_sparsity"], runs["seed"]))
    assert combos == {(st, sp, se) for st in STRATEGIES for sp in SPARSITIES for se in SEEDS}
    for col in ["mean_return", "sparsity", "nonzero_params", "dense_bytes", "csr_bytes", "flops", "nonzero_flops"]:
        assert runs[col].notna().all(), col


def test_summary_has_every_strategy_and_sparsity_with_an_interval(runs):
    summary = cmp.summarize(runs)
    assert set(zip(summary["strategy"], summary["target_sparsity"])) == {
        (st, sp) for st in STRATEGIES for sp in SPARSITIES}
    assert (summary["seeds"] == len(SEEDS)).all()
    assert (summary["ci_low"] <= summary["mean_return"] + 1e-9).all()
    assert (summary["mean_return"] <= summary["ci_high"] + 1e-9).all()


def test_achieved_sparsity_matches_the_target(runs):
    pruned = runs[runs["target_sparsity"] > 0]
    exact = pruned[pruned["strategy"].isin(["random", "layerwise_magnitude", "global_magnitude", "gradual"])]
    np.testing.assert_allclose(exact["sparsity"], exact["target_sparsity"], atol=1e-3)
    # Structured: a fraction of hidden units; the output layer is kept, so slightly below the target.
    structured = pruned[pruned["strategy"] == "l1_structured"]
    assert ((structured["sparsity"] <= structured["target_sparsity"])
            & (structured["sparsity"] > structured["target_sparsity"] - 0.02)).all()
    # Fewer non-zeros -> fewer non-zero FLOPs and CSR bytes; the dense figures do not move.
    dense = runs[runs["target_sparsity"] == 0].iloc[0]
    assert (pruned["nonzero_params"] < dense["nonzero_params"]).all()
    assert (pruned["nonzero_flops"] < dense["nonzero_flops"]).all()
    assert (pruned["csr_bytes"] < dense["csr_bytes"]).all()
    assert (runs["dense_bytes"] == dense["dense_bytes"]).all() and (runs["flops"] == dense["flops"]).all()


def test_sparsity_zero_is_the_dense_agent_on_the_same_episodes(runs):
    model = prunerl.load_agent("cartpole-dqn")
    for seed in SEEDS:
        dense = prunerl.evaluate(model, "CartPole-v1", EPISODES, cmp.episode_seed(seed)).mean
        rows = runs[(runs["target_sparsity"] == 0) & (runs["seed"] == seed)]
        assert len(rows) == len(STRATEGIES)
        assert (rows["mean_return"] == dense).all()
        assert (rows["sparsity"] == 0).all() and (rows["finetune_steps"] == 0).all()


def test_a_fixed_seed_is_deterministic(runs):
    for strategy in ["random", "gradual"]:
        again = cmp.run_one("cartpole-dqn", strategy, 0.5, 1, episodes=EPISODES, finetune_steps=STEPS)
        row = runs[(runs["strategy"] == strategy) & (runs["target_sparsity"] == 0.5) & (runs["seed"] == 1)].iloc[0]
        assert again["mean_return"] == row["mean_return"]
        assert again["sparsity"] == row["sparsity"] and again["nonzero_params"] == row["nonzero_params"]
    # ... while the seed does drive the random mask.
    a, b = (prunerl.load_agent("cartpole-dqn") for _ in range(2))
    mask_a = prunerl.pruning.prune(a, "random", 0.5, seed=0)
    mask_b = prunerl.pruning.prune(b, "random", 0.5, seed=1)
    assert not np.array_equal(mask_a["2.weight"], mask_b["2.weight"])


def test_t_interval():
    mean, low, high = cmp.t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert high - mean == pytest.approx(4.302653 / np.sqrt(3), rel=1e-6)  # t(0.975, df=2) * s / sqrt(n)
    assert mean - low == pytest.approx(high - mean)
    assert np.isnan(cmp.t_interval([5.0])[1])


def test_csv_and_png_are_written(runs, tmp_path):
    paths = cmp.write_outputs(runs, tmp_path / "out", title="test")
    back = pd.read_csv(paths["results"])
    assert len(back) == len(runs) and list(back.columns) == list(runs.columns)
    assert len(pd.read_csv(paths["summary"])) == len(STRATEGIES) * len(SPARSITIES)
    with open(paths["plot"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_cli_prints_the_table_and_writes_outputs(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["compare", "--strategies", "random,global_magnitude", "--sparsities", "0", "0.8", "--seeds", "3",
                 "--episodes", "1", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "global_magnitude" in printed and "95% CI" in printed and "CSR KiB" in printed
    assert (out / "results.csv").exists() and (out / "summary.csv").exists() and (out / "compare.png").exists()


@pytest.mark.parametrize("argv, message", [
    (["--agent", "no-such-agent"], "unknown agent"),
    (["--strategies", "magic"], "unknown strategy"),
    (["--framework", "jax"], "unknown framework"),
    (["--sparsities", "1.5"], "sparsity must be in [0, 1)"),
    (["--sparsities", "half"], "bad --sparsities"),
    (["--episodes", "0"], "episodes must be at least 1"),
])
def test_bad_input_is_a_clear_error_and_a_nonzero_exit(argv, message, capsys, tmp_path):
    assert main(["compare", *argv, "--out", str(tmp_path)]) != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "results.csv").exists()


def test_library_raises_compare_error():
    with pytest.raises(cmp.CompareError, match="unknown strategy"):
        cmp.compare(strategies=["magic"])
    with pytest.raises(cmp.CompareError, match="unknown agent"):
        cmp.compare(agent="nope")


def test_readme_quotes_the_benchmark_figures():
    """Every speed-up or size ratio quoted in the README's compare section is in bench/RESULTS.md."""
    import re
    from pathlib import Path

    root = Path(__file__).parents[1]
    readme = (root / "README.md").read_text()
    section = readme.split("<!-- section: compare", 1)[1].split("\n## ", 1)[0]
    results = (root / "bench" / "RESULTS.md").read_text()
    quoted = re.findall(r"(\d+\.\d+)×", section)
    assert len(quoted) > 10, "the compare section should quote benchmark ratios"
    for number in quoted:
        assert number in results, number
    assert (root / "docs" / "compare_cartpole.png").exists()


def test_tensorflow_agent_gives_the_same_table(keras):
    args = dict(strategies=["global_magnitude", "l1_structured"], sparsities=[0.0, 0.5], seeds=[0], episodes=2)
    tf_runs = cmp.compare("cartpole-dqn", "tensorflow", **args)
    torch_runs = cmp.compare("cartpole-dqn", "torch", **args)
    for col in ["mean_return", "sparsity", "nonzero_params", "dense_bytes", "csr_bytes", "flops", "nonzero_flops"]:
        np.testing.assert_allclose(tf_runs[col].to_numpy(float), torch_runs[col].to_numpy(float), err_msg=col)
