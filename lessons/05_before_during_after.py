# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 5 — Pruning before, during and after training
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/prunerl/prunerl/blob/v0.1.0/lessons/05_before_during_after.ipynb)
#
# What the seed blog claims and what the course measured: [the claims page](../docs/claims.md).

# %%
# On Colab only: install the course without touching Colab's own torch, TensorFlow and NumPy; elsewhere this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "prunerl @ git+https://github.com/prunerl/prunerl@v0.1.0", "minigrid>=3.0,<4", "box2d==2.3.10", "minatar>=1.0.15,<2"], check=True)


# %%
from prunerl.course import lessons as L
from prunerl.pruning import hold_masks

L.quiet()
L.interview_card(5)

# %% [markdown]
# ## Three moments to prune
#
# - **Before training** (at initialisation): choose a mask on the random weights and train the sparse network
#   from scratch. Here: global magnitude on the initial weights (with PyTorch's default init, the bound
#   $1/\sqrt{\text{fan-in}}$ makes this keep more of the small input layer than of the wide hidden one).
# - **During training**: gradual magnitude pruning on the Zhu & Gupta (2017) schedule, raising sparsity from
#   $s_i$ to $s_f$ between optimizer steps $t_0$ and $t_0 + n\Delta t$:
#
# $$ s_t = s_f + (s_i - s_f)\left(1 - \frac{t - t_0}{n\Delta t}\right)^3 , $$
#
#   with Graesser et al.'s (2022) choice of pruning between 20 % and 80 % of training.
# - **After training**: train dense, prune one-shot by magnitude, fine-tune with the mask held (Han et al. 2015).
#
# A fair comparison gives every arm **the same number of environment steps** and **the same final sparsity**
# (90 %), and runs several seeds: RL returns vary a lot between seeds. The "after" arm spends 80 % of its steps
# dense and 20 % fine-tuning. The networks are the zoo's CartPole DQN architecture (4-256-256-2), trained with the
# zoo's DQN recipe from scratch. A PyTorch path only: `prunerl.finetune` trains a Keras model through a PyTorch
# twin, so a Keras run gives the same numbers more slowly (the hook below receives the model in its own
# framework, and `prunerl.pruning` serves both).
#
# ## How the course reports returns over seeds
#
# One convention for every lesson, exercise and `prunerl compare` (module `prunerl.stats`), chosen by measured
# coverage after Agarwal et al. (2021), who showed that RL papers with 3–5 runs routinely over-claim:
#
# - **seeds are independent**: seed $s$ trains (or prunes) with seed $s$ and is evaluated on its own episodes,
#   reset seeds $1000s, 1000s+1, \dots$ (`stats.episode_seed(s)`). Its episodes are averaged into *one* number:
#   they share one network, so they are not independent draws;
# - **point estimate: the median** of the per-seed values, the return a typical seed gets;
# - **uncertainty: the order-statistic interval** $[x_{(k)}, x_{(n-k+1)}]$ of the sorted per-seed values. The
#   median lies below $x_{(k)}$ only if fewer than $k$ of the $n$ seeds fall below it, so the interval covers the
#   median with probability $1 - 2\,P(\text{Binomial}(n, \tfrac12) \le k-1)$ *whatever the shape of the
#   returns*. That level comes in steps and is printed as it is, never rounded to "95 %" (the next cell computes
#   it); the interval never leaves the per-seed values, hence never the task's return range;
# - **when every seed agrees** (all at CartPole's 500) the interval has zero width, and the true statement is a
#   rate: "$k$ of $n$ seeds reached 500" with a Clopper–Pearson interval on the rate (`stats.success_rate`);
# - **"A beats B" is a paired question**: run A and B on the same seeds and the same episodes, take one
#   difference per seed, and put the same order-statistic interval on the median difference (`stats.paired`);
#   A beats B when the whole interval lies above 0. The probability of improvement $P(X > Y)$ (Agarwal et al.)
#   says how often a seed of A beats a seed of B;
# - per-seed points on every plot, and the number of seeds in its caption.
#
# Why not the textbook band $\bar x \pm 1.96\,s/\sqrt n$, Student's $t$ interval of the mean, or the bootstrap?
# Each assumes something about the shape of the returns, and RL returns come in shapes that break it:
# near-normal, solve-or-fail (bimodal), piled at the ceiling of a bounded task, heavy-tailed. The next cell draws
# many sets of 5 and 10 seeds from each shape and counts how often each interval holds the quantity it estimates
# (`tests/test_coverage.py` measures the same with more draws, and the bootstrap too).

# %%
from scipy.stats import t as student_t

import numpy as np

from prunerl import stats

rng = np.random.default_rng(0)
SHAPES = {  # one seed's mean return on CartPole ([0, 500]) or on an unbounded task
    "near-normal": lambda size: rng.normal(250.0, 50.0, size),
    "solve-or-fail": lambda size: np.where(rng.random(size) < 0.6, np.minimum(rng.normal(490.0, 15.0, size), 500.0),
                                           np.maximum(rng.normal(100.0, 50.0, size), 9.0)),
    "piled at 500": lambda size: np.where(rng.random(size) < 0.7, 500.0, rng.uniform(150.0, 500.0, size)),
    "heavy-tailed": lambda size: np.exp(rng.normal(4.0, 1.0, size)),
}
DRAWS = L.pick(20_000, 2_000)


def coverage(shape, n):
    """How often the median's order-statistic interval, the t interval and the 1.96 band hold their estimand."""
    big = SHAPES[shape](400_000)
    x = SHAPES[shape]((DRAWS, n))
    low, high = stats.interval_batch(x)
    half = x.std(axis=1, ddof=1) / np.sqrt(n)
    t_half = student_t.ppf(0.975, n - 1) * half
    held = {"median": (low <= np.median(big)) & (np.median(big) <= high),
            "t": np.abs(x.mean(axis=1) - big.mean()) <= t_half,
            "1.96": np.abs(x.mean(axis=1) - big.mean()) <= 1.96 * half}
    return {k: float(v.mean()) for k, v in held.items()}


COVERAGE = {(shape, n): coverage(shape, n) for n in (5, 10) for shape in SHAPES}
print(f"{'shape':14s} {'seeds':>5s} {'median, order stats':>20s} {'t of the mean':>14s} {'mean ± 1.96 sd/√n':>18s}")
for (shape, n), c in COVERAGE.items():
    print(f"{shape:14s} {n:5d} {c['median']:12.3f} (level {stats.level(n):.3f}) {c['t']:8.3f} {c['1.96']:14.3f}")
worst = {k: min(c[k] for c in COVERAGE.values()) for k in ("median", "t", "1.96")}
mc_error = np.sqrt(stats.level(5) * (1 - stats.level(5)) / DRAWS)  # one standard error of a simulated coverage
L.md(f"The order-statistic interval covers at its stated level on every shape, up to the simulation's error "
     f"(±{mc_error:.1%}): with 5 seeds it is $[\\min, \\max]$ at **{stats.level(5):.1%}** (no interval of 5 "
     f"order statistics reaches 95 %), with 10 seeds $[x_{{(2)}}, x_{{(9)}}]$ at **{stats.level(10):.1%}**; its "
     f"worst measured coverage over the four shapes is {worst['median']:.1%}. Student's $t$ interval of the mean "
     f"drops to {worst['t']:.1%} and the textbook band to {worst['1.96']:.1%} on some shape: their 95 % is a "
     "promise about normal data. The price of honesty is width: with 5 seeds the interval is the whole range of the seeds.")
L.record("05_before_during_after", level_n5=stats.level(5), level_n10=stats.level(10),
         **{f"coverage_{k}_worst": v for k, v in worst.items()},
         **{f"coverage_median_n{n}_{shape.split()[0].replace('-', '_')}": c["median"]
            for (shape, n), c in COVERAGE.items()})

# %% [markdown]
# ## Four arms, one budget

# %%
import time

import matplotlib.pyplot as plt

import prunerl
from prunerl import metrics, pruning
from prunerl.train import optimizer_steps_for

AGENT = "cartpole-dqn"
ENV, SPEC = prunerl.card(AGENT)["env_id"], prunerl.card(AGENT)["spec"]
STEPS = L.pick(6_000, 1_000)
SEEDS = L.pick([0, 1, 2, 3, 4], [0, 1])
EPISODES = L.pick(20, 5)
FINAL = 0.9
HP = {"start_eps": 1.0, "learning_starts": min(1_000, max(STEPS // 10, 64))}
TOTAL = optimizer_steps_for(ENV, STEPS, hparams=HP)
BEGIN, END = int(0.2 * TOTAL), int(0.8 * TOTAL)
print(f"{STEPS:,} env steps per arm = {TOTAL:,} optimizer steps; seeds {SEEDS}")

# %%
def arm_dense(seed):
    net = L.fresh_net(SPEC, seed)
    L.train_scratch(net, ENV, STEPS, seed)
    return net


def arm_before(seed):
    net = L.fresh_net(SPEC, seed)
    masks = pruning.magnitude_masks(metrics.prunable_weights(net), FINAL)
    pruning.apply_masks(net, masks)
    L.train_scratch(net, ENV, STEPS, seed, callback=hold_masks(masks))
    return net


def arm_during(seed):
    net = L.fresh_net(SPEC, seed)
    state = {"masks": None}

    def hook(model, step):
        if state["masks"] is None or (step % 10 == 0 and BEGIN <= step <= END):
            target = pruning.polynomial_sparsity(step, 0.0, FINAL, BEGIN, END)
            state["masks"] = pruning.magnitude_masks(metrics.prunable_weights(model), target)
        pruning.apply_masks(model, state["masks"])

    L.train_scratch(net, ENV, STEPS, seed, callback=hook)
    pruning.apply_masks(net, pruning.magnitude_masks(metrics.prunable_weights(net), FINAL))
    return net


def arm_after(seed):
    net = L.fresh_net(SPEC, seed)
    L.train_scratch(net, ENV, int(0.8 * STEPS), seed)
    masks = pruning.magnitude_masks(metrics.prunable_weights(net), FINAL)
    pruning.apply_masks(net, masks)
    prunerl.finetune(net, ENV, STEPS - int(0.8 * STEPS), seed=seed, callback=hold_masks(masks))
    return net


ARMS = {"dense (no pruning)": arm_dense, "before (at init)": arm_before, "during (Zhu & Gupta)": arm_during,
        "after (+ fine-tune)": arm_after}
results, seconds = {name: [] for name in ARMS}, {name: 0.0 for name in ARMS}
for name, arm in ARMS.items():
    for seed in SEEDS:
        start = time.perf_counter()
        net = arm(seed)
        seconds[name] += time.perf_counter() - start
        results[name].append(prunerl.evaluate(net, ENV, EPISODES, seed=stats.episode_seed(seed)).mean)
        print(f"{name:22s} seed {seed}: sparsity {metrics.sparsity(net):.3f}  return {results[name][-1]:6.1f}")

# %%
low, high = stats.return_range(ENV)
summary = {name: stats.summarize(results[name], bar=high) for name in ARMS}
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 1.4]})
t = np.arange(TOTAL + 1)
ax0.plot(t, [pruning.polynomial_sparsity(i, 0.0, FINAL, BEGIN, END) for i in t])
ax0.set(xlabel="optimizer step", ylabel="target sparsity", title="Zhu & Gupta schedule (cubic)")
for i, name in enumerate(ARMS):
    ax1.scatter([i] * len(results[name]), results[name], color="C0", alpha=0.6, label="one seed" if i == 0 else None)
    sm = summary[name]
    ax1.errorbar(i + 0.15, sm["median"], yerr=[[sm["median"] - sm["low"]], [sm["high"] - sm["median"]]], fmt="D",
                 color="k", ms=4, capsize=3, label=f"median, {sm['level']:.1%} interval" if i == 0 else None)
ax1.set_xticks(range(len(ARMS)), [n.replace(" (", "\n(") for n in ARMS], fontsize=8)
ax1.set(ylabel=f"return ({EPISODES} episodes per seed)", ylim=(low - 0.03 * high, 1.03 * high),
        title=f"{len(SEEDS)} seeds, {STEPS:,} env steps, {FINAL:.0%} sparse")
ax1.legend(fontsize=7)
fig.tight_layout()
L.show(fig, "05_before_during_after")

# %%
n = len(SEEDS)
level = stats.level(n)
half = {k: student_t.ppf(0.975, n - 1) * np.std(v, ddof=1) / np.sqrt(n) for k, v in results.items()}
t_band = {k: (np.mean(v) - half[k], np.mean(v) + half[k]) for k, v in results.items()}
lines = [f"- {k}: median **{sm['median']:.1f}**, {level:.1%} interval [{sm['low']:.1f}, {sm['high']:.1f}]; "
         f"{sm['reached']} of {n} seeds reached {high:g}; per seed " + ", ".join(f"{r:.0f}" for r in results[k])
         + f" (wall-clock {seconds[k] / n:.1f} s per seed)" for k, sm in summary.items()]
sparse_arms = [k for k in ARMS if k != "dense (no pruning)"]
pairs = [(a, b) for i, a in enumerate(sparse_arms) for b in sparse_arms[i + 1:]] + \
        [(a, "dense (no pruning)") for a in sparse_arms]
paired = {(a, b): stats.paired(results[a], results[b]) for a, b in pairs}


def verdict(a, b, p):
    if p["low"] > 0:
        return f"**{a} beats {b}**"
    if p["high"] < 0:
        return f"**{b} beats {a}**"
    return f"{a} and {b} are not separated"


comparisons = [f"- {a} − {b}: median difference {p['median_diff']:+.1f}, {p['level']:.1%} interval "
               f"[{p['low']:+.1f}, {p['high']:+.1f}]; {a} higher on {p['wins']} of {p['n']} seeds, "
               f"P(X > Y) = {p['p_improvement']:.2f}: {verdict(a, b, p)}" for (a, b), p in paired.items()]
separated = [(a, b) for (a, b), p in paired.items() if p["low"] > 0 or p["high"] < 0]
overlap = [(a, b) for a, b in separated
           if summary[a]["low"] <= summary[b]["high"] and summary[b]["low"] <= summary[a]["high"]]
outside = [k for k, (lo, hi) in t_band.items() if lo < low or hi > high]
L.md(f"**What the numbers show** (median and its order-statistic interval over {n} seeds, each on its own "
     f"{EPISODES} episodes; with {n} seeds that interval is [min, max], at {level:.1%}):\n\n" + "\n".join(lines)
     + f"\n\n**Does one arm beat another?** Every arm ran on the same {n} seeds and the same episodes, so the "
     "question is paired: one difference per seed, and its median's interval (with "
     f"{n} seeds: the smallest to the largest difference, so *A beats B* needs A higher on every seed):\n\n"
     + "\n".join(comparisons) + "\n\n"
     + (f"{len(separated)} of {len(paired)} comparisons are decided at this budget and these seeds; the rest are a "
        "null result, a legitimate one to report. " if separated else
        "No comparison is decided at this budget and these seeds: a null result, and a legitimate one to report. ")
     + (f"Read unpaired, {len(overlap)} of the decided comparisons would look undecided (their arms' intervals "
        "overlap): pairing removes what a seed shares between arms, its exploration and its episodes. "
        if separated else "")
     + f"Student's t interval of the mean would leave the return range [{low:g}, {high:g}] for "
     + (", ".join(f"*{k}* ({t_band[k][0]:.0f} to {t_band[k][1]:.0f})" for k in outside) if outside else "no arm here")
     + ". The wall-clock per seed is listed for the record (the first arm also pays warm-up, and the machine was "
     "shared); lesson 6 times training properly. None of these arms trains a smaller network: the masks ride on "
     "dense tensors, so none saves training compute.")
L.record("05_before_during_after", seeds=n, final_sparsity=FINAL, interval_level=level,
         **{f"{k.split()[0]}_median": sm["median"] for k, sm in summary.items()},
         **{f"{k.split()[0]}_low": sm["low"] for k, sm in summary.items()},
         **{f"{k.split()[0]}_high": sm["high"] for k, sm in summary.items()},
         **{f"paired_{a.split()[0]}_{b.split()[0]}_{x}": p[x] for (a, b), p in paired.items() for x in ("low", "high")},
         before_seconds_per_seed=seconds["before (at init)"] / n, dense_seconds_per_seed=seconds["dense (no pruning)"] / n)

# %% [markdown]
# ## Holding the mask, in PyTorch and in Keras
#
# The "before" and "after" arms call `hold_masks(masks)` after every optimizer step. Without it the mask does
# not survive one step: the gradient of a masked dense tensor is dense, and Adam moves every weight it sees by
# about its learning rate, pruned ones included. The cell below distils the 90 %-pruned zoo agent towards its own
# dense Q-values on states it visits, for a few Adam steps, with and without re-applying the mask, in each
# framework's own training loop.

# %%
import keras
import tensorflow as tf
import torch

OBS = L.collect_observations(prunerl.load_agent(AGENT), ENV, 256)
ADAM_STEPS = 5


def torch_distil(hold):
    net = prunerl.load_agent(AGENT)
    x = torch.as_tensor(OBS)
    with torch.no_grad():
        target = net(x)
    masks = pruning.prune(net, "global_magnitude", FINAL)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(ADAM_STEPS):
        opt.zero_grad()
        loss = torch.nn.functional.smooth_l1_loss(net(x), target)
        loss.backward()
        opt.step()
        if hold:
            pruning.apply_masks(net, masks)
    return metrics.sparsity(net), loss.item()


def keras_distil(hold):
    model = prunerl.load_agent(AGENT, framework="tensorflow")
    x = tf.constant(OBS)
    target = model(x)
    masks = pruning.prune(model, "global_magnitude", FINAL)
    opt, huber = keras.optimizers.Adam(learning_rate=1e-3), keras.losses.Huber()
    for _ in range(ADAM_STEPS):
        with tf.GradientTape() as tape:
            loss = huber(target, model(x))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        if hold:
            pruning.apply_masks(model, masks)
    return metrics.sparsity(model), float(loss)


held = {(fw, hold): run(hold) for fw, run in (("PyTorch", torch_distil), ("Keras", keras_distil))
        for hold in (False, True)}
for (fw, hold), (sparsity, loss) in held.items():
    print(f"{fw:8s} mask {'re-applied' if hold else 'not re-applied':14s} sparsity after {ADAM_STEPS} steps "
          f"{sparsity:.3f}  last loss {loss:.4f}")
L.md(f"Without re-applying the mask, {ADAM_STEPS} Adam steps take the {FINAL:.0%}-pruned network down to "
     f"{held['PyTorch', False][0]:.1%} sparsity in PyTorch and {held['Keras', False][0]:.1%} in Keras: every pruned "
     "weight with a non-zero gradient has moved, and the mask no longer holds. Re-applied after each step, the "
     f"sparsity stays at {held['PyTorch', True][0]:.1%} and "
     f"{held['Keras', True][0]:.1%}. In both frameworks the mask is a training-loop rule, not a property of the "
     "weights.")

# %% [markdown]
# ## Each recipe at its own full budget, 90 and 95 % (not a ranking)
#
# The arms above share a budget of a few thousand steps. `bench/bench_pruning_quality.py` instead gives each
# recipe its own full budget on `cartpole-dqn`, five seeds each, in one run: one-shot pruning of the trained agent
# (magnitude, and ERK layer densities), prune-then-fine-tune with the stable recipe (20,000 steps), and pruning
# during training from scratch (the dense recipe's 60,000 steps, sparsity raised from 20 % to 80 % of training).
# Fine-tuning and training from scratch are five independent runs; one-shot pruning of the one trained agent gives
# the same network at every seed, so its seeds differ only in their evaluation episodes. *kept* is the fraction of
# the dense return kept above a random policy's:

# %%
from pathlib import Path

import pandas as pd

bench_csv = Path(prunerl.__file__).resolve().parents[2] / "bench" / "pruning_quality.csv"
if bench_csv.exists():
    bench = pd.read_csv(bench_csv).query("agent == 'cartpole-dqn' and method != 'zoo'")
    kept_by = {(m, s): g.sort_values("seed")["kept"].to_numpy() for (m, s), g in bench.groupby(["method", "sparsity"])}
    one_network = {"one-shot", "erk"}  # one pruned network evaluated on each seed's episodes
    lines = []
    for (m, s), k in sorted(kept_by.items()):
        sm = stats.summarize(k, bar=1.0)
        lines.append(f"- {m} at {s:.0%}: median kept **{sm['median']:.2f}** [{sm['low']:.2f}, {sm['high']:.2f}] "
                     f"({sm['level']:.1%}) over {sm['n']} seeds, "
                     + (f"{stats.EPISODE_NOISE}: one network" if m in one_network else "independent runs")
                     + (f"; all {sm['n']} kept the whole return: a rate of at least {sm['rate_low']:.2f} "
                        "(Clopper–Pearson 95 %), not a zero-width interval" if sm["reached"] == sm["n"] else ""))
    full = sorted({m for (m, s), k in kept_by.items() if s == 0.9 and np.median(k) >= 0.95})
    L.md("\n".join(lines) + f"\n\nAt 90 % {' and '.join(full) or 'no recipe'} keep the whole return (median) "
         "where one-shot pruning keeps none of it. Fine-tuning (20,000 steps after the dense agent's 60,000) and "
         "pruning during training (60,000 steps in all) ran at different budgets, so this ranks neither above the "
         "other: a tie here says both suffice at their own budget, not which is better at the same one. The "
         "equal-budget comparison is the four-arm one above. Before/during/after is a question of budget as much "
         "as of moment.")
    L.record("05_before_during_after", **{f"bench_{m}_{round(s * 100)}_median": float(np.median(k))
                                          for (m, s), k in kept_by.items()})
else:
    L.md("(This cell reads `bench/pruning_quality.csv` from a clone of the course repository.)")

# %% [markdown]
# ## Pitfalls
#
# - **Unequal budgets**: fine-tuning steps are environment steps too; give every arm the same total.
# - **Forgetting to re-apply the mask**: Adam moves pruned weights off zero at the next step (measured above).
# - **A single seed**: CartPole DQN returns swing by hundreds between seeds; report the median and its
#   order-statistic interval over independent seeds, and decide "A beats B" from paired differences on the same
#   seeds (Agarwal et al. 2021).
# - **A "95 %" interval that is not**: with 5 seeds no interval of the median reaches 95 % without assuming a
#   shape; say the level you have (computed above for [min, max]) or run more seeds.
# - **Seeds that share episodes**: `evaluate(net, env, seed=s)` for $s = 0, 1, 2$ plays episodes $s, s+1, \dots$:
#   the seeds share all but one episode and the spread shrinks to nothing. Offset them (`stats.episode_seed`).
# - **Final sparsity is a sensitive hyper-parameter**: what works at 90 % may collapse at 98 %.
# - **Pruning at init ignores the task**: in RL the data distribution moves with the policy, which makes
#   data-driven saliency at initialisation (SNIP-style) less reliable than in supervised learning.

# %%
L.interview_card(5, follow_ups=True)

# %% [markdown]
# ## References
# - Han et al. (2015). *Learning both Weights and Connections for Efficient Neural Networks.* NeurIPS.
# - Zhu & Gupta (2017). *To prune, or not to prune.* arXiv:1710.01878.
# - Lee, Ajanthan, Torr (2019). *SNIP: Single-shot Network Pruning based on Connection Sensitivity.* ICLR.
# - Arnob et al. (2021). *Single-Shot Pruning for Offline Reinforcement Learning.* arXiv:2112.15579.
# - Agarwal et al. (2021). *Deep RL at the Edge of the Statistical Precipice.* NeurIPS.
# - Graesser et al. (2022). *The State of Sparse Training in Deep RL.* ICML.
# - Obando-Ceron et al. (2024). *In value-based deep RL, a pruned network is a good network.* ICML.
