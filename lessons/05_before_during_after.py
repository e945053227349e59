# ---
# jupyter:
#   jupytext:
#     formats: py:percent
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

# %%
from prunerl import lessons_support as L

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

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import prunerl
from prunerl import metrics, pruning
from prunerl.train import optimizer_steps_for

AGENT = "cartpole-dqn"
ENV, SPEC = prunerl.card(AGENT)["env_id"], prunerl.card(AGENT)["spec"]
STEPS = L.pick(6_000, 1_000)
SEEDS = L.pick([0, 1, 2], [0])
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
    L.train_scratch(net, ENV, STEPS, seed, callback=L.masked_callback(masks))
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
    prunerl.finetune(net, ENV, STEPS - int(0.8 * STEPS), seed=seed, callback=L.masked_callback(masks))
    return net


ARMS = {"dense (no pruning)": arm_dense, "before (at init)": arm_before, "during (Zhu & Gupta)": arm_during,
        "after (+ fine-tune)": arm_after}
results, seconds = {name: [] for name in ARMS}, {name: 0.0 for name in ARMS}
for name, arm in ARMS.items():
    for seed in SEEDS:
        start = time.perf_counter()
        net = arm(seed)
        seconds[name] += time.perf_counter() - start
        results[name].append(prunerl.evaluate(net, ENV, EPISODES, seed=1000).mean)
        print(f"{name:22s} seed {seed}: sparsity {metrics.sparsity(net):.3f}  return {results[name][-1]:6.1f}")

# %%
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 1.4]})
t = np.arange(TOTAL + 1)
ax0.plot(t, [pruning.polynomial_sparsity(i, 0.0, FINAL, BEGIN, END) for i in t])
ax0.set(xlabel="optimizer step", ylabel="target sparsity", title="Zhu & Gupta schedule (cubic)")
for i, name in enumerate(ARMS):
    ax1.scatter([i] * len(results[name]), results[name], color="C0", alpha=0.7)
    ax1.hlines(np.mean(results[name]), i - 0.3, i + 0.3, color="k")
ax1.set_xticks(range(len(ARMS)), [n.replace(" (", "\n(") for n in ARMS], fontsize=8)
ax1.set(ylabel=f"return ({EPISODES} episodes)", title=f"{len(SEEDS)} seed(s), {STEPS:,} env steps, {FINAL:.0%} sparse")
fig.tight_layout()
L.show(fig, "05_before_during_after")

# %%
means = {k: float(np.mean(v)) for k, v in results.items()}
stds = {k: float(np.std(v)) for k, v in results.items()}
best = max((k for k in ARMS if k != "dense (no pruning)"), key=means.get)
lines = [f"- {k}: {means[k]:.1f} ± {stds[k]:.1f} (wall-clock {seconds[k] / len(SEEDS):.1f} s per seed)" for k in ARMS]
spread = max(stds.values())
L.md("**What the numbers show** (mean ± std of the per-seed mean return over "
     f"{len(SEEDS)} seed(s)):\n\n" + "\n".join(lines) + "\n\n"
     f"The best sparse arm here is **{best}**. "
     + (f"The gap between arms ({max(means.values()) - min(means.values()):.1f}) is "
        + ("smaller than" if max(means.values()) - min(means.values()) < 2 * spread else "larger than")
        + f" twice the largest seed spread ({2 * spread:.1f}), so "
        + ("these seeds do not separate the methods: a null result at this budget."
           if max(means.values()) - min(means.values()) < 2 * spread else "the ordering is likely real at this budget.")
        if len(SEEDS) > 1 else "With one seed nothing can be concluded; run without PRUNERL_FAST for three.")
     + " The wall-clock per seed is listed for the record (the first arm also pays warm-up); lesson 6 times "
     "training properly. None of these arms trains a smaller network: the masks ride on dense tensors, so none "
     "saves training compute.")

# %% [markdown]
# ## Pitfalls
#
# - **Unequal budgets**: fine-tuning steps are environment steps too; give every arm the same total.
# - **Forgetting to re-apply the mask**: Adam's moment estimates move pruned weights off zero at the next step.
# - **A single seed**: CartPole DQN returns swing by hundreds between seeds; report spread (Agarwal et al. 2021).
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
