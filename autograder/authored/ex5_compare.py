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
# A fair comparison prunes the **same agent** with each strategy, at the **same achieved sparsity** and the **same
# training budget**, repeats over **several independent seeds** (each evaluated on its own episodes), reports an
# interval whose coverage was measured, and decides "A beats B" from **paired** differences on the same seeds.
#
# You will implement:
#
# 1. `polynomial_sparsity(step, initial, final, begin_step, end_step, power=3)` — the gradual schedule of Zhu &
#    Gupta (2017), the one TensorFlow Model Optimization's `PolynomialDecay` implements;
# 2. `prune(agent, strategy, sparsity, seed)` — four one-shot strategies;
# 3. `compare_strategies(...)` — the tidy table of a fair comparison, with every row's achieved sparsity and
#    training budget, including `gradual` pruning during fine-tuning (Graesser et al. 2022 and Obando-Ceron et al.
#    2024 prune DQN agents this way);
# 4. `summarize_comparison(df, bar)` — the course's statistics: the median over seeds, its order-statistic
#    interval at the exact level it reaches, and the rate of seeds that reached a bar when every seed agrees;
# 5. `decide(df, a, b, sparsity)` — whether strategy `a` beats `b`, from paired differences on the same seeds;
# 6. `plot_comparison(df)` — the median return per strategy, its interval and every seed's point.
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
STRATEGIES = ["random", "layerwise_magnitude", "global_magnitude", "l1_structured"]  # one-shot: no training
BAR = prunerl.zoo.recipe("cartpole-dqn").return_bar  # the mean return a solved CartPole agent must keep
SPARSITY_TOLERANCE = 0.01  # two arms are "at the same sparsity" when their achieved sparsities differ by no more
MIN_LEVEL = 0.90  # a paired interval of lower level decides nothing

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
# independent), and add a row. Return a tidy DataFrame, one row per combination, with columns
#
# - `strategy`, `sparsity` (the level asked for), `seed`, `mean_return`;
# - `achieved_sparsity`: the fraction of the copy's prunable weights that are exactly zero when it is evaluated
#   (`prunerl.metrics.sparsity(copy)`, the one definition the course uses, as exercise 4 counts);
# - `train_steps`: how many env steps of training the copy received — 0 for the one-shot strategies,
#   `gradual_steps` for `"gradual"`.
#
# `agent` is not changed.
#
# - The four one-shot strategies prune with your `prune(copy, strategy, sparsity, seed)`.
# - `"gradual"` prunes **during fine-tuning** (`gradual_prune` below): `prunerl.finetune(copy, env_id,
#   gradual_steps, seed=seed, callback=...)` where the callback raises the global-magnitude sparsity on
#   `polynomial_sparsity(step, 0.0, sparsity, 0, end)` with `end` = 75 % of the optimizer steps
#   (`prunerl.train.optimizer_steps_for(env_id, gradual_steps)`), recomputing the masks every 10 optimizer steps
#   and re-applying them after every step; the finished copy is at exactly `sparsity` (global magnitude).
# - Call the library as `prunerl.evaluate` / `prunerl.finetune`.
#
# **Fair by construction: what this exercise decides.**
#
# - *Equal budgets.* `"gradual"` trains for `gradual_steps`, the one-shot strategies train for none: a fine-tuned
#   arm would win a ranking against them by its budget, not by its pruning. This exercise keeps the trained arm
#   **apart**: the table says each row's budget in `train_steps`, the summary keeps `train_steps` in its key,
#   `decide` refuses two arms of different budgets, and the plot shows one budget at a time. (The other fair
#   design fine-tunes every one-shot arm for the same steps with its mask held; all arms then share one budget.)
# - *Equal achieved sparsity.* `l1_structured` removes whole units at the unit fraction `sparsity`; the output
#   layer stays, so its achieved sparsity is not the level asked for. The table **reports** it, and `decide`
#   compares two arms only when their achieved sparsities differ by at most `SPARSITY_TOLERANCE`.

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
    """One row (strategy, sparsity, achieved_sparsity, train_steps, seed, mean_return) per combination."""
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
                rows.append({"strategy": strategy, "sparsity": sparsity,
                             "achieved_sparsity": prunerl.metrics.sparsity(model),
                             "train_steps": gradual_steps if strategy == "gradual" else 0,
                             "seed": seed, "mean_return": result.mean})
    return pd.DataFrame(rows)
    ### END SOLUTION


# %%
results = pd.concat([
    compare_strategies(agent, ENV, STRATEGIES, [0.8, 0.9], seeds=[0, 1], episodes=2),  # [torch]
    compare_strategies(agent, ENV, ["gradual"], [0.9], seeds=[0, 1], episodes=2, gradual_steps=400),  # [torch]
    compare_strategies(agent, ENV, STRATEGIES, [0.9, 0.95], seeds=[0, 1], episodes=1),  # Keras steps slowly  # [tf]
    compare_strategies(agent, ENV, ["gradual"], [0.9], seeds=[0, 1], episodes=1, gradual_steps=200),  # [tf]
], ignore_index=True)
results.groupby(["train_steps", "strategy", "sparsity"])[["achieved_sparsity", "mean_return"]].median()

# %% nbgrader={"grade": true, "grade_id": "test_compare_table", "locked": true, "points": 2, "schema_version": 3, "solution": false}
df = compare_strategies(agent, ENV, ["random", "l1_structured"], [0.9], seeds=[0, 1], episodes=1)  # [torch]
df = compare_strategies(agent, ENV, ["random", "l1_structured"], [0.95], seeds=[0, 1], episodes=1)  # [tf]
columns = {"strategy", "sparsity", "achieved_sparsity", "train_steps", "seed", "mean_return"}
assert len(df) == 4 and columns <= set(df.columns), f"{len(df)} rows with columns {list(df.columns)}, expected 4 rows with {sorted(columns)}"
assert (df["train_steps"] == 0).all(), f"train_steps {df['train_steps'].tolist()}, expected 0 for one-shot pruning"
assert not np.allclose(df["achieved_sparsity"], df["sparsity"]), f"achieved_sparsity {df['achieved_sparsity'].tolist()} equals the level asked for; expected the fraction of zero prunable weights (l1_structured leaves the output layer)"
### BEGIN HIDDEN TESTS
checks.compare_table(compare_strategies, prune)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_compare_gradual", "locked": true, "points": 2, "schema_version": 3, "solution": false}
trained = results[results["strategy"] == "gradual"]
assert len(trained) and (trained["train_steps"] > 0).all(), f"gradual rows' train_steps {trained['train_steps'].tolist()}, expected gradual_steps (it fine-tunes)"
### BEGIN HIDDEN TESTS
checks.compare_gradual(compare_strategies)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "contract_summary", "locked": true, "schema_version": 3, "solution": false}
# ## 4. `summarize_comparison(df, bar)`
#
# With a handful of seeds the usual intervals do not hold what they claim. `prunerl.stats` (read its docstring)
# measured it by simulation on the return shapes RL agents produce (near-normal, solve-or-fail, piled at the
# ceiling, heavy-tailed; `tests/test_coverage.py`). The next cell prints that measured coverage — of the course's
# earlier choices (a percentile bootstrap of the IQM, Student's t interval of the mean) and of the interval the
# course uses now: the **median** over seeds with the distribution-free **order-statistic interval**
# `[x(k), x(n-k+1)]` of the sorted per-seed values. That interval's coverage does not depend on the shape, but it
# comes in steps: the cell prints the exact level it reaches with `n` seeds, which is what you report, never
# rounded to "95 %". When every seed gives the same value (every seed at CartPole's ceiling), the interval has
# zero width and claims a certainty no finite sample gives; what is true then is a rate, "k of n seeds reached the
# bar", with its Clopper–Pearson interval, which the cell prints for all seeds at the ceiling.

# %%
print(*[line for line in prunerl.stats.__doc__.splitlines() if line.startswith("- ")], sep="\n")
print({n: round(prunerl.stats.level(n), 3) for n in (2, 3, 5, 10)}, "exact level of the median's interval by seed count")
print(prunerl.stats.success_rate([500.0] * 5, BAR), "5 of 5 seeds at the ceiling")

# %% [markdown] nbgrader={"grade": false, "grade_id": "contract_summary_table", "locked": true, "schema_version": 3, "solution": false}
# **Contract.** Takes a DataFrame like `compare_strategies` returns and the return `bar` a seed must reach
# (`BAR`). Returns one row per (strategy, sparsity, train_steps) — arms of different budgets are never pooled —
# with columns:
#
# - `strategy`, `sparsity`, `train_steps`, `achieved_sparsity` (mean over the group's seeds), `n_seeds`;
# - `median`, `ci_low`, `ci_high`, `level`: the median of the group's `mean_return` values (one per seed), their
#   order-statistic interval and its exact level (`prunerl.stats.summarize(values, bar=bar)` gives them);
# - `reached`, `rate_low`, `rate_high`: how many seeds reached `bar` and the Clopper–Pearson interval on the rate
#   (the same call gives them);
# - `form`: `"rate"` when every seed of the group gave the same value (report the rate, not the zero-width
#   interval), `"median"` otherwise;
# - `band`: `prunerl.stats.EPISODE_NOISE` (`"episode noise only"`) for the deterministic strategies
#   `layerwise_magnitude`, `global_magnitude` and `l1_structured` — they give the same network at every seed, so
#   only the evaluation episodes vary — and `"seeds"` for `random` and `gradual`.

# %% nbgrader={"grade": false, "grade_id": "summarize_comparison", "locked": false, "schema_version": 3, "solution": true}
DETERMINISTIC = ("layerwise_magnitude", "global_magnitude", "l1_structured")


def summarize_comparison(df, bar):
    """Median, order-statistic interval and its level per (strategy, sparsity, train_steps); the bar rate."""
    ### BEGIN SOLUTION
    rows = []
    for (strategy, sparsity, steps), group in df.groupby(["strategy", "sparsity", "train_steps"], sort=False):
        values = group["mean_return"].to_numpy(float)
        s = prunerl.stats.summarize(values, bar=bar)
        rows.append({"strategy": strategy, "sparsity": sparsity, "train_steps": steps,
                     "achieved_sparsity": group["achieved_sparsity"].mean(), "n_seeds": s["n"],
                     "median": s["median"], "ci_low": s["low"], "ci_high": s["high"], "level": s["level"],
                     "reached": s["reached"], "rate_low": s["rate_low"], "rate_high": s["rate_high"],
                     "form": "rate" if np.all(values == values[0]) else "median",
                     "band": prunerl.stats.EPISODE_NOISE if strategy in DETERMINISTIC else "seeds"})
    return pd.DataFrame(rows)
    ### END SOLUTION


# %%
summarize_comparison(results, BAR)

# %% nbgrader={"grade": true, "grade_id": "test_summary", "locked": true, "points": 2, "schema_version": 3, "solution": false}
summary = summarize_comparison(results, BAR)
columns = {"strategy", "sparsity", "train_steps", "n_seeds", "median", "ci_low", "ci_high", "level", "reached", "form", "band"}
assert columns <= set(summary.columns), f"columns {list(summary.columns)}, expected {sorted(columns)} among them"
assert (summary["ci_low"] <= summary["median"]).all() and (summary["median"] <= summary["ci_high"]).all(), f"ci_low, median, ci_high rows {summary[['ci_low', 'median', 'ci_high']].values.tolist()}, expected ci_low <= median <= ci_high in each"
assert np.allclose(summary["level"], prunerl.stats.level(2)), f"levels {summary['level'].tolist()}, expected the exact level of 2 seeds, {prunerl.stats.level(2)}"
### BEGIN HIDDEN TESTS
checks.summary(summarize_comparison)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "contract_decide", "locked": true, "schema_version": 3, "solution": false}
# ## 5. `decide(df, a, b, sparsity)`
#
# Two strategies run on the same seeds and evaluated on the same episodes give one difference per seed: what a
# seed's episodes do to both cancels, so the differences vary less than either arm. Agarwal et al. (2021) decide
# "A beats B" from them: the order-statistic interval of the median difference (A beats B when the whole interval
# is above 0) and the probability of improvement `P(X > Y)`; `prunerl.stats.paired(a_values, b_values)` computes
# both, for values listed in the same seed order.
#
# **Contract.** Takes a DataFrame like `compare_strategies` returns and compares strategy `a` with strategy `b` at
# the level `sparsity` (the `sparsity` column):
#
# - raises `ValueError` (with a message that says why) when either strategy has no rows at `sparsity`, when their
#   `train_steps` differ (unequal budgets), when their achieved sparsities (means over seeds) differ by more than
#   `SPARSITY_TOLERANCE`, or when they were not run on the same seeds;
# - otherwise pairs the rows **by seed** (not by row order) and returns a dict with `median_diff`, `low`, `high`,
#   `level` and `p_improvement` from `prunerl.stats.paired`, and `winner`: `a` when `low > 0`, `b` when
#   `high < 0`, and `None` when the interval holds 0 **or** its `level` is below `MIN_LEVEL` (too few seeds to
#   decide anything).

# %% nbgrader={"grade": false, "grade_id": "decide", "locked": false, "schema_version": 3, "solution": true}
def decide(df, a, b, sparsity):
    """Does strategy `a` beat `b` at `sparsity`? Paired by seed, at equal budget and achieved sparsity."""
    ### BEGIN SOLUTION
    arms = {s: df[(df["strategy"] == s) & np.isclose(df["sparsity"], sparsity)].sort_values("seed") for s in (a, b)}
    for s, rows in arms.items():
        if rows.empty:
            raise ValueError(f"no rows of {s!r} at sparsity {sparsity}")
    budgets = {s: sorted(set(rows["train_steps"])) for s, rows in arms.items()}
    if budgets[a] != budgets[b] or len(budgets[a]) != 1:
        raise ValueError(f"unequal training budgets: {budgets}; compare arms of one budget")
    achieved = {s: rows["achieved_sparsity"].mean() for s, rows in arms.items()}
    if abs(achieved[a] - achieved[b]) > SPARSITY_TOLERANCE:
        raise ValueError(f"unequal achieved sparsity: {achieved}")
    if arms[a]["seed"].tolist() != arms[b]["seed"].tolist():
        raise ValueError("the two strategies were not run on the same seeds; a paired comparison needs them")
    p = prunerl.stats.paired(arms[a]["mean_return"], arms[b]["mean_return"])
    winner = None
    if p["level"] >= MIN_LEVEL:
        winner = a if p["low"] > 0 else b if p["high"] < 0 else None
    return {"median_diff": p["median_diff"], "low": p["low"], "high": p["high"], "level": p["level"],
            "p_improvement": p["p_improvement"], "winner": winner}
    ### END SOLUTION


# %%
decide(results, "random", "global_magnitude", 0.9)  # two seeds: no interval reaches MIN_LEVEL, so no winner

# %% nbgrader={"grade": true, "grade_id": "test_decide", "locked": true, "points": 2, "schema_version": 3, "solution": false}
toy = pd.DataFrame({"strategy": ["x"] * 5 + ["y"] * 5, "sparsity": 0.9, "achieved_sparsity": 0.9, "train_steps": 0,
                    "seed": [0, 1, 2, 3, 4, 4, 3, 2, 1, 0], "mean_return": [110, 210, 310, 410, 490, 480, 400, 300, 200, 100]})
verdict = decide(toy, "x", "y", 0.9)
assert verdict["winner"] == "x" and np.isclose(verdict["median_diff"], 10), f"winner {verdict['winner']!r}, median_diff {verdict['median_diff']}; expected 'x' and 10 (x is 10 above y at every seed: pair the rows by seed)"
### BEGIN HIDDEN TESTS
checks.decide(decide)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_decide_fair", "locked": true, "points": 2, "schema_version": 3, "solution": false}
trained_x = toy.assign(train_steps=np.where(toy["strategy"] == "x", 400, 0))
try:
    decide(trained_x, "x", "y", 0.9)
except ValueError:
    pass
else:
    raise AssertionError("decide compared an arm trained 400 steps with an arm trained 0; expected ValueError (unequal budgets)")
### BEGIN HIDDEN TESTS
checks.decide_fair(decide)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "contract_plot", "locked": true, "schema_version": 3, "solution": false}
# ## 6. `plot_comparison(df)`
#
# **Contract.** Takes a DataFrame like `compare_strategies` returns, holding **one** training budget (pass the
# one-shot rows and the trained rows separately), and returns a matplotlib `Figure` with, for each strategy, a line
# (label = the strategy's name) through the **median over seeds** of `mean_return` at each sparsity (sparsities in
# increasing order), a filled band (`ax.fill_between`) from the low to the high end of `prunerl.stats.interval` of
# those values, and **every seed's value as a point** (`ax.scatter`). The title says how many seeds each point of
# a line summarizes and the band's level, as `prunerl.stats.level(n)` gives it. Label the axes.

# %% nbgrader={"grade": false, "grade_id": "plot_comparison", "locked": false, "schema_version": 3, "solution": true}
def plot_comparison(df):
    """Median return against sparsity: per strategy a line, its order-statistic band and every seed's point."""
    ### BEGIN SOLUTION
    fig, ax = plt.subplots(figsize=(6, 4))
    for strategy, rows in df.groupby("strategy", sort=False):
        by_sparsity = rows.groupby("sparsity")["mean_return"]
        x = np.array(sorted(by_sparsity.groups), float)
        median = by_sparsity.median().reindex(x).to_numpy()
        band = np.array([prunerl.stats.interval(by_sparsity.get_group(p)) for p in x])
        line, = ax.plot(x, median, marker="o", label=strategy)
        ax.fill_between(x, band[:, 0], band[:, 1], color=line.get_color(), alpha=0.2)
        ax.scatter(rows["sparsity"], rows["mean_return"], color=line.get_color(), s=12)
    seeds = sorted(set(df.groupby(["strategy", "sparsity"])["seed"].count()))
    levels = "/".join(f"{100 * prunerl.stats.level(n):.1f}" for n in seeds)
    ax.set_title(f"median over {'/'.join(map(str, seeds))} seeds; band: {levels} % order-statistic interval")
    ax.set_xlabel("sparsity")
    ax.set_ylabel("return (median over seeds)")
    ax.legend()
    return fig
    ### END SOLUTION


# %%
plot_comparison(results[results["train_steps"] == 0]);

# %% nbgrader={"grade": true, "grade_id": "test_plot", "locked": true, "points": 1, "schema_version": 3, "solution": false}
fig = plot_comparison(results[results["train_steps"] == 0])
assert fig.get_axes(), f"the figure has {len(fig.get_axes())} axes, expected at least one"
plt.close(fig)
### BEGIN HIDDEN TESTS
checks.plot(plot_comparison)
### END HIDDEN TESTS
