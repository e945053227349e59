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
# # Lesson 1 — What pruning is, and what it does for a deep-RL agent
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/prunerl/prunerl/blob/v0.1.0/lessons/01_what_is_pruning.ipynb)
#
# Open this file in Jupyter (jupytext opens `.py` notebooks) or run it top to bottom:
# `PRUNERL_FAST=1 jupyter nbconvert --to notebook --execute lessons/01_what_is_pruning.ipynb --output-dir my` is the quick version (it writes `my/`, leaving the outputs here as they are).
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
L.interview_card(1)

# %% [markdown]
# ## The idea
#
# A trained network has many weights that barely matter. **Magnitude pruning** (Han et al., 2015) removes the
# ones with the smallest $|w|$: pick a sparsity $s$, find the threshold $\tau$ such that a fraction $s$ of the
# weights has $|w| < \tau$, and multiply every weight tensor by a mask
#
# $$ m_{ij} = \mathbb{1}\left[\,|w_{ij}| \ge \tau\,\right], \qquad W' = W \odot m, \qquad s = 1 - \frac{\|m\|_0}{n}. $$
#
# *Global* pruning uses one threshold for all layers; *layer-wise* pruning uses one per layer. Han et al.
# pruned AlexNet 9× and VGG-16 13× with no accuracy loss after retraining. In RL the network is judged by the
# **return** of the policy it induces (greedy $a = \arg\max_a Q(s,a)$ for DQN), so the curve to look at is
# return versus sparsity. Graesser et al. (2022) found that 80–90 % of the weights of DRL agents can go with
# little loss of return — but they pruned **during the whole training run** (gradual magnitude pruning from 20 %
# to 80 % of training, with ERK layer densities that keep small layers denser), so the network kept learning
# around its mask. Here we do something harsher and more common in practice: prune a *trained* agent once
# (one-shot) with no further training, and see how far that gets.
#
# We prune the zoo's `cartpole-dqn` (MLP 4-256-256-2) with PyTorch's own `torch.nn.utils.prune` and the Keras
# twin with the course's `prunerl.pruning` (TF Model Optimization does not support Keras 3), evaluate each on the
# same seeded episodes, and compare with random pruning.
#
# **Seeds and uncertainty** (the course's convention, lesson 5): every evaluation seed $s$ plays its own
# episodes (reset seeds $1000s, 1000s+1, \dots$, `stats.episode_seed`); a curve point is the **median** over seeds
# of each seed's mean return, with the distribution-free order-statistic interval $[x_{(k)}, x_{(n-k+1)}]$ of the
# sorted seeds, printed at its exact level (`stats.level`, never rounded to "95 %"). Where every seed agrees (all
# at 500) that interval has zero width, so we say instead how many seeds reached the bar (`stats.success_rate`).
# Magnitude pruning of a fixed agent is deterministic, so its band is **episode noise only**; random pruning draws
# a new mask per seed.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch.nn.utils import prune as tprune

import prunerl
from prunerl import metrics, pruning, stats

AGENT, ENV = "cartpole-dqn", prunerl.card("cartpole-dqn")["env_id"]
EPISODES, SEEDS = L.pick(10, 3), L.pick([0, 1, 2, 3, 4], [0, 1])
SPARSITIES = L.pick([0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99], [0.0, 0.5, 0.8, 0.9, 0.99])


def per_seed(model_for_seed):
    """Mean return of each seed on its own episodes; ``model_for_seed(s)`` builds (or reuses) the model."""
    return np.array([prunerl.evaluate(model_for_seed(s), ENV, EPISODES, seed=stats.episode_seed(s)).mean
                     for s in SEEDS])


LEVEL, (_, HIGH) = stats.level(len(SEEDS)), stats.return_range(ENV)


def describe(values, label=stats.EPISODE_NOISE):
    """The course's summary of one value per seed: "k of n seeds reached the bar" where all seeds agree (a
    zero-width interval says nothing), otherwise the median with its order-statistic interval at its level."""
    sm = stats.summarize(values, bar=HIGH)
    if sm["low"] == sm["high"]:
        return (f"{sm['median']:.1f}: {sm['reached']} of {sm['n']} seeds reached {HIGH:g} (Clopper–Pearson 95 % "
                f"interval of the rate [{sm['rate_low']:.2f}, {sm['rate_high']:.2f}]; {label})")
    return f"median {sm['median']:.1f}, {sm['level']:.1%} interval [{sm['low']:.1f}, {sm['high']:.1f}] ({label})"


dense = prunerl.load_agent(AGENT)
dense_seeds = per_seed(lambda s: dense)
dense_return = float(np.median(dense_seeds))
print(f"dense {AGENT}: {metrics.count_params(dense)['total']:,} parameters, return over {len(SEEDS)} seeds: "
      f"{describe(dense_seeds)}")

# %% [markdown]
# ## PyTorch: `torch.nn.utils.prune.global_unstructured`
#
# `prune` re-parameterises each module: `weight_orig` (the dense values) and a `weight_mask` buffer are stored,
# and `weight = weight_orig * weight_mask` is recomputed before every forward pass. Watch what that does to the
# size of the `state_dict`.

# %%
def torch_magnitude(sparsity):
    net = prunerl.load_agent(AGENT)
    layers = [(m, "weight") for m in net if isinstance(m, torch.nn.Linear)]
    tprune.global_unstructured(layers, pruning_method=tprune.L1Unstructured, amount=sparsity)
    return net


net = torch_magnitude(0.9)
state_bytes = sum(t.numel() * t.element_size() for t in net.state_dict().values())
dense_state = sum(t.numel() * t.element_size() for t in dense.state_dict().values())
print(sorted(net.state_dict())[:4], "...")
L.md(f"With masks attached the `state_dict` holds **{state_bytes:,} bytes** against **{dense_state:,}** for the "
     f"dense network ({state_bytes / dense_state:.2f}×): pruning with masks made the model *bigger*. "
     "`prune.remove(module, 'weight')` folds the mask in, and the tensor is then dense again, full of zeros.")
L.record("01_what_is_pruning", mask_state_ratio=state_bytes / dense_state)
for m, _ in [(m, "weight") for m in net if isinstance(m, torch.nn.Linear)]:
    tprune.remove(m, "weight")
print(f"after prune.remove: sparsity {metrics.sparsity(net):.3f}, dense bytes {metrics.dense_bytes(net):,}")

# %% [markdown]
# The course's reference `prunerl.pruning.magnitude_masks` computes the same global masks in NumPy; check that
# the two agree on which weights go (ties aside).

# %%
ours = pruning.magnitude_masks(metrics.prunable_weights(dense), 0.9, scope="global")
theirs = {k: v != 0 for k, v in metrics.prunable_weights(net).items()}
disagree = sum(int((ours[k] != theirs[k]).sum()) for k in ours)
print(f"entries where torch.nn.utils.prune and prunerl.pruning disagree: {disagree}")

# %% [markdown]
# ## Keras 3: the same masks, one code path
#
# `prunerl.pruning.prune(model, strategy, sparsity)` works on a Keras model as on a torch module: it reads the
# kernels as NumPy arrays, computes masks, and assigns the masked kernels back.

# %%
def keras_magnitude(sparsity):
    model = prunerl.load_agent(AGENT, framework="tensorflow")
    pruning.prune(model, "global_magnitude", sparsity)
    return model


def random_pruned(sparsity, seed):
    net = prunerl.load_agent(AGENT)
    pruning.prune(net, "random", sparsity, seed=seed)
    return net


rows, seed_points = [], {}  # rows: sparsity, median torch / keras / random; seed_points: per-seed returns
for s in SPARSITIES:
    t_net, k_net = torch_magnitude(s), keras_magnitude(s)
    seed_points["torch", s] = per_seed(lambda seed, net=t_net: net)
    seed_points["keras", s] = per_seed(lambda seed, net=k_net: net)
    seed_points["random", s] = per_seed(lambda seed, s=s: random_pruned(s, seed))
    rows.append((s, *(np.median(seed_points[k, s]) for k in ("torch", "keras", "random"))))
    print(f"sparsity {s:.2f}: torch magnitude {rows[-1][1]:6.1f}   keras magnitude {rows[-1][2]:6.1f}   "
          f"torch random {rows[-1][3]:6.1f}   (median over {len(SEEDS)} seeds)")
rows = np.array(rows)

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.8))
for kind, col, style, label in (("torch", 1, "o-", "global magnitude (torch.nn.utils.prune)"),
                                ("keras", 2, "x--", "global magnitude (Keras, prunerl.pruning)"),
                                ("random", 3, "s:", "random (baseline)")):
    line, = ax.plot(rows[:, 0], rows[:, col], style, label=label)
    if kind == "keras":
        continue  # the same masks as torch: its points would sit on top of torch's
    for s in SPARSITIES:
        ax.scatter([s] * len(SEEDS), seed_points[kind, s], s=8, color=line.get_color(), alpha=0.4)
    bands = np.array([stats.interval(seed_points[kind, s]) for s in SPARSITIES])
    ax.fill_between(rows[:, 0], bands[:, 0], bands[:, 1], color=line.get_color(), alpha=0.15)
ax.set(xlabel="sparsity (fraction of weights zeroed)", ylim=(-0.03 * HIGH, 1.03 * HIGH),
       ylabel=f"return: median over seeds ({EPISODES} episodes each)",
       title=f"{AGENT}: return vs sparsity, one-shot, {len(SEEDS)} seeds")
ax.legend(fontsize=8)
fig.text(0.01, -0.02, f"Dots: one seed each ({len(SEEDS)} seeds, own episodes). Bands: order-statistic interval of "
         f"the median over seeds, at {LEVEL:.1%}; for magnitude pruning {stats.EPISODE_NOISE} (one deterministic "
         "mask).", fontsize=7)
L.show(fig, "01_return_vs_sparsity")

# %%
ok = rows[:, 1] >= 0.95 * dense_return
last_ok = rows[ok, 0].max()
first_bad = rows[~ok, 0].min() if (~ok).any() else None
beyond = rows[rows[:, 0] > last_ok]
gap = int(np.argmax(rows[:, 1] - rows[:, 3]))
same = np.allclose(rows[:, 1], rows[:, 2])
text = (f"**What the numbers show.** The dense agent returns {describe(dense_seeds)}. "
        + (f"One-shot magnitude pruning (no fine-tuning) keeps at least 95 % of that return up to **{last_ok:.0%}** "
           "sparsity, the highest such point on our grid" if last_ok > 0 else
           "One-shot magnitude pruning (no fine-tuning) keeps 95 % of that return at **no** sparsity on our grid"))
if len(beyond):
    text += (f"; beyond it the return falls to {beyond[0, 1]:.1f} at {beyond[0, 0]:.0%} and "
             f"{beyond[-1, 1]:.1f} at {beyond[-1, 0]:.0%} — a cliff, not a slope: once Q-values flip the greedy "
             "action, errors compound over the episode")
if first_bad is not None and first_bad < last_ok:
    text += (f". The curve is not even monotone: at {first_bad:.0%} the return is already "
             f"{rows[rows[:, 0] == first_bad, 1][0]:.1f}, lower than at {last_ok:.0%}. A one-shot pruned policy is "
             "fragile, and which episodes fail hinges on small changes in the Q-values")
text += (f". Random pruning at {rows[gap, 0]:.0%} returns {rows[gap, 3]:.1f}, against {rows[gap, 1]:.1f} for "
         "magnitude: *which* weights go matters. The torch and Keras curves "
         + ("are identical: one weight file, one mask rule, the same episodes." if same else
            "differ slightly (ties at the threshold, float rounding near action boundaries)."))
L.md(text)

# %% [markdown]
# ## One-shot versus the literature's 80–90 %
#
# Graesser et al.'s 80–90 % came from sparse *training*: the mask grew during the whole run and the network
# adapted to it. Our agent was pruned after training, once, and not trained again. Put side by side:

# %%
kept = {s: float(rows[rows[:, 0] == s, 1][0] / dense_return) for s in (0.5, 0.8, 0.9) if s in SPARSITIES}
L.md("Fraction of the dense return (median over seeds) that one-shot global magnitude pruning keeps: "
     + ", ".join(f"**{k:.0%}** at {s:.0%} sparsity" for s, k in kept.items())
     + ". Graesser et al. (2022) keep nearly all of it at 80–90 % sparsity by pruning during training; lesson 5 "
     "compares pruning before, during and after training on this architecture, and lesson 8 recovers a pruned "
     "agent by fine-tuning. The 80–90 % figure is a property of a training procedure, not of the trained network.")
L.record("01_what_is_pruning", dense_median=dense_return, **{f"kept_{round(s * 100)}": k for s, k in kept.items()},
         **{f"median_{round(s * 100)}": float(r) for s, r in rows[:, :2]})
# %% [markdown]
# ## Pruning that keeps the return: the zoo's sparse agents
#
# The course ships sparse versions of every agent (`prunerl zoo`), trained by recipes in `prunerl.recipes`: the
# 90 % CartPole agent was pruned *during training from scratch* on Zhu & Gupta's schedule with ERK layer
# densities, keeping the best weights on validation episodes; the 95 % one was pruned *gradually* while the trained
# agent was fine-tuned (the same schedule over the first half of the fine-tune, ERK densities again), keeping the
# best weights at the final sparsity on validation episodes. Neither was pruned in one shot: the card printed below
# names each recipe and its schedule. Same seeds, same episodes as the one-shot curve above:

# %%
shipped = {}
for level in (90, 95):
    name = f"{AGENT}-s{level}"
    card = prunerl.card(name)
    returns = per_seed(lambda s, name=name: prunerl.load_agent(name))
    shipped[level] = float(np.median(returns))
    r = card["recipe"]
    print(f"{name}: recipe {r['method']} (sparsity raised from {r['begin']:.0%} to {r['end']:.0%} of its run, "
          f"{r['allocation']} layer densities), measured sparsity {card['sparsity']['measured']:.1%}, "
          f"return {describe(returns)}, trained in {card['time_vs_dense']:.2f}x the dense agent's time")
L.md(f"At 90 % sparsity the shipped agent returns **{shipped[90]:.1f}** (median) where one-shot pruning of the trained "
     f"agent keeps {kept.get(0.9, float('nan')):.0%} of the dense return: the sparsity was never the problem, the "
     "procedure was. Lesson 5 compares the moments to prune on equal budgets.")
L.record("01_what_is_pruning", shipped_90=shipped[90], shipped_95=shipped[95])

# %% [markdown]
# ## What the zeros buy — nothing, yet
#
# The pruned model has the same tensors, the same bytes and the same FLOPs for a dense kernel:

# %%
pruned = torch_magnitude(0.9)
s_dense, s_pruned = metrics.summary(dense), metrics.summary(pruned)
L.md(f"Dense bytes: {s_dense['dense_bytes']:,} → {s_pruned['dense_bytes']:,}; FLOPs a dense kernel runs: "
     f"{s_dense['flops']:,} → {s_pruned['flops']:,}; FLOPs an ideal sparse kernel would run: "
     f"{s_pruned['nonzero_flops']:,}. Lessons 2–4 turn zeros into bytes and time saved.")

# %% [markdown]
# ## Pitfalls
#
# - **Masks are not compression.** `torch.nn.utils.prune` stores `weight_orig` *and* `weight_mask` until
#   `prune.remove` (measured above); the masked tensor is dense. Count bytes of what you would deploy.
# - **Masks are not speed either.** In pytorch/tutorials#905 a model 80 % pruned with `l1_unstructured` +
#   `remove` ran no faster (the maintainer's answer: the number of operations has not changed), and its author
#   was confused about the sparsity after saving and reloading the `state_dict`. Lesson 4 measures when a
#   sparse kernel wins.
# - **Pruning biases** saves almost nothing and shifts every unit's pre-activation; prune weights only.
# - **Layer-wise sparsity on tiny layers**: the 4×256 input layer holds a tiny share of the weights; high
#   layer-wise sparsity leaves it only a few dozen and can cut observation dimensions off entirely, while global
#   pruning takes most of its cut from the wide 256×256 layer.
# - **Few evaluation episodes** hide failures on some start states; evaluate pruned and dense copies on the same
#   episodes, over several seeds, each seed on its own episodes.
# - **Quoting the literature's sparsity for a different procedure**: "80–90 % with little loss" was measured
#   with pruning during training (Graesser et al. 2022); one-shot pruning of a trained agent is another method.
# - **Fine-tuning** after pruning (Han et al. 2015) moves the cliff to higher sparsity; here we pruned one-shot.

# %%
L.interview_card(1, follow_ups=True)

# %% [markdown]
# ## References
# - Han, Pool, Tran, Dally (2015). *Learning both Weights and Connections for Efficient Neural Networks.* NeurIPS.
# - Zhu & Gupta (2017). *To prune, or not to prune.* arXiv:1710.01878.
# - Graesser, Evci, Elsen, Castro (2022). *The State of Sparse Training in Deep Reinforcement Learning.* ICML.
# - Obando-Ceron, Courville, Castro (2024). *In value-based deep RL, a pruned network is a good network.* ICML.
# - Blalock et al. (2020). *What is the State of Neural Network Pruning?* MLSys.
