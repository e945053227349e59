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
# # Lesson 1 — What pruning is, and what it does for a deep-RL agent
#
# Open this file in Jupyter (jupytext opens `.py` notebooks) or run it top to bottom:
# `PRUNERL_FAST=1 jupytext --to ipynb --execute lessons/01_what_is_pruning.py` is the quick version.

# %%
from prunerl import lessons_support as L

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
# little loss of return.
#
# We prune the zoo's `cartpole-dqn` (MLP 4-256-256-2) with PyTorch's own `torch.nn.utils.prune` and the Keras
# twin with the course's `prunerl.pruning` (TF Model Optimization does not support Keras 3), evaluate each on the
# same seeded episodes, and compare with random pruning.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch.nn.utils import prune as tprune

import prunerl
from prunerl import metrics, pruning

AGENT, ENV = "cartpole-dqn", prunerl.card("cartpole-dqn")["env_id"]
EPISODES = L.pick(20, 5)
SPARSITIES = L.pick([0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99], [0.0, 0.8, 0.95, 0.99])

dense = prunerl.load_agent(AGENT)
dense_return = prunerl.evaluate(dense, ENV, EPISODES).mean
print(f"dense {AGENT}: {metrics.count_params(dense)['total']:,} parameters, return {dense_return:.1f}")

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


rows = []
for s in SPARSITIES:
    r_torch = prunerl.evaluate(torch_magnitude(s), ENV, EPISODES).mean
    r_keras = prunerl.evaluate(keras_magnitude(s), ENV, EPISODES).mean
    rand = prunerl.load_agent(AGENT)
    pruning.prune(rand, "random", s, seed=0)
    r_rand = prunerl.evaluate(rand, ENV, EPISODES).mean
    rows.append((s, r_torch, r_keras, r_rand))
    print(f"sparsity {s:.2f}: torch magnitude {r_torch:6.1f}   keras magnitude {r_keras:6.1f}   torch random {r_rand:6.1f}")
rows = np.array(rows)

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(rows[:, 0], rows[:, 1], "o-", label="global magnitude (torch.nn.utils.prune)")
ax.plot(rows[:, 0], rows[:, 2], "x--", label="global magnitude (Keras, prunerl.pruning)")
ax.plot(rows[:, 0], rows[:, 3], "s:", label="random (baseline)")
ax.set(xlabel="sparsity (fraction of weights zeroed)", ylabel=f"mean return ({EPISODES} episodes)",
       title=f"{AGENT}: return vs sparsity")
ax.legend(fontsize=8)
L.show(fig, "01_return_vs_sparsity")

# %%
ok = rows[:, 1] >= 0.95 * dense_return
last_ok = rows[ok, 0].max()
first_bad = rows[~ok, 0].min() if (~ok).any() else None
beyond = rows[rows[:, 0] > last_ok]
gap = int(np.argmax(rows[:, 1] - rows[:, 3]))
same = np.allclose(rows[:, 1], rows[:, 2])
text = (f"**What the numbers show.** The dense agent returns {dense_return:.1f}. One-shot magnitude pruning (no "
        f"fine-tuning) keeps at least 95 % of that return up to **{last_ok:.0%}** sparsity, the highest such point "
        "on our grid")
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
# - **Masks are not compression.** `torch.nn.utils.prune` stores `weight_orig` *and* `weight_mask`
#   (pytorch/tutorials#905); the masked tensor is dense. Count bytes of what you would deploy.
# - **Pruning biases** saves almost nothing and shifts every unit's pre-activation; prune weights only.
# - **Layer-wise sparsity on tiny layers**: the 4×256 input layer holds a tiny share of the weights; high
#   layer-wise sparsity leaves it only a few dozen and can cut observation dimensions off entirely, while global
#   pruning takes most of its cut from the wide 256×256 layer.
# - **Few evaluation episodes** hide failures on some start states; evaluate pruned and dense copies on the same
#   seeds, and more than one seed.
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
