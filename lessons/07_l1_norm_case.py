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
# # Lesson 7 — A worked L1-norm case: neurons in an MLP, filters in a CNN
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/prunerl/prunerl/blob/v0.1.0/lessons/07_l1_norm_case.ipynb)
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

L.quiet()
L.interview_card(7)

# %% [markdown]
# ## The criterion
#
# Li et al. (2017) rank the filters of a conv layer by the L1 norm of their kernel, summed over input channels and
# spatial taps, and remove the smallest:
#
# $$ \|\mathcal{F}_j\|_1 = \sum_{c=1}^{C_{\text{in}}}\sum_{u,v} |K_{j,c,u,v}| \qquad\text{(for a dense unit: } \textstyle\sum_i |W_{j,i}| \text{)}. $$
#
# Removing filter $j$ removes output channel $j$, the matching input channel of the next conv — or, after
# flatten, the block of $H\times W$ features $j\,HW, \dots, (j+1)HW - 1$ of the next dense layer. How much to
# remove per layer comes from a **sensitivity analysis**: prune one layer at a time at increasing ratios, record
# the return, and prune the insensitive layers hard. The output layer is never pruned (its units are actions).
# Nothing in the criterion is optimised: the norms are computed once from the trained weights and sorted. The
# only optimisation in the recipe is the fine-tuning afterwards.
#
# **Validation, not test.** The ratios are a choice, so they are chosen on **validation episodes** (reset seeds
# from 10,000) and the returns we report come from **evaluation episodes** (reset seeds 0, 1, ...) never used
# for the choice — as lesson 3 does. Choosing on the episodes you then report makes the report optimistic by
# construction: the chosen cuts pass the bar on exactly those episodes.
# Li et al. removed 34 % of VGG-16's and 38 % of ResNet-110's FLOPs on CIFAR-10 this way, with dense kernels.
#
# `L.l1_layer_masks(model, {tensor: ratio})` computes the masks (torch and Keras names alike) and `L.shrink`
# removes the zeroed units, folding any constant output $\phi(b_j)$ into the next bias.

# %%
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
import torch

import prunerl
from prunerl import metrics, pruning

L.single_thread()
EPISODES, VAL_EPISODES, VALIDATION = L.pick(20, 5), L.pick(20, 5), 10_000
RATIOS = L.pick([0.25, 0.5, 0.75, 0.875, 0.95], [0.5, 0.9])


def one_layer(agent, name, r):
    net = prunerl.load_agent(agent)
    pruning.apply_masks(net, L.l1_layer_masks(net, {name: r}))
    return net


def sensitivity(agent, env, layers):
    """Validation return after L1-pruning one layer at a time (the rest dense)."""
    return {(name, r): prunerl.evaluate(one_layer(agent, name, r), env, VAL_EPISODES, seed=VALIDATION).mean
            for name in layers for r in RATIOS}


def choose(sens, layers, dense_return, tolerance):
    """Per layer, the largest ratio whose one-layer return stays within ``tolerance`` of dense."""
    ok = lambda v: v >= dense_return - tolerance * abs(dense_return)  # noqa: E731
    return {n: max([0.0] + [r for r in RATIOS if ok(sens[n, r])]) for n in layers}


# %% [markdown]
# ## Part 1: L1 neuron pruning of the CartPole DQN (MLP 4-256-256-2)

# %%
MLP, MLP_ENV = "cartpole-dqn", prunerl.card("cartpole-dqn")["env_id"]
mlp = prunerl.load_agent(MLP)
mlp_layers = list(metrics.prunable_weights(mlp))[:-1]
mlp_dense_return = prunerl.evaluate(mlp, MLP_ENV, EPISODES).mean  # evaluation episodes: reported only
mlp_sens = sensitivity(MLP, MLP_ENV, mlp_layers)
mlp_val_dense = prunerl.evaluate(mlp, MLP_ENV, VAL_EPISODES, seed=VALIDATION).mean
mlp_ratios = choose(mlp_sens, mlp_layers, mlp_val_dense, 0.05)
print("sensitivity:", {f"{n}@{r}": round(v, 1) for (n, r), v in mlp_sens.items()})
print("chosen ratios:", mlp_ratios)

# %% [markdown]
# ## Part 2: L1 filter pruning of the MiniGrid PPO agent (conv 2×2×16, conv 2×2×32, dense 64, dense 7)

# %%
CNN, CNN_ENV = "minigrid-ppo", prunerl.card("minigrid-ppo")["env_id"]
cnn = prunerl.load_agent(CNN)
cnn_layers = list(metrics.prunable_weights(cnn))[:-1]
cnn_dense_return = prunerl.evaluate(cnn, CNN_ENV, EPISODES).mean
cnn_sens = sensitivity(CNN, CNN_ENV, cnn_layers)
cnn_val_dense = prunerl.evaluate(cnn, CNN_ENV, VAL_EPISODES, seed=VALIDATION).mean
cnn_ratios = choose(cnn_sens, cnn_layers, cnn_val_dense, 0.05)
print("sensitivity:", {f"{n}@{r}": round(v, 3) for (n, r), v in cnn_sens.items()})
print("chosen ratios:", cnn_ratios)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for ax, sens, layers, dense_r, title in ((axes[0], mlp_sens, mlp_layers, mlp_val_dense, MLP),
                                         (axes[1], cnn_sens, cnn_layers, cnn_val_dense, CNN)):
    for name in layers:
        ax.plot([0] + RATIOS, [dense_r] + [sens[name, r] for r in RATIOS], "o-", label=f"only {name}")
    ax.set(xlabel="fraction of units / filters removed (L1)", ylabel=f"validation return ({VAL_EPISODES} episodes)",
           title=f"{title}: per-layer sensitivity")
    ax.legend(fontsize=8)
fig.tight_layout()
fig.text(0.01, -0.03, f"Validation episodes only (reset seeds from {VALIDATION:,}). One evaluation per point: the L1 "
         "mask is deterministic, so there are no seeds to spread; the spread across ratios is episode noise.",
         fontsize=7)
L.show(fig, "07_sensitivity")

# %% [markdown]
# ## The cost of choosing on the test episodes
#
# Each chosen one-layer cut keeps at least 95 % of the dense validation return by construction. On the
# evaluation episodes, which played no part in the choice, the same cuts keep:

# %%
held_out = {}
for agent, env, ratios, dense_r in ((MLP, MLP_ENV, mlp_ratios, mlp_dense_return),
                                    (CNN, CNN_ENV, cnn_ratios, cnn_dense_return)):
    for name, r in ratios.items():
        if r > 0:
            held_out[agent, name, r] = prunerl.evaluate(one_layer(agent, name, r), env, EPISODES).mean / dense_r
worst = min(held_out, key=held_out.get) if held_out else None
L.md(", ".join(f"`{a}` {n} at {r:.0%}: **{k:.0%}**" for (a, n, r), k in held_out.items())
     + " of the dense return on evaluation episodes. "
     + (f"The worst, {held_out[worst]:.0%}, is what selecting and reporting on the same episodes would have hidden."
        if worst and held_out[worst] < 0.95 else "Here the choice holds up on fresh episodes; it need not.")
     if held_out else "No layer could be cut on validation at the 95 % bar.")
L.record("07_l1_norm_case", bar=0.95, **({"held_out_worst_kept": held_out[worst]} if worst else {}))

# %% [markdown]
# ## Prune with the chosen ratios, shrink, fine-tune, measure
#
# The shrink is checked: the shrunk network must compute what the masked one computes. Then both are fine-tuned
# with the zoo recipe (DQN for CartPole, PPO for MiniGrid), the shrunk one as a plain smaller dense network.

# %%
def prune_and_shrink(agent, env, ratios):
    """L1-prune the PyTorch agent with ``ratios``, shrink it, and measure how far the shrunk network's outputs are
    from the masked one's."""
    net = prunerl.load_agent(agent)
    pruning.apply_masks(net, L.l1_layer_masks(net, ratios))
    small = L.shrink(net)
    obs = torch.as_tensor(L.collect_observations(prunerl.load_agent(agent), env, 256))
    with torch.no_grad():
        gap = float((net(obs) - small(obs)).abs().max())
    return small, gap


def latencies(dense, small, env):
    x = torch.as_tensor(L.collect_observations(dense, env, 1))

    def call(n):
        def run():
            with torch.no_grad():
                n(x)
        return run
    return L.interleaved_latency({"dense": call(dense), "shrunk": call(small)}, L.pick(40, 10), L.pick(20, 5),
                                 min_time=2e-3)


def keras_prune_and_shrink(agent, env, ratios):
    """The same on the Keras agent: its kernels (`dense_i/kernel`, `conv_i/kernel`, output units in the last axis)
    take the ratios of the PyTorch layers, in order."""
    net = prunerl.load_agent(agent, framework="tensorflow")
    pruning.apply_masks(net, L.l1_layer_masks(net, dict(zip(metrics.prunable_weights(net), ratios.values()))))
    small = L.shrink(net)
    obs = L.collect_observations(prunerl.load_agent(agent, framework="tensorflow"), env, 256)
    gap = float(np.abs(np.asarray(net(obs)) - np.asarray(small(obs))).max())
    return small, gap


def keras_latencies(dense, small, env):
    x = tf.constant(L.collect_observations(dense, env, 1))

    def call(n):
        f = tf.function(n)
        return lambda: f(x).numpy()
    return L.interleaved_latency({"dense": call(dense), "shrunk": call(small)}, L.pick(40, 10), L.pick(20, 5),
                                 min_time=2e-3)


report = {}
for agent, env, dense, ratios, steps, dense_r in ((MLP, MLP_ENV, mlp, mlp_ratios, L.pick(2000, 300), mlp_dense_return),
                                                   (CNN, CNN_ENV, cnn, cnn_ratios, L.pick(16_384, 1024), cnn_dense_return)):
    small, gap = prune_and_shrink(agent, env, ratios)
    one_shot = prunerl.evaluate(small, env, EPISODES).mean
    prunerl.finetune(small, env, steps, seed=0)
    tuned = prunerl.evaluate(small, env, EPISODES).mean
    lat = latencies(dense, small, env)
    report[agent] = {"small": small, "gap": gap, "one-shot": one_shot, "fine-tuned": tuned, "dense return": dense_r,
                     "steps": steps, "params": (metrics.count_params(dense)["total"], metrics.count_params(small)["total"]),
                     "flops": (metrics.flops(dense), metrics.flops(small)), "latency": (lat["dense"], lat["shrunk"])}
    print(f"{agent}: {dense} -> {small}\n  max |output difference| masked vs shrunk: {gap:.2e}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(11, 3))
for ax, key, title in zip(axes, ("params", "flops", "latency"), ("parameters", "FLOPs / observation",
                                                                    "batch-1 latency (µs)")):
    for j, agent in enumerate(report):
        d, s = report[agent][key]
        scale = 1e6 if key == "latency" else 1
        ax.bar([j - 0.2, j + 0.2], [d * scale, s * scale], 0.4, color=["C0", "C1"])
    ax.set_xticks(range(len(report)), list(report), fontsize=8)
    ax.set_title(title + " (dense | shrunk)", fontsize=9)
fig.tight_layout()
L.show(fig, "07_before_after")

# %%
lines = []
for agent, r in report.items():
    (pd_, ps), (fd, fs), (ld, ls) = r["params"], r["flops"], r["latency"]
    lines.append(
        f"- **{agent}**: parameters {pd_:,} → {ps:,} ({1 - ps / pd_:.0%} fewer), FLOPs {fd:,} → {fs:,} "
        f"({1 - fs / fd:.0%} fewer), batch-1 latency {ld * 1e6:.0f} → {ls * 1e6:.0f} µs ({ld / ls:.2f}× — "
        f"{'well below' if ld / ls < 0.7 * fd / fs else 'close to'} the {fd / fs:.1f}× FLOP bound). Return: dense "
        f"{r['dense return']:.2f}, one-shot {r['one-shot']:.2f}, after {r['steps']:,} fine-tuning steps "
        f"{r['fine-tuned']:.2f}. Shrink check: masked and shrunk outputs differ by at most {r['gap']:.1e}.")
most = {a: max(rr.items(), key=lambda kv: kv[1]) for a, rr in (("MLP", mlp_ratios), ("CNN", cnn_ratios))}
notes = []
for agent, r in report.items():
    if r["one-shot"] < 0.95 * r["dense return"]:
        notes.append(f"in `{agent}` pruning every layer at its own safe ratio at once cost return one-shot "
                     f"({r['one-shot']:.2f}; the errors add up), and the fine-tune "
                     + ("recovered it." if r["fine-tuned"] >= 0.95 * r["dense return"] else "did not fully recover it."))
    if r["fine-tuned"] < r["one-shot"]:
        notes.append(f"in `{agent}` fine-tuning *lowered* the return ({r['one-shot']:.2f} → {r['fine-tuned']:.2f}): "
                     "RL fine-tuning is not monotone (new data, moving targets), so evaluate and keep the best "
                     "checkpoint.")
L.md("**What the numbers show.** Chosen ratios (largest one-layer ratio keeping 95 % of the dense validation "
     "return): "
     f"MLP {mlp_ratios}, CNN {cnn_ratios}.\n\n" + "\n".join(lines) + "\n\n"
     + (" ".join(n[0].upper() + n[1:] for n in notes) + " " if notes else "")
     + "The layers differ in sensitivity: the layer that tolerated the largest cut was "
     f"`{most['MLP'][0]}` in the MLP and `{most['CNN'][0]}` in the CNN.")
for agent, r in report.items():
    L.record("07_l1_norm_case", **{f"{agent.split('-')[0]}_{k}": v for k, v in (
        ("dense_return", r["dense return"]), ("one_shot", r["one-shot"]), ("fine_tuned", r["fine-tuned"]),
        ("param_cut", 1 - r["params"][1] / r["params"][0]), ("flop_ratio", r["flops"][0] / r["flops"][1]),
        ("latency_speedup", r["latency"][0] / r["latency"][1]))})

# %% [markdown]
# ## The same in Keras
#
# The masks and the shrink are one code path (`keras_prune_and_shrink` above): computed on the Keras model's
# `dense_i/kernel` and `conv_i/kernel` (Keras layout, output units in the last axis), shrunk with the flatten
# mapping handled by the same rule. The Keras CNN cut with the chosen ratios, checked against the PyTorch one cut
# the same way (both before fine-tuning), and timed with `keras_latencies`:

# %%
kcnn = prunerl.load_agent(CNN, framework="tensorflow")
ksmall, kgap = keras_prune_and_shrink(CNN, CNN_ENV, cnn_ratios)
klat = keras_latencies(kcnn, ksmall, CNN_ENV)
tsmall, _ = prune_and_shrink(CNN, CNN_ENV, cnn_ratios)
obs = L.collect_observations(cnn, CNN_ENV, 128)
with torch.no_grad():
    agree = float(np.abs(np.asarray(ksmall(obs)) - tsmall(torch.as_tensor(obs)).numpy()).max())
t_speed = report[CNN]["latency"][0] / report[CNN]["latency"][1]
L.md(f"Shrunk Keras kernels {[tuple(w.shape) for w in metrics.prunable_weights(ksmall).values()]}; masked and "
     f"shrunk Keras outputs differ by at most {kgap:.1e}, and the shrunk Keras network differs from the shrunk "
     f"PyTorch one by at most {agree:.1e} on {len(obs)} observations. Batch-1 latency in Keras (`tf.function`): "
     f"{klat['dense'] * 1e6:.0f} → {klat['shrunk'] * 1e6:.0f} µs ({klat['dense'] / klat['shrunk']:.2f}×; PyTorch "
     f"{t_speed:.2f}×).")

# %% [markdown]
# ## Pitfalls
#
# - **Forgetting the flatten**: removing conv filter $j$ must remove $H\times W$ input features of the next dense
#   layer, in the framework's flatten order (our Keras model permutes to channels-first before `Flatten`).
# - **Dropping biases**: a pruned unit's constant output $\phi(b_j)$ must be folded forward, or the shrunk network
#   is not the pruned one.
# - **Pruning the action layer** removes actions.
# - **Trusting per-layer tolerances jointly**: sensitivities are measured one layer at a time; combined pruning
#   compounds — fine-tune, or prune iteratively.
# - **Reporting the FLOP ratio as a speed-up**: measure it; at batch 1 on these small nets it is far less.
# - **Choosing ratios on the episodes you report** (the seed blog tunes "on the test set"): the report is then
#   optimistic by construction; choose on validation episodes.

# %%
L.interview_card(7, follow_ups=True)

# %% [markdown]
# ## References
# - Li, Kadav, Durdanovic, Samet, Graf (2017). *Pruning Filters for Efficient ConvNets.* ICLR.
# - Han et al. (2015). *Learning both Weights and Connections for Efficient Neural Networks.* NeurIPS.
# - Molchanov et al. (2017). *Pruning Convolutional Neural Networks for Resource Efficient Inference.* ICLR.
# - Fang et al. (2023). *DepGraph: Towards Any Structural Pruning.* CVPR.
# - Livne & Cohen (2020). *PoPS: Policy Pruning and Shrinking for Deep RL.* IEEE JSTSP.
