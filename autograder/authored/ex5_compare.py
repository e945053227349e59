# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # Exercise 5 (PyTorch): comparing pruning strategies honestly  # [torch]
# # Exercise 5 (TensorFlow / Keras 3): comparing pruning strategies honestly  # [tf]
#
# Blalock et al. (MLSys 2020) read 81 pruning papers and found no shared benchmark or metric: most comparisons
# could not be trusted. In deep RL it is worse, because returns are noisy — one seed can make a method look good.
# A fair comparison prunes the **same agent** with each strategy, at the **same sparsities**, repeats over
# **several independent seeds** (each evaluated on its own episodes), and shows every seed and an honest
# interval, not just a mean.
#
# You will implement:
#
# 1. `polynomial_sparsity(step, initial, final, begin_step, end_step, power=3)` — the gradual schedule of Zhu &
#    Gupta (2017), the one TensorFlow Model Optimization's `PolynomialDecay` implements;
# 2. `prune(agent, strategy, sparsity, seed)` — four one-shot strategies;
# 3. `compare_strategies(...)` — the tidy table of a fair comparison, including `gradual` pruning during
#    fine-tuning (Graesser et al. 2022 and Obando-Ceron et al. 2024 prune DQN agents this way);
# 4. `summarize_comparison(df)` — the course's statistics: IQM and bootstrap interval over seeds;
# 5. `plot_comparison(df)` — IQM return per strategy, its interval and every seed's point.
#
# Check your work before you submit with `prunerl check exercises/ex5_compare_torch.ipynb`.  # [torch]
# Check your work before you submit with `prunerl check exercises/ex5_compare_tf.ipynb`.  # [tf]

# %% nbgrader={"grade": false, "grade_id": "colab_install", "locked": true, "schema_version": 3, "solution": false}
# On Colab only: install the course without touching Colab's own torch, TensorFlow and NumPy; elsewhere this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "prunerl @ git+https://github.com/prunerl/prunerl@v0.1.0", "minigrid>=3.0,<4", "box2d==2.3.10", "minatar>=1.0.15,<2"], check=True)


# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import copy  # [torch]
# [torch]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch  # [torch]

import prunerl
import prunerl.stats
import prunerl.train  # noqa: F401  (prunerl.finetune, prunerl.train.optimizer_steps_for)  # [torch]
import prunerl.train  # noqa: F401  (prunerl.finetune — Keras models train through a PyTorch twin —, optimizer_steps_for)  # [tf]
from prunerl.course.grading import checks  # the grader's checks (keep this cell unchanged; run it before the others)

checks.setup("torch")  # [torch]
agent = prunerl.load_agent("cartpole-dqn")  # [torch]
checks.setup("tensorflow")  # [tf]
agent = prunerl.load_agent("cartpole-dqn", framework="tensorflow")  # [tf]
# [tf]
import keras  # noqa: E402  # [tf]
# [tf]
# [tf]
def fresh(model):  # [tf]
    """A copy of a Keras model with the same weights."""  # [tf]
    twin = keras.models.clone_model(model)  # [tf]
    twin.set_weights(model.get_weights())  # [tf]
    return twin  # [tf]
ENV = prunerl.card("cartpole-dqn")["env_id"]
STRATEGIES = ["random", "layerwise_magnitude", "global_magnitude", "l1_structured"]

# %% [markdown] nbgrader={"grade": false, "grade_id": "contract_schedule", "locked": true, "schema_version": 3, "solution": false}
# ## 1. `polynomial_sparsity(step, initial, final, begin_step, end_step, power=3)`
#
# Zhu & Gupta: $s_t = s_f + (s_i - s_f)\,\bigl(1 - \frac{t - t_0}{t_1 - t_0}\bigr)^{p}$ for $t_0 \le t \le t_1$;
# before `begin_step` the sparsity is `initial`, after `end_step` it is `final`. Sparsity rises fast early, while
# the network has many redundant weights, and slowly near the end. Return a float.

# %% nbgrader={"grade": false, "grade_id": "polynomial_sparsity", "locked": false, "schema_version": 3, "solution": true}
def polynomial_sparsity(step, initial, final, begin_step, end_step, power=3):
    """Zhu & Gupta's gradual pruning schedule."""
    ### BEGIN SOLUTION
    progress = min(max((step - begin_step) / (end_step - begin_step), 0.0), 1.0)
    return float(final + (initial - final) * (1.0 - progress) ** power)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_schedule", "locked": true, "points": 2, "schema_version": 3, "solution": false}
assert np.isclose(polynomial_sparsity(50, 0.0, 0.8, 0, 100), 0.8 * (1 - 0.5 ** 3)), f"got {polynomial_sparsity(50, 0.0, 0.8, 0, 100)}, expected {0.8 * (1 - 0.5 ** 3)}"
assert np.isclose(polynomial_sparsity(50, 0.0, 0.8, 0, 100, power=1), 0.4), f"got {polynomial_sparsity(50, 0.0, 0.8, 0, 100, power=1)} with power=1, expected 0.4"
### BEGIN HIDDEN TESTS
checks.schedule(polynomial_sparsity)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_schedule_hold", "locked": true, "points": 1, "schema_version": 3, "solution": false}
assert np.isclose(polynomial_sparsity(0, 0.1, 0.8, 10, 100), 0.1), f"got {polynomial_sparsity(0, 0.1, 0.8, 10, 100)} before begin_step, expected `initial`: 0.1"
assert np.isclose(polynomial_sparsity(500, 0.1, 0.8, 10, 100), 0.8), f"got {polynomial_sparsity(500, 0.1, 0.8, 10, 100)} after end_step, expected `final`: 0.8"
### BEGIN HIDDEN TESTS
checks.schedule_hold(polynomial_sparsity)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "contract_prune", "locked": true, "schema_version": 3, "solution": false}
# ## 2. `prune(agent, strategy, sparsity, seed)`
#
# **Contract.** Prunes `agent` **in place** and returns the masks `{parameter name: NumPy boolean keep-mask}` of all  # [torch]
# prunable weights (Linear/Conv weights, names as `prunerl.metrics.prunable_weights`; biases are never touched).  # [torch]
# **Contract.** Prunes `agent` **in place** and returns the masks `{"dense_0/kernel": NumPy boolean keep-mask, ...}`  # [tf]
# of all prunable kernels (Dense/Conv2D, names as `prunerl.metrics.prunable_weights`; biases are never touched).  # [tf]
# Implement it yourself: `prunerl.pruning` is the course's reference and is off limits. With `k(n) = round(sparsity
# * n)`:
#
# - `"random"`: in **each** weight tensor of `n` entries, `k(n)` entries chosen uniformly at random — reproducible
#   for a given `seed`, different for different seeds (use `np.random.default_rng(seed)`);
# - `"layerwise_magnitude"`: in each tensor, its `k(n)` smallest-`|w|` entries;
# - `"global_magnitude"`: the `k(n)` smallest `|w|` over all tensors pooled (one threshold for the network);
# - `"l1_structured"`: in each **hidden** layer with `u` units, the `k(u)` units with the smallest L1 norm of
#   incoming weights lose all their incoming weights (whole rows); the output layer is not pruned (each output  # [torch]
#   incoming weights lose all their incoming weights (whole kernel columns, the last axis); the output layer is not  # [tf]
#   pruned (each output  # [tf]
#   is an action). Biases stay, as in the other strategies.
#
# Ties (equal scores) go by position, lower index first (a stable sort); any other strategy raises `ValueError`.

# %% nbgrader={"grade": false, "grade_id": "prune", "locked": false, "schema_version": 3, "solution": true}
def prune(agent, strategy, sparsity, seed=0):
    """Prune `agent` in place with one of the four strategies; return {name: boolean keep-mask}."""
    ### BEGIN SOLUTION
    names = list(prunerl.metrics.prunable_weights(agent))  # [torch]
    params = dict(agent.named_parameters())  # [torch]
    weights = {n: params[n].detach().numpy() for n in names}  # [torch]
    layers = {f"{lay.name}/kernel": lay for lay in agent.layers  # [tf]
              if isinstance(lay, (keras.layers.Dense, keras.layers.Conv2D))}  # [tf]
    weights = {n: lay.kernel.numpy() for n, lay in layers.items()}  # [tf]

    def keep_all_but_smallest(scores, k):
        keep = np.ones(scores.size, bool)
        keep[np.argsort(scores, kind="stable")[:k]] = False
        return keep

    def k_of(n):
        return int(round(sparsity * n))

    if strategy == "random":
        rng = np.random.default_rng(seed)
        masks = {n: keep_all_but_smallest(rng.random(w.size), k_of(w.size)).reshape(w.shape) for n, w in weights.items()}
    elif strategy == "layerwise_magnitude":
        masks = {n: keep_all_but_smallest(np.abs(w).ravel(), k_of(w.size)).reshape(w.shape) for n, w in weights.items()}
    elif strategy == "global_magnitude":
        flat = np.concatenate([np.abs(w).ravel() for w in weights.values()])
        keep = keep_all_but_smallest(flat, k_of(flat.size))
        masks, offset = {}, 0
        for n, w in weights.items():
            masks[n] = keep[offset:offset + w.size].reshape(w.shape)
            offset += w.size
    elif strategy == "l1_structured":
        masks = {}
        for i, (n, w) in enumerate(weights.items()):
            if i == len(weights) - 1:
                masks[n] = np.ones(w.shape, bool)
                continue
            units = keep_all_but_smallest(np.abs(w).reshape(w.shape[0], -1).sum(axis=1), k_of(w.shape[0]))  # [torch]
            masks[n] = np.broadcast_to(units.reshape((-1,) + (1,) * (w.ndim - 1)), w.shape).copy()  # [torch]
            units = keep_all_but_smallest(np.abs(w).reshape(-1, w.shape[-1]).sum(axis=0), k_of(w.shape[-1]))  # [tf]
            masks[n] = np.broadcast_to(units, w.shape).copy()  # [tf]
    else:
        raise ValueError(f"unknown strategy {strategy!r}")
    with torch.no_grad():  # [torch]
        for n, mask in masks.items():  # [torch]
            params[n].mul_(torch.as_tensor(mask))  # [torch]
    for n, mask in masks.items():  # [tf]
        layers[n].kernel.assign(weights[n] * mask)  # [tf]
    return masks
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_prune_random", "locked": true, "points": 1, "schema_version": 3, "solution": false}
net = copy.deepcopy(agent)  # [torch]
net = fresh(agent)  # [tf]
masks = prune(net, "random", 0.5, seed=0)
assert int((~masks["2.weight"]).sum()) == round(0.5 * 256 * 256), f"{int((~masks['2.weight']).sum())} weights pruned in 2.weight, expected {round(0.5 * 256 * 256)}"  # [torch]
assert int((~masks["dense_2/kernel"]).sum()) == round(0.5 * 256 * 256), f"{int((~masks['dense_2/kernel']).sum())} weights pruned in dense_2/kernel, expected {round(0.5 * 256 * 256)}"  # [tf]
### BEGIN HIDDEN TESTS
checks.prune_random(prune)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_prune_layerwise", "locked": true, "points": 1, "schema_version": 3, "solution": false}
net = copy.deepcopy(agent)  # [torch]
net = fresh(agent)  # [tf]
masks = prune(net, "layerwise_magnitude", 0.5)
assert all(abs((~m).mean() - 0.5) < 0.01 for m in masks.values()), f"fractions pruned per layer {[round(float((~m).mean()), 3) for m in masks.values()]}, expected 0.5 in every layer"
### BEGIN HIDDEN TESTS
checks.prune_layerwise(prune)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_prune_global", "locked": true, "points": 2, "schema_version": 3, "solution": false}
net = copy.deepcopy(agent)  # [torch]
net = fresh(agent)  # [tf]
prune(net, "global_magnitude", 0.8)
assert abs(prunerl.metrics.sparsity(net) - 0.8) < 1e-4, f"sparsity {prunerl.metrics.sparsity(net)}, expected 0.8"
### BEGIN HIDDEN TESTS
checks.prune_global(prune)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_prune_structured", "locked": true, "points": 2, "schema_version": 3, "solution": false}
net = copy.deepcopy(agent)  # [torch]
net = fresh(agent)  # [tf]
masks = prune(net, "l1_structured", 0.5)
rows_zero = int((~masks["0.weight"]).all(axis=1).sum())  # [torch]
assert rows_zero == 128 and masks["4.weight"].all(), f"{rows_zero} whole units pruned in layer 0, expected 128"  # [torch]
units_zero = int((~masks["dense_0/kernel"]).all(axis=0).sum())  # [tf]
assert units_zero == 128 and masks["dense_4/kernel"].all(), f"{units_zero} whole units pruned in layer 0, expected 128"  # [tf]
### BEGIN HIDDEN TESTS
checks.prune_structured(prune)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "contract_compare", "locked": true, "schema_version": 3, "solution": false}
# ## 3. `compare_strategies(agent, env_id, strategies, sparsities, seeds, episodes, gradual_steps=2000)`
#
# **Contract.** For every strategy, sparsity and seed (in that nesting): take a fresh copy of `agent`, prune it,
# evaluate it with `prunerl.evaluate(copy, env_id, episodes=episodes, seed=prunerl.stats.episode_seed(seed))`
# (seed `s` plays its own episodes `1000 s, 1000 s + 1, ...`: seeds that shared episodes would not be
# independent), and add a row. Return a tidy DataFrame with columns `strategy`, `sparsity`, `seed`,
# `mean_return` (one row per combination). `agent` is not changed.
#
# - The four one-shot strategies prune with your `prune(copy, strategy, sparsity, seed)`.
# - `"gradual"` prunes **during fine-tuning** (`gradual_prune` below): `prunerl.finetune(copy, env_id,
#   gradual_steps, seed=seed, callback=...)` where the callback raises the global-magnitude sparsity on
#   `polynomial_sparsity(step, 0.0, sparsity, 0, end)` with `end` = 75 % of the optimizer steps
#   (`prunerl.train.optimizer_steps_for(env_id, gradual_steps)`), recomputing the masks every 10 optimizer steps
#   and re-applying them after every step; the finished copy is at exactly `sparsity` (global magnitude).
# - Call the library as `prunerl.evaluate` / `prunerl.finetune`.

# %% nbgrader={"grade": false, "grade_id": "compare_strategies", "locked": false, "schema_version": 3, "solution": true}
def gradual_prune(model, env_id, sparsity, steps, seed, every=10):
    """Fine-tune `model` in place while its sparsity rises on the polynomial schedule; ends at `sparsity`."""
    ### BEGIN SOLUTION
    total = prunerl.train.optimizer_steps_for(env_id, steps)
    end = max(1, int(0.75 * total))
    masks = {}

    def hook(net, step):
        nonlocal masks
        if not masks or (step % every == 0 and step <= end):
            masks = prune(net, "global_magnitude", polynomial_sparsity(step, 0.0, sparsity, 0, end))
        else:
            params = dict(net.named_parameters())  # [torch]
            with torch.no_grad():  # [torch]
                for n, mask in masks.items():  # [torch]
                    params[n].mul_(torch.as_tensor(mask))  # [torch]
            for n, mask in masks.items():  # [tf]
                kernel = net.get_layer(n.split("/")[0]).kernel  # [tf]
                kernel.assign(kernel.numpy() * mask)  # [tf]

    prunerl.finetune(model, env_id, steps, seed=seed, callback=hook)
    prune(model, "global_magnitude", sparsity)
    return model
    ### END SOLUTION


def compare_strategies(agent, env_id, strategies, sparsities, seeds, episodes, gradual_steps=2000):
    """One row (strategy, sparsity, seed, mean_return) per combination, each on a freshly pruned copy."""
    ### BEGIN SOLUTION
    rows = []
    for strategy in strategies:
        for sparsity in sparsities:
            for seed in seeds:
                model = copy.deepcopy(agent)  # [torch]
                model = fresh(agent)  # [tf]
                if strategy == "gradual":
                    gradual_prune(model, env_id, sparsity, gradual_steps, seed)
                else:
                    prune(model, strategy, sparsity, seed)
                result = prunerl.evaluate(model, env_id, episodes=episodes, seed=prunerl.stats.episode_seed(seed))
                rows.append({"strategy": strategy, "sparsity": sparsity, "seed": seed, "mean_return": result.mean})
    return pd.DataFrame(rows)
    ### END SOLUTION


# %%
results = pd.concat([
    compare_strategies(agent, ENV, STRATEGIES, [0.8, 0.9], seeds=[0, 1], episodes=2),  # [torch]
    compare_strategies(agent, ENV, ["gradual"], [0.9], seeds=[0], episodes=2, gradual_steps=800),  # [torch]
    compare_strategies(agent, ENV, STRATEGIES, [0.9, 0.95], seeds=[0, 1], episodes=1),  # Keras steps slowly  # [tf]
    compare_strategies(agent, ENV, ["gradual"], [0.9], seeds=[0], episodes=1, gradual_steps=400),  # [tf]
], ignore_index=True)
results.groupby(["strategy", "sparsity"])["mean_return"].mean().unstack()

# %% nbgrader={"grade": true, "grade_id": "test_compare_table", "locked": true, "points": 2, "schema_version": 3, "solution": false}
df = compare_strategies(agent, ENV, ["random", "global_magnitude"], [0.9], seeds=[0, 1], episodes=1)  # [torch]
df = compare_strategies(agent, ENV, ["random", "global_magnitude"], [0.95], seeds=[0, 1], episodes=1)  # [tf]
assert len(df) == 4 and {"strategy", "sparsity", "seed", "mean_return"} <= set(df.columns), f"{len(df)} rows with columns {list(df.columns)}, expected 4 rows with strategy, sparsity, seed and mean_return"
### BEGIN HIDDEN TESTS
checks.compare_table(compare_strategies, prune)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_compare_gradual", "locked": true, "points": 2, "schema_version": 3, "solution": false}
assert set(results["strategy"]) >= {"gradual"}, f"strategies {sorted(set(results['strategy']))}, expected 'gradual' among them"
### BEGIN HIDDEN TESTS
checks.compare_gradual(compare_strategies)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "contract_summary", "locked": true, "schema_version": 3, "solution": false}
# ## 4. `summarize_comparison(df)`
#
# With 2–5 seeds and bounded returns, `mean ± 1.96 · std / sqrt(n)` is far too narrow and can leave the task's
# return range (CartPole cannot score above 500). The course's convention (`prunerl.stats`, Agarwal et al. 2021):
# the **interquartile mean** over seeds (`prunerl.stats.iqm`) and a **percentile-bootstrap interval of the IQM over
# independent seeds** (`prunerl.stats.interval(values)`, with its defaults), which never leaves `[min, max]` of the
# seeds' values.
#
# **Contract.** Takes a DataFrame like `compare_strategies` returns; returns one row per (strategy, sparsity) with
# columns `strategy`, `sparsity`, `n_seeds`, `iqm`, `ci_low`, `ci_high` (from `prunerl.stats.interval` of that
# group's `mean_return` values, one per seed) and `band`: `prunerl.stats.EPISODE_NOISE` (`"episode noise only"`)
# for the deterministic strategies `layerwise_magnitude`, `global_magnitude` and `l1_structured` — they give the
# same network at every seed, so only the evaluation episodes vary — and `"seeds"` for `random` and `gradual`.

# %% nbgrader={"grade": false, "grade_id": "summarize_comparison", "locked": false, "schema_version": 3, "solution": true}
DETERMINISTIC = ("layerwise_magnitude", "global_magnitude", "l1_structured")


def summarize_comparison(df):
    """IQM and bootstrap interval over seeds per (strategy, sparsity), with what the band measures."""
    ### BEGIN SOLUTION
    rows = []
    for (strategy, sparsity), group in df.groupby(["strategy", "sparsity"], sort=False):
        values = group["mean_return"].to_numpy(float)
        low, high = prunerl.stats.interval(values)
        rows.append({"strategy": strategy, "sparsity": sparsity, "n_seeds": len(values),
                     "iqm": prunerl.stats.iqm(values), "ci_low": low, "ci_high": high,
                     "band": prunerl.stats.EPISODE_NOISE if strategy in DETERMINISTIC else "seeds"})
    return pd.DataFrame(rows)
    ### END SOLUTION


# %%
summarize_comparison(results)

# %% nbgrader={"grade": true, "grade_id": "test_summary", "locked": true, "points": 2, "schema_version": 3, "solution": false}
summary = summarize_comparison(results)
assert {"strategy", "sparsity", "n_seeds", "iqm", "ci_low", "ci_high", "band"} <= set(summary.columns), f"columns {list(summary.columns)}, expected strategy, sparsity, n_seeds, iqm, ci_low, ci_high and band among them"
assert (summary["ci_low"] <= summary["iqm"]).all() and (summary["iqm"] <= summary["ci_high"]).all(), f"ci_low, iqm, ci_high rows {summary[['ci_low', 'iqm', 'ci_high']].values.tolist()}, expected ci_low <= iqm <= ci_high in each"
### BEGIN HIDDEN TESTS
checks.summary(summarize_comparison)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "contract_plot", "locked": true, "schema_version": 3, "solution": false}
# ## 5. `plot_comparison(df)`
#
# **Contract.** Takes a DataFrame like `compare_strategies` returns and returns a matplotlib `Figure` with, for each
# strategy, a line (label = the strategy's name) through the **IQM over seeds** of `mean_return` at each sparsity
# (sparsities in increasing order), a filled band (`ax.fill_between`) from `ci_low` to `ci_high` of
# `summarize_comparison`, and **every seed's value as a point** (`ax.scatter`). The title says how many seeds each
# point of a line summarizes (e.g. "IQM over 3 seeds"). Label the axes.

# %% nbgrader={"grade": false, "grade_id": "plot_comparison", "locked": false, "schema_version": 3, "solution": true}
def plot_comparison(df):
    """IQM return against sparsity: per strategy a line, its bootstrap band and every seed's point."""
    ### BEGIN SOLUTION
    fig, ax = plt.subplots(figsize=(6, 4))
    summary = summarize_comparison(df)
    for strategy, group in summary.groupby("strategy", sort=False):
        group = group.sort_values("sparsity")
        x = group["sparsity"].to_numpy(float)
        line, = ax.plot(x, group["iqm"].to_numpy(), marker="o", label=strategy)
        ax.fill_between(x, group["ci_low"].to_numpy(), group["ci_high"].to_numpy(), color=line.get_color(), alpha=0.2)
        points = df[df["strategy"] == strategy]
        ax.scatter(points["sparsity"], points["mean_return"], color=line.get_color(), s=12)
    seeds = sorted(set(int(n) for n in summary["n_seeds"]))
    ax.set_title(f"IQM over {'/'.join(map(str, seeds))} seeds; band: 95 % bootstrap interval")
    ax.set_xlabel("sparsity")
    ax.set_ylabel("return (IQM over seeds)")
    ax.legend()
    return fig
    ### END SOLUTION


# %%
plot_comparison(results);

# %% nbgrader={"grade": true, "grade_id": "test_plot", "locked": true, "points": 1, "schema_version": 3, "solution": false}
fig = plot_comparison(results)
assert fig.get_axes(), f"the figure has {len(fig.get_axes())} axes, expected at least one"
plt.close(fig)
### BEGIN HIDDEN TESTS
checks.plot(plot_comparison)
### END HIDDEN TESTS
