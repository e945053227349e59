"""`prunerl compare`: independent seeds, the median and its order-statistic interval inside the return range, paired
comparisons with the reference, one definition of achieved sparsity, rankings at equal budgets, per-seed plot,
outputs, errors, and the strategy table."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import prunerl
from prunerl import compare as cmp
from prunerl import stats
from prunerl.cli import main
from prunerl.structured import shrink

STRATEGIES = ["random", "layerwise_magnitude", "global_magnitude", "l1_structured", "gradual"]  # the fast ones
SPARSITIES = [0.0, 0.5, 0.9]
SEEDS = [0, 1]
EPISODES = 2
STEPS = 300  # gradual: one DQN update burst on CartPole
DENSE_WEIGHTS = 4 * 256 + 256 * 256 + 256 * 2  # prunable weights of cartpole-dqn (4-256-256-2)


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    """On a pool of two workers: the tests below re-run cells in this process and find the same numbers."""
    return cmp.compare("cartpole-dqn", "torch", STRATEGIES, SPARSITIES, SEEDS, EPISODES, STEPS, jobs=2)


def test_tidy_frame_has_one_row_per_strategy_sparsity_seed(runs):
    assert len(runs) == len(STRATEGIES) * len(SPARSITIES) * len(SEEDS)
    combos = list(zip(runs["strategy"], runs["target_sparsity"], runs["seed"]))
    assert combos == [(st, sp, se) for st in STRATEGIES for sp in SPARSITIES for se in SEEDS]  # in this order
    for col in ["mean_return", "sparsity", "effective_sparsity", "train_steps", "nonzero_params", "dense_bytes",
                "csr_bytes", "flops", "nonzero_flops", "variation"]:
        assert runs[col].notna().all(), col


def test_each_seed_plays_its_own_episodes(runs):
    assert (runs["episode_seed"] == 1000 * runs["seed"]).all()
    model = prunerl.load_agent("cartpole-dqn")
    prunerl.pruning.prune(model, "global_magnitude", 0.5)
    for seed in SEEDS:
        expected = prunerl.evaluate(model, "CartPole-v1", EPISODES, stats.episode_seed(seed)).mean
        row = runs[(runs["strategy"] == "global_magnitude") & (runs["target_sparsity"] == 0.5) & (runs["seed"] == seed)]
        assert row["mean_return"].item() == expected


def test_summary_is_the_median_interval_rate_and_paired_comparison_over_seeds(runs):
    summary = cmp.summarize(runs)
    assert set(zip(summary["strategy"], summary["target_sparsity"])) == {
        (st, sp) for st in STRATEGIES for sp in SPARSITIES}
    assert (summary["seeds"] == len(SEEDS)).all()
    for row in summary.itertuples():
        per_seed = runs[(runs["strategy"] == row.strategy) & (runs["target_sparsity"] == row.target_sparsity)]
        expected = stats.summarize(per_seed["mean_return"], bar=475.0)
        assert (row.median_return, row.ci_low, row.ci_high, row.level, row.reached, row.rate_low) == (
            expected["median"], expected["low"], expected["high"], expected["level"], expected["reached"],
            expected["rate_low"])
        assert per_seed["mean_return"].min() <= row.ci_low <= row.median_return <= row.ci_high
        assert row.ci_high <= per_seed["mean_return"].max() <= 500
        reference = runs[(runs["strategy"] == cmp.REFERENCE) & (runs["target_sparsity"] == row.target_sparsity)]
        if row.target_sparsity == 0 or row.strategy == cmp.REFERENCE:
            assert np.isnan(row.diff_median) and np.isnan(row.p_improvement)
            continue
        paired = stats.paired(per_seed.sort_values("seed")["mean_return"], reference.sort_values("seed")["mean_return"])
        assert (row.diff_median, row.diff_low, row.diff_high, row.p_improvement) == (
            paired["median_diff"], paired["low"], paired["high"], paired["p_improvement"])


def test_deterministic_strategies_are_labelled_episode_noise_only(runs):
    summary = cmp.summarize(runs).set_index(["strategy", "target_sparsity"])
    for strategy in STRATEGIES:
        assert summary.loc[(strategy, 0.0), "variation"] == stats.EPISODE_NOISE  # the dense agent
        expected = stats.EPISODE_NOISE if cmp.REGISTRY[strategy].deterministic else "seeds"
        assert summary.loc[(strategy, 0.9), "variation"] == expected, strategy
    assert summary.loc[("global_magnitude", 0.9), "variation"] == stats.EPISODE_NOISE
    assert summary.loc[("random", 0.9), "variation"] == summary.loc[("gradual", 0.9), "variation"] == "seeds"
    # Fine-tuning makes a magnitude strategy seed-dependent, and its label follows.
    tuned = cmp.run_one("cartpole-dqn", "global_magnitude", 0.5, 0, episodes=1, finetune_steps=STEPS,
                        finetune_oneshot=True)
    assert tuned["variation"] == "seeds" and tuned["finetune_steps"] == STEPS


def test_achieved_sparsity_counts_zero_weights_and_effective_sparsity_dead_ones(runs):
    """One definition of achieved sparsity (zeros among the prunable weights, what exercise 4 counts); the
    effective sparsity also counts weights left dead by removed units."""
    for row in runs[runs["target_sparsity"] > 0].itertuples():
        model = prunerl.load_agent("cartpole-dqn")
        if row.strategy == "gradual":
            continue  # trained: checked through its mask below
        prunerl.pruning.prune(model, row.strategy, row.unit_fraction if row.strategy == "l1_structured"
                              else row.target_sparsity, row.seed)
        assert row.sparsity == prunerl.metrics.sparsity(model)
        nonzero = prunerl.metrics.count_params(shrink(model))["prunable_nonzero"]
        assert row.effective_sparsity == pytest.approx(1 - nonzero / DENSE_WEIGHTS), row
    pruned = runs[runs["target_sparsity"] > 0]
    unstructured = pruned[pruned["strategy"] != "l1_structured"]
    np.testing.assert_allclose(unstructured["sparsity"], unstructured["target_sparsity"], atol=1e-4)
    assert (pruned["effective_sparsity"] >= pruned["sparsity"] - 1e-12).all()
    half = runs[(runs["strategy"] == "global_magnitude") & (runs["target_sparsity"] == 0.5)]
    assert (half["sparsity"] == 0.5).all() and (half["effective_sparsity"] > 0.6).all()  # 0.500, not 0.667


def test_l1_structured_budgets():
    """equal-nonzero: the shrunk network keeps the target's share of weights; units: a fraction of units,
    whose outgoing columns go too (4-128-128-2 keeps 17,152 of 67,072 weights at 50 % of the units)."""
    units = cmp.run_one("cartpole-dqn", "l1_structured", 0.5, 0, episodes=1, l1_budget="units")
    assert units["unit_fraction"] == 0.5 and units["sparsity"] < 0.5
    assert units["effective_sparsity"] == 1 - (4 * 128 + 128 * 128 + 128 * 2) / DENSE_WEIGHTS
    for target in (0.5, 0.9):
        equal = cmp.run_one("cartpole-dqn", "l1_structured", target, 0, episodes=1)
        kept = round(256 * (1 - equal["unit_fraction"]))
        assert equal["effective_sparsity"] == 1 - (4 * kept + kept * kept + 2 * kept) / DENSE_WEIGHTS
        assert abs(equal["effective_sparsity"] - target) < 0.005  # one unit more or fewer moves it by ~0.4 %
        for other in (kept - 1, kept + 1):  # the closest budget of all unit counts
            assert abs(1 - (6 * other + other * other) / DENSE_WEIGHTS - target) >= \
                abs(equal["effective_sparsity"] - target)


def test_sparsity_zero_is_the_dense_agent_for_every_strategy(runs):
    model = prunerl.load_agent("cartpole-dqn")
    for seed in SEEDS:
        dense = prunerl.evaluate(model, "CartPole-v1", EPISODES, stats.episode_seed(seed)).mean
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


@pytest.mark.parametrize("agent", ["cartpole-dqn", "acrobot-dqn", "lunarlander-ppo", "minigrid-ppo"])
def test_intervals_stay_in_the_return_range_of_every_zoo_agent(agent):
    runs = cmp.compare(agent, strategies=["random", "global_magnitude", "l1_structured"], sparsities=[0.0, 0.8],
                       seeds=[0, 1, 2], episodes=2)
    low, high = stats.return_range(runs["env_id"].iloc[0])
    low = runs["mean_return"].min() if low is None else low
    high = runs["mean_return"].max() if high is None else high
    summary = cmp.summarize(runs)
    assert (summary["ci_low"] >= low).all() and (summary["ci_high"] <= high).all()
    assert (summary["ci_low"] <= summary["iqm_return"]).all() and (summary["iqm_return"] <= summary["ci_high"]).all()
    l1 = runs[(runs["strategy"] == "l1_structured") & (runs["target_sparsity"] == 0.8)]
    assert (abs(l1["effective_sparsity"] - 0.8) < 0.05).all()  # equal-nonzero budget on MLPs and the MiniGrid CNN


def test_plot_shows_seeds_points_range_and_noise_label(runs):
    from prunerl.plotting import plot_comparison

    fig = plot_comparison(runs, title="t")
    ax = fig.axes[0]
    assert f"({len(SEEDS)} seeds)" in ax.get_title()
    assert any(f"over {len(SEEDS)} seeds" in t.get_text() for t in fig.texts)
    low, high = ax.get_ylim()
    assert -20 < low <= 0 and 500 <= high < 520  # CartPole's range, not a t-band's 750
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"global_magnitude (band: {stats.EPISODE_NOISE})" in labels and "random" in labels
    pruned = runs[runs["target_sparsity"] > 0]
    from matplotlib.collections import PathCollection

    dots = np.concatenate([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    assert len(dots) == len(pruned)  # one dot per pruned run, at its achieved sparsity
    assert set(np.round(dots[:, 0], 9)) == set(np.round(pruned["sparsity"], 9))
    plt.close(fig)


def test_csv_and_png_are_written(runs, tmp_path):
    from prunerl.compare_docs import write_outputs

    paths = write_outputs(runs, tmp_path / "out", title="test")
    back = pd.read_csv(paths["results"])
    assert len(back) == len(runs) and list(back.columns) == list(runs.columns)
    summary = pd.read_csv(paths["summary"])
    assert len(summary) == len(STRATEGIES) * len(SPARSITIES)
    assert {"target_sparsity", "sparsity", "iqm_return", "ci_low", "ci_high", "variation"} <= set(summary.columns)
    with open(paths["plot"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_cli_prints_the_table_and_writes_outputs(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["compare", "--strategies", "random,global_magnitude", "--sparsities", "0", "0.8", "--seeds", "3", "4",
                 "--episodes", "1", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    for text in ["random", "50.0 % interval", "nominal", "achieved", "effective", "episode noise only",
                 "median over 2 seeds", "vs global_magnitude", "P(X>Y)", "reached bar"]:
        assert text in printed, text
    assert (out / "results.csv").exists() and (out / "summary.csv").exists() and (out / "compare.png").exists()


@pytest.mark.parametrize("argv, message", [
    (["--agent", "no-such-agent"], "unknown agent"),
    (["--strategies", "magic"], "unknown strategy"),
    (["--framework", "jax"], "unknown framework"),
    (["--sparsities", "1.5"], "sparsity must be in [0, 1)"),
    (["--sparsities", "half"], "bad --sparsities"),
    (["--seeds", "1", "1"], "must not repeat"),
    (["--episodes", "0"], "episodes must be at least 1"),
    (["--l1-budget", "flops"], "unknown l1 budget"),
    (["--write-docs", "--seeds", "0"], "--write-docs records the default run; drop --seeds"),
])
def test_bad_input_is_one_clear_line_and_exit_code_2(argv, message, capsys, tmp_path):
    assert main(["compare", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "results.csv").exists()


def test_docs_record_and_readme_block_round_trip(runs, tmp_path):
    from prunerl import compare_docs

    info = {"agent": "cartpole-dqn", "framework": "torch", "env_id": "CartPole-v1", "strategies": STRATEGIES,
            "sparsities": SPARSITIES, "seeds": SEEDS, "episodes": EPISODES, "finetune_steps": STEPS,
            "l1_budget": "equal-nonzero", "threads": 1, "jobs": 2, "wall_seconds": 1.0, "cpu_seconds": 1.0,
            "load_average": 0.5, "load_average_end": 0.7, "command": "prunerl compare --write-docs"}
    compare_docs.write_artefacts(runs, info, tmp_path)
    (tmp_path / "README.md").write_text(f"# x\n\n{compare_docs.BEGIN}\nold\n{compare_docs.END}\n\n## next\n")
    assert compare_docs.update_readme(tmp_path) and not compare_docs.update_readme(tmp_path)
    text = (tmp_path / "README.md").read_text()
    block = compare_docs.readme_block(text)
    assert block == compare_docs.render_block(tmp_path) and text.endswith("\n\n## next\n")
    assert "median" in block and f"over the {len(SEEDS)} seeds" in block and "†" in block
    assert "(docs/compare_cartpole.png)" in block and "50.0 % order-statistic interval" in block
    assert "(`--jobs 2`, 1 compute thread each)" in block and "0.5 at the start and 0.7 at the end" in block
    summary = cmp.summarize(runs)
    gm = summary[(summary["strategy"] == "global_magnitude") & (summary["target_sparsity"] == 0.5)].iloc[0]
    assert f"{gm.median_return:.1f} {compare_docs.band(gm)} at 0.500, effective {gm.effective_sparsity:.3f}" in block
    rnd = summary[(summary["strategy"] == "random") & (summary["target_sparsity"] == 0.9)].iloc[0]
    assert "| `random` | 0 | " in block and compare_docs._vs(rnd) in block
    # Like with like: the trained arm is ranked apart, l1_structured (matched on effective sparsity) not at all.
    best = next(line for line in block.splitlines() if line.startswith("**Best median"))
    assert f"{STEPS} env steps of training: only `gradual`" in best and "not ranked: `l1_structured`" in best
    with pytest.raises(ValueError, match="exactly one"):
        compare_docs.replace_block("no markers", block)


def test_library_raises_compare_error():
    with pytest.raises(cmp.CompareError, match="unknown strategy"):
        cmp.compare(strategies=["magic"])
    with pytest.raises(cmp.CompareError, match="unknown agent"):
        cmp.compare(agent="nope")


def test_a_strategy_is_one_table_entry(monkeypatch):
    """A new strategy plugs in through the registry; compare, summarize and the plot take it as it is."""
    def half_weights(model, run):
        weights = prunerl.metrics.prunable_weights(model)
        prunerl.pruning.set_prunable_weights(model, {k: w * 0.5 for k, w in weights.items()})
        return model, {"finetune_steps": 0}

    monkeypatch.setitem(cmp.REGISTRY, "halve", cmp.Strategy("halve", half_weights, True, False, "test"))
    runs = cmp.compare(strategies=["halve"], sparsities=[0.0, 0.5], seeds=[0, 1], episodes=1)
    assert (runs["sparsity"] == 0).all()  # halving zeroes nothing
    assert (cmp.summarize(runs)["variation"] == stats.EPISODE_NOISE).all()
    from prunerl.plotting import plot_comparison

    plt.close(plot_comparison(runs))


def test_tensorflow_agent_gives_the_same_table(keras):
    args = dict(strategies=["global_magnitude", "l1_structured"], sparsities=[0.0, 0.5], seeds=[0], episodes=2)
    tf_runs = cmp.compare("cartpole-dqn", "tensorflow", **args)
    torch_runs = cmp.compare("cartpole-dqn", "torch", **args)
    for col in ["mean_return", "sparsity", "effective_sparsity", "unit_fraction", "nonzero_params", "dense_bytes",
                "csr_bytes", "flops", "nonzero_flops"]:
        np.testing.assert_allclose(tf_runs[col].to_numpy(float), torch_runs[col].to_numpy(float), err_msg=col)


def test_readme_quotes_the_benchmark_figures():
    """Every speed-up or size ratio quoted on the compare and benchmarks page is in bench/RESULTS.md."""
    import re
    from pathlib import Path

    root = Path(__file__).parents[1]
    page = (root / "docs" / "compare.md").read_text()
    section = page.split("# Comparing strategies and benchmarks", 1)[1]
    results = (root / "bench" / "RESULTS.md").read_text()
    quoted = re.findall(r"(\d+\.\d+)×", section)
    assert len(quoted) > 10, "the compare section should quote benchmark ratios"
    for number in quoted:
        assert number in results, number


def test_one_shot_strategies_come_from_the_pruning_module():
    from prunerl import pruning

    for name in pruning.STRATEGIES:
        strategy = cmp.REGISTRY[name]
        assert strategy.about == f"one-shot, {pruning.STRATEGY_ABOUT[name]}" and not strategy.finetunes
        assert strategy.deterministic == (name not in pruning.SEEDED_STRATEGIES)
