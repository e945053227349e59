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
# One convention for every lesson, exercise and `prunerl compare` (module `prunerl.stats`), after Agarwal et al.
# (2021), who showed that RL papers with 3–5 runs routinely over-claim:
#
# - **seeds are independent**: seed $s$ trains (or prunes) with seed $s$ and is evaluated on its own episodes,
#   reset seeds $1000s, 1000s+1, \dots$ (`stats.episode_seed(s)`). Its episodes are averaged into *one* number:
#   they share one network, so they are not independent draws;
# - **point estimate: the interquartile mean** (IQM, the mean of the middle 50 % of the per-seed values): less
#   dragged than the mean by one collapsed seed, less wasteful than the median;
# - **uncertainty: a 95 % percentile-bootstrap interval of the IQM over seeds.** Every resample's IQM lies
#   between the smallest and largest seed, so the interval stays inside the task's return range ($[0, 500]$ on
#   CartPole); with few seeds it is wide, as it should be;
# - per-seed points on every plot, and the number of seeds in its caption.
#
# The textbook band $\bar x \pm 1.96\,s/\sqrt n$ fails on both counts with 2–5 seeds: $s$ is itself a noisy
# estimate, so the right multiplier is Student's $t_{0.975,\,n-1}$, not 1.96, and a band built from a mean and a
# standard deviation knows nothing about the return range. The next cell computes how far off it is.

# %%
from scipy.stats import t as student_t

NARROW = {n: float(student_t.ppf(0.975, n - 1) / 1.96) for n in (2, 3, 5)}
COVER = {n: float(2 * student_t.cdf(1.96, n - 1) - 1) for n in (2, 3, 5)}
L.md("With $n$ seeds, $\\bar x \\pm 1.96\\,s/\\sqrt n$ is narrower than the exact normal-theory interval by "
     + ", ".join(f"**{NARROW[n]:.1f}×** at $n = {n}$" for n in NARROW)
     + "; a nominal 95 % band covers the true mean only "
     + ", ".join(f"{COVER[n]:.0%} of the time at $n = {n}$" for n in COVER)
     + " — even if returns were normal, which bounded, bimodal RL returns are not.")
L.record("05_before_during_after", **{f"normal_band_too_narrow_n{n}": v for n, v in NARROW.items()},
         **{f"normal_band_coverage_n{n}": v for n, v in COVER.items()})

# %% [markdown]
# ## Four arms, one budget

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import prunerl
from prunerl import metrics, pruning, stats
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
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 1.4]})
t = np.arange(TOTAL + 1)
ax0.plot(t, [pruning.polynomial_sparsity(i, 0.0, FINAL, BEGIN, END) for i in t])
ax0.set(xlabel="optimizer step", ylabel="target sparsity", title="Zhu & Gupta schedule (cubic)")
summary = {name: stats.summarize(results[name]) for name in ARMS}
for i, name in enumerate(ARMS):
    ax1.scatter([i] * len(results[name]), results[name], color="C0", alpha=0.6, label="one seed" if i == 0 else None)
    sm = summary[name]
    ax1.errorbar(i + 0.15, sm["iqm"], yerr=[[sm["iqm"] - sm["low"]], [sm["high"] - sm["iqm"]]], fmt="D", color="k",
                 ms=4, capsize=3, label="IQM, 95 % bootstrap CI" if i == 0 else None)
low, high = stats.return_range(ENV)
ax1.set_xticks(range(len(ARMS)), [n.replace(" (", "\n(") for n in ARMS], fontsize=8)
ax1.set(ylabel=f"return ({EPISODES} episodes per seed)", ylim=(low - 0.03 * high, 1.03 * high),
        title=f"{len(SEEDS)} seeds, {STEPS:,} env steps, {FINAL:.0%} sparse")
ax1.legend(fontsize=7)
fig.tight_layout()
L.show(fig, "05_before_during_after")

# %%
n = len(SEEDS)
normal = {k: (np.mean(v) - 1.96 * np.std(v, ddof=1) / np.sqrt(n), np.mean(v) + 1.96 * np.std(v, ddof=1) / np.sqrt(n))
          for k, v in results.items()}
lines = [f"- {k}: IQM **{sm['iqm']:.1f}**, 95 % CI [{sm['low']:.1f}, {sm['high']:.1f}]; per seed "
         + ", ".join(f"{r:.0f}" for r in results[k]) + f" (wall-clock {seconds[k] / n:.1f} s per seed)"
         for k, sm in summary.items()]
sparse_arms = [k for k in ARMS if k != "dense (no pruning)"]
best = max(sparse_arms, key=lambda k: summary[k]["iqm"])
rest = [k for k in sparse_arms if k != best]
separated = all(summary[best]["low"] > summary[k]["high"] for k in rest)
outside = [k for k, (lo, hi) in normal.items() if lo < low or hi > high]
L.md(f"**What the numbers show** (IQM and 95 % bootstrap interval over {n} seeds, each on its own "
     f"{EPISODES} episodes):\n\n" + "\n".join(lines) + "\n\n"
     f"The best sparse arm by IQM is **{best}**; its interval "
     + ("lies above every other sparse arm's, so the ordering holds at this budget and these seeds."
        if separated else "overlaps another sparse arm's, so these seeds do not separate the methods: a null "
        "result at this budget, and a legitimate one to report.")
     + f" The normal band mean ± 1.96·std/√n would leave the return range [{low:g}, {high:g}] for "
     + (", ".join(f"*{k}* ({normal[k][0]:.0f} to {normal[k][1]:.0f})" for k in outside) if outside else "no arm here")
     + ". The wall-clock per seed is listed for the record (the first arm also pays warm-up); lesson 6 times "
     "training properly. None of these arms trains a smaller network: the masks ride on dense tensors, so none "
     "saves training compute.")
L.record("05_before_during_after", seeds=n, final_sparsity=FINAL, **{f"{k.split()[0]}_iqm": sm["iqm"] for k, sm in summary.items()},
         **{f"{k.split()[0]}_low": sm["low"] for k, sm in summary.items()},
         **{f"{k.split()[0]}_high": sm["high"] for k, sm in summary.items()},
         before_seconds_per_seed=seconds["before (at init)"] / n, dense_seconds_per_seed=seconds["dense (no pruning)"] / n)

# %% [markdown]
# ## With a real training budget: the recipes at 90 and 95 %
#
# The arms above share a few thousand steps, too few to separate them. `bench/bench_pruning_quality.py` gives
# each recipe its full budget on `cartpole-dqn`, five independent seeds each (five training runs, not five
# evaluations of one network), in one run: one-shot pruning of the trained agent, prune-then-fine-tune with
# the stable recipe (20,000 steps), and pruning during training from scratch (the dense recipe's 60,000 steps,
# sparsity raised from 20 % to 80 % of training). *kept* is the fraction of the dense return kept above a random
# policy's:

# %%
from pathlib import Path

import pandas as pd

bench_csv = Path(prunerl.__file__).resolve().parents[2] / "bench" / "pruning_quality.csv"
if bench_csv.exists():
    bench = pd.read_csv(bench_csv).query("agent == 'cartpole-dqn' and method != 'zoo'")
    kept_by = {(m, s): g["kept"].to_numpy() for (m, s), g in bench.groupby(["method", "sparsity"])}
    one_network = {"one-shot", "erk"}  # one pruned network evaluated on each seed's episodes
    lines = [f"- {m} at {s:.0%}: median kept **{np.median(k):.2f}**, IQM {stats.iqm(k):.2f} "
             f"[{stats.interval(k)[0]:.2f}, {stats.interval(k)[1]:.2f}] over {len(k)} seeds"
             + (" (one network: episode noise only)" if m in one_network else " (independent runs)")
             for (m, s), k in sorted(kept_by.items())]
    full = sorted({m for (m, s), k in kept_by.items() if s == 0.9 and np.median(k) >= 0.95})
    L.md("\n".join(lines) + f"\n\nAt 90 % {' and '.join(full) or 'no recipe'} keep the whole return (median) "
         "where one-shot pruning keeps none of it, at different budgets (20,000 fine-tuning steps against 60,000 "
         "steps from scratch), so this ranks neither above the other; before/during/after is a question of budget "
         "as much as of moment.")
    L.record("05_before_during_after", **{f"bench_{m}_{round(s * 100)}_median": float(np.median(k))
                                          for (m, s), k in kept_by.items()})
else:
    L.md("(This cell reads `bench/pruning_quality.csv` from a clone of the course repository.)")

# %% [markdown]
# ## Pitfalls
#
# - **Unequal budgets**: fine-tuning steps are environment steps too; give every arm the same total.
# - **Forgetting to re-apply the mask**: Adam's moment estimates move pruned weights off zero at the next step.
# - **A single seed**: CartPole DQN returns swing by hundreds between seeds; report the IQM and a bootstrap
#   interval over independent seeds (Agarwal et al. 2021).
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
